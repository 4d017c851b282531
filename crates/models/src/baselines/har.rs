//! `mix_har`: [`SessionMix`]'s paths with their volatility level set by a HAR-RV regression
//! (Corsi's heterogeneous autoregression of realised variance) fitted on the prompt's own past.
//!
//! From the history's returns at the prompt's increment, each divided by the intraday
//! profile (so a window's mean squared return measures the level, not the time of day):
//! `log RV(next H) = b0 + b1 log RV(last 1 h) + b2 log RV(last 4 h) + b3 log RV(last day) +
//! b4 log RV(last week)`, RV being the mean deseasonalised squared return of the window and
//! windows counted in returns (so a market's closed hours are skipped, not read as calm).
//! Samples: one origin per hour of returns over the look-back (overlapping targets), least
//! squares with a ridge pull toward persistent prior coefficients (short histories stay
//! sensible). The forecast level `exp(ŷ + s²/2)` (s² the residual variance: the mean, not the
//! median, of a log-normal) is compared with the mix's own mean deseasonalised step variance
//! over the horizon's open steps, and every path's log move is scaled so the two agree (to a
//! power `weight` in log variance; the factor clamped). Without enough history the mix is
//! served unchanged; at HIGH (1-minute steps) too by default (`low_only`).
//!
//! The regressors can come from another realised measure ([`RealisedMeasure`]: 1-minute
//! returns from `ForecastContext::fine`, `mix_har_1m`; candle ranges, `mix_har_range`).
//!
//! Walk-forward result (docs/models.md, "What did not help"): within noise of `mix_sess` at
//! LOW, with either measure; it moves the level like a fixed shrink of the spread without
//! telling the regimes apart.

use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::range::parkinson_var;
use super::spread::{leaned_factor, scale_spread, step_variances};
use super::{check_request, step_returns, IntradayProfile, SessionGaps, SessionMix, StepReturns};
use crate::{ForecastRequest, Forecaster, ModelError};

/// Which realised measure the regressors are built from (the target is always the
/// deseasonalised squared returns at the prompt's increment, what the forecast is scored on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RealisedMeasure {
    /// Squared returns at the prompt's increment, from `history` (`mix_har`).
    #[default]
    Returns,
    /// Squared 1-minute returns from the request's finer series (`ForecastContext::fine`),
    /// each deseasonalised by the 1-minute profile; [`Returns`](Self::Returns) without one.
    FineReturns,
    /// The Parkinson range variance `ln(high/low)² / (4 ln 2)` of the history's candles,
    /// deseasonalised by the returns' profile.
    Range,
}

/// Regressor windows, in hours of returns (1 h, 4 h, a day, a week).
const WINDOW_HOURS: [usize; 4] = [1, 4, 24, 168];
/// Prior coefficients the ridge pulls toward (a persistent HAR; they sum to 0.95).
const PRIOR: [f64; 4] = [0.1, 0.15, 0.35, 0.35];
/// Step of the finer series' returns (1-minute candles).
const FINE_STEP_SECS: u32 = 60;
/// 1-minute returns needed to use the finer series (two days).
const MIN_FINE_RETURNS: usize = 2 * 1440;
/// Samples needed to fit.
const MIN_SAMPLES: usize = 24;

/// The HAR level and how strongly it replaces the mix's own.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct HarLevel {
    /// History used, seconds.
    pub lookback_secs: i64,
    /// Ridge strength per sample toward the prior coefficients (0 = plain least squares).
    pub ridge: f64,
    /// Weight (0–1, in log variance) of the HAR level against the mix's own.
    pub weight: f64,
    /// Largest spread factor (its inverse the smallest).
    pub max_factor: f64,
    /// Apply at steps of 5 minutes or more only (LOW); HIGH is served as `mix_sess` (the
    /// default).
    pub low_only: bool,
    /// The realised measure of the regressors; settings stored without it read as
    /// [`RealisedMeasure::Returns`].
    #[serde(default)]
    pub measure: RealisedMeasure,
}

