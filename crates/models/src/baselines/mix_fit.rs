//! `mix_fit`: [`SessionMix`] with its ensemble weight and a horizon-specific spread fitted, at
//! every prompt, by the SN50 CRPS of its own forecasts on earlier windows of the same history.
//!
//! Before answering, the model places `calib_prompts` pseudo-prompts in the history it was
//! given (half a horizon apart, the latest ending at the prompt's start, so every outcome is
//! known), forecasts each with both members of [`SessionMix`] (`calib_paths` paths each, from
//! the history before that pseudo-prompt only) and scores them with the validator's own
//! `crps_for_miner` (every interval, gaps and `_abs` included). It then chooses, in two stages,
//! the GARCH share of the paths (CRPS-optimal ensemble weight) and two spread multipliers of
//! the log increments: one for the first `near_secs` of the horizon (the near steps, where the
//! current volatility is best known) and one for the rest. The real forecast pools the members
//! with that share and scales its increments. Only history before the prompt enters, so
//! nothing is tuned on what is scored; with too little history the multipliers stay 1 and the
//! share stays that of [`SessionMix`].
//!
//! Measured over every block (docs/models.md, "What did not help"): not better than
//! `mix_sess` (LOW +0.0003, HIGH +0.0023 × GBM), so it is a preset to compare, not the default.

use serde::{Deserialize, Serialize};
use sn50::{PathSet, PromptConfig};

use super::mix::pool;
use super::{check_request, MixMembers, SessionMix};
use crate::{ForecastRequest, Forecaster, ModelError};

/// [`SessionMix`] with a CRPS-fitted GARCH share and near/far spread multipliers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMix {
    /// The members (and the share used when nothing can be fitted).
    pub mix: SessionMix,
    /// Pseudo-prompts scored (half a horizon apart).
    pub calib_prompts: usize,
    /// Paths per member and pseudo-prompt.
    pub calib_paths: usize,
    /// GARCH shares tried.
    pub shares: Vec<f64>,
    /// Spread multipliers tried, for the near and the far steps each.
    pub scales: Vec<f64>,
    /// Length of the near part of the horizon, as a fraction of the horizon.
    pub near_fraction: f64,
}

impl Default for FittedMix {
    fn default() -> Self {
        Self {
            mix: SessionMix::default(),
            calib_prompts: 6,
            calib_paths: 64,
            shares: vec![0.25, 0.5, 0.75],
            scales: vec![0.85, 1.0, 1.15],
            near_fraction: 1.0 / 12.0,
        }
    }
}

/// The fitted choice: GARCH share, near and far multipliers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MixFit {
    /// Share of the paths from the GARCH member.
    pub share: f64,
    /// Multiplier of the near steps' log increments.
    pub near: f64,
    /// Multiplier of the other steps' log increments.
    pub far: f64,
}

/// One pseudo-prompt: both members' paths and the realised prices.
struct Pseudo {
    boot: PathSet,
    garch: PathSet,
    real: Vec<f64>,
}

impl FittedMix {
    fn check(&self) -> Result<(), ModelError> {
        let ok_share = |s: &f64| (0.0..=1.0).contains(s);
        let ok_scale = |s: &f64| s.is_finite() && *s > 0.0 && *s <= 10.0;
        if self.shares.is_empty()
            || self.scales.is_empty()
            || !self.shares.iter().all(ok_share)
            || !self.scales.iter().all(ok_scale)
            || !(0.0..=1.0).contains(&self.near_fraction)
            || self.calib_prompts > 64
            || self.calib_paths > 1000
        {
            return Err(ModelError::InvalidConfig(
                "mix_fit needs shares in [0, 1], scales in (0, 10], near_fraction in [0, 1], \
                 at most 64 calibration prompts and 1000 paths"
                    .into(),
            ));
        }
        Ok(())
    }

    fn members(&self, req: &ForecastRequest<'_>) -> MixMembers {
        if req.time_increment >= 300 {
            self.mix.low
        } else {
            self.mix.high
        }
    }

    /// The share and multipliers that minimise the summed CRPS over the pseudo-prompts before
    /// `req.start_time` (the defaults when none can be scored).
    pub fn fit(&self, req: &ForecastRequest<'_>) -> MixFit {
        let m = self.members(req);
        let fallback = MixFit {
            share: m.garch_share,
            near: 1.0,
            far: 1.0,
        };
        let pseudo = self.pseudo_prompts(req, &m);
        if pseudo.is_empty() {
            return fallback;
        }
        let inc = i64::from(req.time_increment);
        let intervals = PromptConfig::intervals_for_time_length(i64::from(req.time_length));
        let near_steps = self.near_steps(req);
        let score = |f: &MixFit| -> f64 {
            pseudo
                .iter()
                .map(|p| {
                    let paths = combine(&p.boot, &p.garch, f, near_steps);
                    paths
                        .and_then(|x| {
                            sn50::crps_for_miner(&x, &p.real, inc, intervals)
                                .ok()
                                .map(|c| c.total)
                        })
                        .filter(|c| c.is_finite())
                        .unwrap_or(0.0)
                })
                .sum()
        };
        // Stage 1: the share, spreads as they are; stage 2: the spreads at that share.
        let mut best = (score(&fallback), fallback);
        for &share in &self.shares {
            let f = MixFit { share, ..fallback };
            let s = score(&f);
            if s < best.0 {
                best = (s, f);
            }
        }
        let share = best.1.share;
        for &near in &self.scales {
            for &far in &self.scales {
                let f = MixFit { share, near, far };
                let s = score(&f);
                if s < best.0 {
                    best = (s, f);
                }
            }
        }
        best.1
    }

    fn near_steps(&self, req: &ForecastRequest<'_>) -> usize {
        let steps = req.n_points() - 1;
        ((steps as f64 * self.near_fraction).round() as usize).min(steps)
    }

    /// Pseudo-prompts whose whole horizon lies in the history before `req.start_time`.
    fn pseudo_prompts(&self, req: &ForecastRequest<'_>, m: &MixMembers) -> Vec<Pseudo> {
        let h = req.history;
        let res = i64::from(h.resolution_secs.max(1));
        let inc = i64::from(req.time_increment);
        let steps = req.n_points() - 1;
        let horizon = steps as i64 * inc;
        // The price at `t`: the close of the candle ending at `t` (before the prompt only).
        let price_at = |t: i64| -> f64 {
            if t > req.start_time {
                return f64::NAN;
            }
            match h.ts.binary_search(&(t - res)) {
                Ok(i) if h.close[i] > 0.0 && h.close[i].is_finite() => h.close[i],
                _ => f64::NAN,
            }
        };
        let first_ts = h.ts.first().copied().unwrap_or(i64::MAX);
        let last = (req.start_time - horizon).div_euclid(inc) * inc;
        let spacing = (horizon / 2).max(inc);
        let mut out = Vec::new();
        for j in 0..self.calib_prompts {
            let s = last - j as i64 * spacing;
            // A week of history before a pseudo-prompt, so the members fit as they would.
            if s < first_ts.saturating_add(7 * 86_400) {
                break;
            }
            let real: Vec<f64> = (0..=steps).map(|k| price_at(s + k as i64 * inc)).collect();
            if !real[0].is_finite() || !real[steps].is_finite() {
                continue;
            }
            let sub = ForecastRequest {
                start_price: real[0],
                start_time: s,
                num_simulations: self.calib_paths.max(8),
                seed: req.seed ^ 0xf17_0000_0000 ^ j as u64,
                ..req.clone()
            };
            let (Ok(boot), Ok(garch)) = (m.bootstrap.forecast(&sub), m.garch.forecast(&sub)) else {
                continue;
            };
            out.push(Pseudo { boot, garch, real });
        }
        out
    }
}

/// Paths pooled from two members' paths (the first `1 - share` of `a`'s rows, the first
/// `share` of `b`'s, as many as `a` has) with log increments scaled by `f.near` over the first
/// `near_steps` steps and `f.far` after.
fn combine(a: &PathSet, b: &PathSet, f: &MixFit, near_steps: usize) -> Option<PathSet> {
    let (n, t) = (a.n_paths(), a.n_points());
    let n_b = ((n as f64) * f.share).round() as usize;
    let mut data = Vec::with_capacity(n * t);
    for (src, k) in [(a, n - n_b), (b, n_b)] {
        data.extend_from_slice(&src.as_flat()[..k.min(src.n_paths()) * t]);
    }
    scale_increments(&mut data, t, f, near_steps);
    PathSet::from_flat(data.len() / t.max(1), t, data).ok()
}