impl Default for HarLevel {
    fn default() -> Self {
        Self {
            lookback_secs: 30 * 86_400,
            ridge: 0.05,
            weight: 1.0,
            max_factor: 1.6,
            // At HIGH the HAR level was worse than the mix's own in every third (walk-forward
            // 2026-12-06, +0.0044 overall): served as `mix_sess` there.
            low_only: true,
            measure: RealisedMeasure::Returns,
        }
    }
}

/// A realised measure as a series: per step its end time and deseasonalised variance, with
/// prefix sums, so a window of the last `w` steps before any time is two lookups.
struct MeasureSeries {
    end: Vec<i64>,
    cum: Vec<f64>,
    /// Steps per hour.
    per_hour: usize,
}

impl MeasureSeries {
    fn new(end: Vec<i64>, var: impl Iterator<Item = f64>, step_secs: u32) -> Self {
        let mut cum = Vec::with_capacity(end.len() + 1);
        cum.push(0.0);
        for v in var {
            let last = *cum.last().unwrap_or(&0.0);
            cum.push(last + v);
        }
        Self {
            end,
            cum,
            per_hour: (3600 / step_secs.max(1) as usize).max(1),
        }
    }

    /// The deseasonalised squared returns of `ret` (by `profile`), each ending one `step` after
    /// its start.
    fn returns(ret: &StepReturns, profile: &IntradayProfile, step: i64) -> Self {
        Self::new(
            ret.start.iter().map(|t| t + step).collect(),
            ret.start.iter().zip(&ret.r).map(|(t, r)| {
                let m = profile.at(*t);
                r * r / (m * m)
            }),
            step as u32,
        )
    }

    fn len(&self) -> usize {
        self.end.len()
    }

    /// Log mean variance of the last `win[j]` steps ending at or before `t`, per window;
    /// `None` where a window is not full or not positive.
    fn regressors(&self, t: i64, win: &[usize; 4]) -> Option<[f64; 4]> {
        let k = self.end.partition_point(|&e| e <= t);
        let mut x = [0.0; 4];
        for j in 0..4 {
            let a = k.checked_sub(win[j])?;
            let v = (self.cum[k] - self.cum[a]) / win[j] as f64;
            if !(v > 0.0 && v.is_finite()) {
                return None;
            }
            x[j] = v.ln();
        }
        Some(x)
    }
}

/// A fitted log-HAR regression.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HarFit {
    /// Intercept.
    pub intercept: f64,
    /// Coefficients of the windows' log RV, shortest first.
    pub coef: [f64; 4],
    /// Residual variance of the fit (log units).
    pub resid_var: f64,
    /// Samples fitted.
    pub n: usize,
}

impl HarFit {
    /// Least squares of `y` on `x` with an intercept and a ridge pull of `ridge · n` toward
    /// `prior` on the (centred) coefficients. `None` with fewer than [`MIN_SAMPLES`] samples
    /// or a singular system.
    pub fn fit(x: &[[f64; 4]], y: &[f64], ridge: f64, prior: &[f64; 4]) -> Option<Self> {
        let n = y.len();
        if n < MIN_SAMPLES || x.len() != n {
            return None;
        }
        let nf = n as f64;
        let ym = y.iter().sum::<f64>() / nf;
        let mut xm = [0.0; 4];
        for r in x {
            for j in 0..4 {
                xm[j] += r[j] / nf;
            }
        }
        let mut a = [[0.0; 4]; 4];
        let mut b = [0.0; 4];
        for (r, &yy) in x.iter().zip(y) {
            for i in 0..4 {
                let xi = r[i] - xm[i];
                b[i] += xi * (yy - ym);
                for j in 0..4 {
                    a[i][j] += xi * (r[j] - xm[j]);
                }
            }
        }
        for i in 0..4 {
            a[i][i] += ridge * nf;
            b[i] += ridge * nf * prior[i];
        }
        let coef = solve4(a, b)?;
        let intercept = ym - (0..4).map(|j| coef[j] * xm[j]).sum::<f64>();
        let fit = Self {
            intercept,
            coef,
            resid_var: 0.0,
            n,
        };
        let resid_var = x
            .iter()
            .zip(y)
            .map(|(r, &yy)| (yy - fit.predict(r)).powi(2))
            .sum::<f64>()
            / (nf - 5.0).max(1.0);
        Some(Self { resid_var, ..fit })
    }