/// Scales each row's log increments (`t` points a row) in place: `f.near` for the first
/// `near_steps`, `f.far` for the rest; the start price stays.
fn scale_increments(data: &mut [f64], t: usize, f: &MixFit, near_steps: usize) {
    if f.near == 1.0 && f.far == 1.0 {
        return;
    }
    for row in data.chunks_exact_mut(t) {
        let s0 = row[0];
        let (mut prev, mut log) = (s0, 0.0f64);
        for (k, x) in row.iter_mut().enumerate().skip(1) {
            let r = (*x / prev).ln();
            prev = *x;
            let s = if k <= near_steps { f.near } else { f.far };
            log = (log + if r.is_finite() { s * r } else { 0.0 }).clamp(-50.0, 50.0);
            *x = s0 * log.exp();
        }
    }
}

impl Forecaster for FittedMix {
    fn name(&self) -> String {
        "mix_fit".into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        self.check()?;
        let m = self.members(req);
        let f = self.fit(req);
        let mut paths = pool(req, &m.bootstrap, &m.garch, f.share)?;
        let t = paths.n_points();
        let n = paths.n_paths();
        let mut data = paths.as_flat().to_vec();
        scale_increments(&mut data, t, &f, self.near_steps(req));
        paths = PathSet::from_flat(n, t, data).map_err(|e| ModelError::Data(e.to_string()))?;
        Ok(paths)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Candles;

    use crate::baselines::test_data::{candles_5m, low_request as request, valid_and_seeded};

    /// 20 days of 5-minute candles with a volatility that changes by the day.
    fn candles() -> Candles {
        candles_5m(20, |d| 0.001 * (1.0 + (d % 3) as f64) * 3.4)
    }

    #[test]
    fn valid_seeded_and_blind_to_the_future() {
        let h = candles();
        let start = 17 * 86_400;
        let m = FittedMix::default();
        let req = request(&h, start, 3);
        let p = valid_and_seeded(&m, &req);
        // No look-ahead: changing every candle after the start changes nothing (the fit
        // included).
        let mut other = h.clone();
        let a = other.index_at_or_after(start);
        for x in &mut other.close[a..] {
            *x *= 3.0;
        }
        let req2 = request(&other, start, 3);
        assert_eq!(m.fit(&req), m.fit(&req2));
        assert_eq!(p.as_flat(), m.forecast(&req2).unwrap().as_flat());
        // HIGH steps too.
        let high = ForecastRequest {
            time_increment: 60,
            time_length: 3600,
            ..req.clone()
        };
        let q = m.forecast(&high).unwrap();
        assert_eq!(q.n_points(), 61);
    }

    #[test]
    fn the_fit_follows_the_history_and_falls_back_without_it() {
        let h = candles();
        let m = FittedMix::default();
        let f = m.fit(&request(&h, 17 * 86_400, 1));
        assert!(m.shares.contains(&f.share) || f.share == 0.5);
        assert!(m.scales.contains(&f.near) && m.scales.contains(&f.far));
        // Three days of history: no pseudo-prompt has a week before it.
        let short = h.slice_time(0, 3 * 86_400);
        let f = m.fit(&request(&short, 3 * 86_400, 1));
        assert_eq!(
            f,
            MixFit {
                share: 0.5,
                near: 1.0,
                far: 1.0
            }
        );
        // Scaling the increments: ×2 doubles every log move, the start stays.
        let mut row = vec![100.0, 110.0, 99.0];
        let two = MixFit {
            share: 0.0,
            near: 2.0,
            far: 2.0,
        };
        scale_increments(&mut row, 3, &two, 1);
        assert_eq!(row[0], 100.0);
        assert!((row[2] / 100.0 - 0.99f64.powi(2)).abs() < 1e-12);
        let bad = FittedMix {
            shares: vec![1.5],
            ..FittedMix::default()
        };
        assert!(bad.forecast(&request(&h, 17 * 86_400, 1)).is_err());
    }
}