    /// The predicted log RV for regressors `x`.
    pub fn predict(&self, x: &[f64; 4]) -> f64 {
        self.intercept + (0..4).map(|j| self.coef[j] * x[j]).sum::<f64>()
    }
}

/// Gaussian elimination with partial pivoting; `None` when singular.
fn solve4(mut a: [[f64; 4]; 4], mut b: [f64; 4]) -> Option<[f64; 4]> {
    for c in 0..4 {
        let p = (c..4).max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))?;
        if a[p][c].abs() < 1e-12 {
            return None;
        }
        a.swap(c, p);
        b.swap(c, p);
        for r in c + 1..4 {
            let f = a[r][c] / a[c][c];
            let pivot = a[c];
            for (x, y) in a[r].iter_mut().zip(pivot).skip(c) {
                *x -= f * y;
            }
            b[r] -= f * b[c];
        }
    }
    let mut x = [0.0; 4];
    for c in (0..4).rev() {
        let s: f64 = (c + 1..4).map(|k| a[c][k] * x[k]).sum();
        x[c] = (b[c] - s) / a[c][c];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

impl HarLevel {
    /// The forecast mean deseasonalised variance per step over the next `req.time_length`
    /// and the profile it is deseasonalised by; `None` without enough history.
    pub fn forecast_var(&self, req: &ForecastRequest<'_>) -> Option<(f64, IntradayProfile)> {
        let inc = req.time_increment.max(1) as usize;
        let ret = step_returns(
            req.history,
            req.time_increment,
            req.start_time,
            self.lookback_secs,
        );
        let profile = IntradayProfile::fit(&ret);
        let n = ret.len();
        // The deseasonalised squared returns (the targets), with their prefix sums; also the
        // regressors' measure unless another is asked for.
        let target = MeasureSeries::returns(&ret, &profile, inc as i64);
        let other = self.measure_series(req, &profile);
        let measure = other.as_ref().unwrap_or(&target);
        // Windows capped at a third of the measure's steps (short histories, closed markets).
        let win: [usize; 4] = std::array::from_fn(|j| {
            (WINDOW_HOURS[j] * measure.per_hour)
                .min(measure.len() / 3)
                .max(1)
        });
        // The first origin with every window full.
        let t0 = *measure.end.get(win.iter().max()? - 1)?;
        let per_hour = (3600 / inc).max(1);
        let mean = |a: usize, b: usize| (target.cum[b] - target.cum[a]) / (b - a) as f64;
        let horizon = i64::from(req.time_length);
        let min_target = (req.time_length as usize / inc / 10).max(3);
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        let mut i = ret.start.partition_point(|&t| t < t0);
        let mut j = i;
        while i < n {
            // Target: the returns starting in [start_i, start_i + H) — all before the request.
            let end_t = ret.start[i] + horizon;
            if end_t > req.start_time {
                break;
            }
            j = j.max(i);
            while j < n && ret.start[j] < end_t {
                j += 1;
            }
            if j - i >= min_target {
                let v = mean(i, j);
                if let (Some(x), true) = (
                    measure.regressors(ret.start[i], &win),
                    v > 0.0 && v.is_finite(),
                ) {
                    xs.push(x);
                    ys.push(v.ln());
                }
            }
            i += per_hour;
        }
        let fit = HarFit::fit(&xs, &ys, self.ridge, &PRIOR)?;
        let x_now = measure.regressors(req.start_time, &win)?;
        let v = (fit.predict(&x_now) + 0.5 * fit.resid_var).exp();
        (v > 0.0 && v.is_finite()).then_some((v, profile))
    }

    /// The regressors' measure for `req` when it is not the history's returns themselves
    /// ([`RealisedMeasure`]; `None`: the returns, also the fallback without a long enough finer
    /// series); `profile` is the returns' intraday profile.
    fn measure_series(
        &self,
        req: &ForecastRequest<'_>,
        profile: &IntradayProfile,
    ) -> Option<MeasureSeries> {
        match (self.measure, req.context.fine) {
            (RealisedMeasure::FineReturns, Some(fine)) => {
                let f = step_returns(fine, FINE_STEP_SECS, req.start_time, self.lookback_secs);
                if f.len() < MIN_FINE_RETURNS {
                    return None;
                }
                let p = IntradayProfile::fit(&f);
                Some(MeasureSeries::returns(&f, &p, i64::from(FINE_STEP_SECS)))
            }
            (RealisedMeasure::Range, _) => {
                let h = req.history;
                let res = i64::from(h.resolution_secs.max(1));
                let a = h.index_at_or_after(req.start_time - self.lookback_secs);
                let (mut end, mut var) = (Vec::new(), Vec::new());
                for i in a..h.len() {
                    let t = h.ts[i];
                    // Only candles closed by the start time.
                    if t + res > req.start_time {
                        break;
                    }
                    let Some(p) = parkinson_var(h.high[i], h.low[i]) else {
                        continue;
                    };
                    let m = profile.at(t);
                    end.push(t + res);
                    var.push(p / (m * m));
                }
                Some(MeasureSeries::new(end, var.into_iter(), res as u32))
            }
            _ => None,
        }
    }

    /// The spread factor for the mix's `paths` answering `req` (1 without a HAR level).
    pub fn factor(&self, req: &ForecastRequest<'_>, paths: &PathSet) -> f64 {
        let Some((v_har, profile)) = self.forecast_var(req) else {
            return 1.0;
        };
        let gaps = SessionGaps::fit(
            req.history,
            req.time_increment,
            req.start_time,
            self.lookback_secs,
        );
        let inc = i64::from(req.time_increment);
        let (mut s, mut m) = (0.0, 0usize);
        for (k, v) in step_variances(paths).iter().enumerate() {
            let t = req.start_time + k as i64 * inc;
            if gaps.as_ref().is_some_and(|g| g.is_closed(t)) {
                continue;
            }
            let p = profile.at(t);
            s += v / (p * p);
            m += 1;
        }
        if m == 0 || s.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            return 1.0;
        }
        let v_mix = s / m as f64;
        leaned_factor(v_har / v_mix, self.weight, self.max_factor)
    }
}

/// `mix_sess` with its volatility level from [`HarLevel`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct HarMix {
    /// The pooled members.
    pub mix: SessionMix,
    /// The HAR level.
    pub har: HarLevel,
}

impl HarMix {
    /// The default HAR mix with its regressors from `measure`.
    pub fn with_measure(measure: RealisedMeasure) -> Self {
        Self {
            har: HarLevel {
                measure,
                ..HarLevel::default()
            },
            ..Self::default()
        }
    }
}

impl Forecaster for HarMix {
    fn name(&self) -> String {
        match self.har.measure {
            RealisedMeasure::Returns => "mix_har",
            RealisedMeasure::FineReturns => "mix_har_1m",
            RealisedMeasure::Range => "mix_har_range",
        }
        .into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        let paths = self.mix.forecast(req)?;
        if self.har.low_only && req.time_increment < 300 {
            return Ok(paths);
        }
        let k = self.har.factor(req, &paths);
        scale_spread(paths, req.start_price, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    use market::Candles;

    use crate::baselines::test_data::{candles_5m, low_request as request, valid_and_seeded};

    /// `days` of 5-minute candles, per-step volatility `vol(day)`.
    fn candles(days: usize, vol: impl Fn(usize) -> f64) -> Candles {
        candles_5m(days, |d| vol(d) * 3.46)
    }

    #[test]
    fn valid_seeded_and_blind_to_the_future() {
        let h = candles(20, |d| 0.001 * (1.0 + (d % 3) as f64));
        let start = 17 * 86_400;
        let m = HarMix::default();
        let req = request(&h, start, 3);
        let p = valid_and_seeded(&m, &req);
        // No look-ahead: wilder prices after the start change nothing, the HAR level included.
        let mut other = h.clone();
        let a = other.index_at_or_after(start);
        for (k, x) in other.close[a..].iter_mut().enumerate() {
            *x *= if k % 2 == 0 { 1.05 } else { 0.95 };
        }
        let req2 = request(&other, start, 3);
        assert_eq!(
            m.har.forecast_var(&req).map(|x| x.0),
            m.har.forecast_var(&req2).map(|x| x.0)
        );
        assert!(m.har.forecast_var(&req).is_some());
        assert_eq!(p.as_flat(), m.forecast(&req2).unwrap().as_flat());
        // HIGH steps: `low_only` (the default) serves the mix unchanged there; without it
        // the HAR level applies.
        let high = ForecastRequest {
            time_increment: 60,
            time_length: 3600,
            ..req.clone()
        };
        assert_eq!(m.forecast(&high).unwrap(), m.mix.forecast(&high).unwrap());
        let both = HarMix {
            har: HarLevel {
                low_only: false,
                ..HarLevel::default()
            },
            ..m
        };
        let q = both.forecast(&high).unwrap();
        assert_eq!(q.n_points(), 61);
        assert!(q.as_flat().iter().all(|x| x.is_finite() && *x > 0.0));
        assert_ne!(q, m.mix.forecast(&high).unwrap());
    }

    #[test]
    fn the_level_follows_a_volatility_shift_and_falls_back_without_history() {
        let calm = candles(20, |_| 0.001);
        let shift = candles(20, |d| if d >= 18 { 0.003 } else { 0.001 });
        let start = 20 * 86_400;
        let m = HarMix::default();
        let (v_calm, _) = m.har.forecast_var(&request(&calm, start, 1)).unwrap();
        let (v_shift, _) = m.har.forecast_var(&request(&shift, start, 1)).unwrap();
        // Per-step variance 1e-6 when calm; after two days at 9e-6 the forecast is well above.
        assert!((v_calm / 1e-6 - 1.0).abs() < 0.3, "{v_calm}");
        assert!(v_shift > 3.0 * v_calm, "{v_shift} vs {v_calm}");
        // Two days of history: too little to fit, the mix is served unchanged.
        let short = calm.slice_time(0, 2 * 86_400);
        let req = request(&short, 2 * 86_400, 1);
        assert!(m.har.forecast_var(&req).is_none());
        assert_eq!(m.forecast(&req).unwrap(), m.mix.forecast(&req).unwrap());
    }

    #[test]
    fn the_fine_measure_reads_the_one_minute_series_without_look_ahead_and_falls_back() {
        use crate::baselines::test_data::candles_at;
        // 21 days of 1-minute candles, the last three days (from day 18) 3x as volatile; the
        // 5-minute history is their buckets.
        let vol = |d: usize| if d >= 18 { 0.003 } else { 0.001 } * 3.46;
        let fine = candles_at(60, 21, vol);
        let h = market::resample(&fine, 300, market::BucketRule::CompleteOnly).unwrap();
        let start = 20 * 86_400;
        let m = HarMix::with_measure(RealisedMeasure::FineReturns);
        assert_eq!(m.name(), "mix_har_1m");
        let with_fine = |f| ForecastRequest {
            context: crate::forecaster::ForecastContext {
                fine: Some(f),
                market_vol: None,
            },
            ..request(&h, start, 3)
        };
        let req = with_fine(&fine);
        let p = valid_and_seeded(&m, &req);
        let (v_fine, _) = m.har.forecast_var(&req).unwrap();
        // A different level from the 5-minute returns' (the measure is read), still well
        // above the calm per-step variance (1e-6 per minute, 5e-6 per 5 minutes).
        let plain = HarMix::default();
        let (v_5m, _) = plain.har.forecast_var(&req).unwrap();
        assert_ne!(v_fine, v_5m);
        assert!(v_fine > 3.0 * 5e-6, "{v_fine}");
        // No look-ahead: wilder 1-minute (and 5-minute) prices after the start change nothing.
        let mut wild = fine.clone();
        let a = wild.index_at_or_after(start);
        for (k, x) in wild.close[a..].iter_mut().enumerate() {
            *x *= if k % 2 == 0 { 1.05 } else { 0.95 };
        }
        assert_eq!(m.har.forecast_var(&with_fine(&wild)).unwrap().0, v_fine);
        assert_eq!(p, m.forecast(&with_fine(&wild)).unwrap());
        // Without a fine series (or with too short a one): mix_har's 5-minute level, bit for bit.
        let none = request(&h, start, 3);
        assert_eq!(m.forecast(&none).unwrap(), plain.forecast(&none).unwrap());
        let short = fine.slice_time(start - 86_400, start);
        assert_eq!(
            m.forecast(&with_fine(&short)).unwrap(),
            plain.forecast(&none).unwrap()
        );
    }

    #[test]
    fn the_range_measure_follows_wider_ranges_and_ignores_later_candles() {
        let mut h = candles(21, |_| 0.001);
        let start = 20 * 86_400;
        let m = HarMix::with_measure(RealisedMeasure::Range);
        assert_eq!(m.name(), "mix_har_range");
        let (v0, _) = m.har.forecast_var(&request(&h, start, 1)).unwrap();
        // Ranges 3x wider over the last day before the start: a higher level.
        let a = h.index_at_or_after(start - 86_400);
        let b = h.index_at_or_after(start);
        for i in a..b {
            h.high[i] = h.close[i] * 1.0015;
            h.low[i] = h.close[i] * 0.9985;
        }
        let (v1, _) = m.har.forecast_var(&request(&h, start, 1)).unwrap();
        assert!(v1 > 1.5 * v0, "{v1} vs {v0}");
        // Candles from the start on do not count.
        let mut later = h.clone();
        for i in b..later.len() {
            later.high[i] = later.close[i] * 1.05;
        }
        assert_eq!(
            m.har.forecast_var(&request(&later, start, 1)).unwrap().0,
            v1
        );
    }

    #[test]
    fn the_fit_recovers_known_coefficients() {
        let mut g = super::super::rng(3);
        let truth = [0.2, -0.1, 0.5, 0.3];
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        for _ in 0..2000 {
            let x: [f64; 4] = std::array::from_fn(|_| g.random_range(-3.0..3.0));
            let e: f64 = g.random_range(-0.1..0.1);
            ys.push(-1.5 + (0..4).map(|j| truth[j] * x[j]).sum::<f64>() + e);
            xs.push(x);
        }
        let f = HarFit::fit(&xs, &ys, 0.0, &PRIOR).unwrap();
        assert!((f.intercept + 1.5).abs() < 0.01, "{f:?}");
        for (c, t) in f.coef.iter().zip(truth) {
            assert!((c - t).abs() < 0.01, "{f:?}");
        }
        // Uniform noise on ±0.1 has variance 0.01/3.
        assert!((f.resid_var / (0.01 / 3.0) - 1.0).abs() < 0.15, "{f:?}");
        // A strong ridge pulls toward the prior.
        let r = HarFit::fit(&xs, &ys, 1e6, &PRIOR).unwrap();
        assert!((0..4).all(|j| (r.coef[j] - PRIOR[j]).abs() < 0.01), "{r:?}");
        assert!(HarFit::fit(&xs[..10], &ys[..10], 0.0, &PRIOR).is_none());
    }
}
