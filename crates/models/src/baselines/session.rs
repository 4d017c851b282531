//! Market closures (equities overnight and at weekends, gold's daily break): which times of the
//! week the history shows no trading, and how much the price moves across a closure.
//!
//! The intraday profile only sees returns between consecutive candles, so a closed hour gets
//! the average in-session volatility and a 24 h forecast of an equity spreads 288 steps of
//! session volatility where the market really moves 78 steps plus one overnight gap. This
//! module learns, from the candle timestamps and the gap returns before the prompt, the weekly
//! 30-minute buckets without trading and the variance per closed step (the mean square of the
//! overnight / break gap returns divided by their length in steps). The forecasters then give
//! closed steps that variance (scaled by their current volatility level), so the path still
//! carries the overnight move into the next session while in-session steps keep theirs.
//! Markets that trade around the clock have no closed bucket and are left unchanged.

use market::Candles;

use crate::ForecastRequest;

/// Seconds per bucket (30 minutes).
const BUCKET_SECS: i64 = 1800;
/// Buckets per week.
const N_WEEK: usize = (7 * 86_400 / BUCKET_SECS) as usize;
/// Shortest gap between candles that counts as a closure (shorter ones are data holes).
const MIN_GAP_SECS: i64 = 1800;
/// Longest gap that counts (overnight and daily breaks; weekends and outages are left out).
const MAX_GAP_SECS: i64 = 86_400;
/// History needed to call a bucket closed (two full weeks).
const MIN_SPAN_SECS: i64 = 14 * 86_400;
/// Buckets either side of a trading bucket also counted open (one hour: daylight saving).
const DST_BUCKETS: usize = 2;
/// Gaps needed to estimate the closed-step variance.
const MIN_GAPS: usize = 3;

/// The closed buckets of the week and the variance per closed step.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionGaps {
    closed: Vec<bool>,
    /// Mean variance (squared log return) per closed step of the forecast's increment.
    pub closed_step_var: f64,
    /// Mean square of the returns between consecutive candles, at the same increment.
    pub open_step_var: f64,
}

impl SessionGaps {
    /// Learns closures from the candles opening in `[end - lookback_secs, end)` of
    /// `history`, for forecast steps of `step_secs`. `None` when the market shows no closed
    /// bucket, the history spans less than two weeks, or fewer than three gaps can be measured.
    pub fn fit(history: &Candles, step_secs: u32, end: i64, lookback_secs: i64) -> Option<Self> {
        let a = history.index_at_or_after(end - lookback_secs);
        let b = history.index_at_or_after(end);
        let (ts, close) = (&history.ts[a..b], &history.close[a..b]);
        let (&first, &last) = (ts.first()?, ts.last()?);
        if last - first < MIN_SPAN_SECS {
            return None;
        }
        let mut seen = vec![false; N_WEEK];
        for &t in ts {
            seen[bucket(t)] = true;
        }
        // Closed: no candle within an hour either side, so a session that moves by an hour
        // (daylight saving, possibly between the history and the prompt) stays open.
        let closed: Vec<bool> = (0..N_WEEK)
            .map(|b| (0..=2 * DST_BUCKETS).all(|d| !seen[(b + N_WEEK + d - DST_BUCKETS) % N_WEEK]))
            .collect();
        if !closed.iter().any(|&c| c) {
            return None;
        }
        let res = i64::from(history.resolution_secs.max(1));
        let step = i64::from(step_secs.max(1)) as f64;
        let (mut gap_sq, mut gap_steps, mut n_gaps) = (0.0, 0.0, 0usize);
        let (mut open_sq, mut n_open) = (0.0, 0usize);
        for i in 1..ts.len() {
            let (p0, p1) = (close[i - 1], close[i]);
            if !(p0 > 0.0 && p1 > 0.0 && p0.is_finite() && p1.is_finite()) {
                continue;
            }
            let r = (p1 / p0).ln();
            let dt = ts[i] - ts[i - 1];
            if dt == res {
                open_sq += r * r;
                n_open += 1;
            } else if (MIN_GAP_SECS..=MAX_GAP_SECS).contains(&dt) {
                gap_sq += r * r;
                gap_steps += dt as f64 / step;
                n_gaps += 1;
            }
        }
        if n_gaps < MIN_GAPS || n_open == 0 || gap_steps <= 0.0 {
            return None;
        }
        // Returns between consecutive candles, rescaled to the forecast's increment.
        let open_step_var = open_sq / n_open as f64 * step / res as f64;
        let closed_step_var = gap_sq / gap_steps;
        (open_step_var > 0.0 && closed_step_var.is_finite()).then_some(Self {
            closed,
            closed_step_var,
            open_step_var,
        })
    }

    /// Whether the move starting at UTC second `t` falls in a closed bucket.
    pub fn is_closed(&self, t: i64) -> bool {
        self.closed[bucket(t)]
    }

    /// Rewrites `sd` (per-step standard deviations from `start`, `inc` seconds apart) for
    /// closed steps: the closed-step variance, scaled by the step's volatility level relative
    /// to the long run (`level[k]` = forecast variance / long-run variance, deseasonalised).
    pub fn apply(&self, sd: &mut [f64], level: impl Fn(usize) -> f64, start: i64, inc: i64) {
        for (k, s) in sd.iter_mut().enumerate() {
            if self.is_closed(start + k as i64 * inc) {
                *s = (self.closed_step_var * level(k).max(0.0)).sqrt();
            }
        }
    }

    /// Learns closures from the request's history (the `lookback_secs` before its start, see
    /// [`SessionGaps::fit`]) and applies them to its per-step sd (see [`SessionGaps::apply`]);
    /// leaves `sd` as it is where none are learnt.
    pub fn fit_and_apply(
        req: &ForecastRequest<'_>,
        lookback_secs: i64,
        sd: &mut [f64],
        level: impl Fn(usize) -> f64,
    ) {
        let fitted = Self::fit(
            req.history,
            req.time_increment,
            req.start_time,
            lookback_secs,
        );
        if let Some(s) = fitted {
            s.apply(sd, level, req.start_time, i64::from(req.time_increment));
        }
    }
}

/// Weekly 30-minute bucket of UTC second `t` (weeks aligned on the unix epoch).
fn bucket(t: i64) -> usize {
    (t.rem_euclid(7 * 86_400) / BUCKET_SECS) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Provenance;

    /// 5-minute candles of a market open 14:00–20:00 UTC on weekdays, 3 weeks, with a fixed
    /// 1 % overnight jump and ±0.1 % session steps.
    fn session_market() -> Candles {
        let mut c = Candles::empty("SPYX", 300, Provenance::Synthetic);
        let mut p = 100.0;
        let mut sign = 1.0f64;
        for day in 0..21i64 {
            // Epoch day 0 is a Thursday: days 2 and 3 of each week are the weekend.
            if matches!(day.rem_euclid(7), 2 | 3) {
                continue;
            }
            p *= 1.01f64;
            for k in 0..72 {
                let t = day * 86_400 + 14 * 3600 + k * 300;
                sign = -sign;
                p *= (0.001 * sign).exp();
                c.ts.push(t);
                c.close.push(p);
            }
        }
        c.open = c.close.clone();
        c.high = c.close.clone();
        c.low = c.close.clone();
        c
    }

    #[test]
    fn learns_the_closed_hours_and_the_overnight_variance() {
        let c = session_market();
        let end = c.ts.last().unwrap() + 300;
        let s = SessionGaps::fit(&c, 300, end, 30 * 86_400).unwrap();
        assert!(!s.is_closed(14 * 3600 + 600));
        assert!(s.is_closed(2 * 3600));
        assert!(s.is_closed(21 * 3600 + 600));
        // An hour either side of the session counts as open (daylight saving).
        assert!(!s.is_closed(20 * 3600 + 600) && !s.is_closed(13 * 3600 + 600));
        // Session steps: |r| = 0.1 %.
        assert!((s.open_step_var - 1e-6).abs() < 1e-9);
        // Overnight gap: 18 h = 216 steps, r ≈ ln(1.01) ± 0.001.
        let want = 1.01f64.ln().powi(2) / 216.0;
        assert!((s.closed_step_var / want - 1.0).abs() < 0.25, "{s:?}");
        let mut sd = vec![1.0; 4];
        s.apply(&mut sd, |_| 4.0, 21 * 3600 - 600, 300);
        assert_eq!(sd[..2], [1.0, 1.0]);
        assert!((sd[2] - (4.0 * s.closed_step_var).sqrt()).abs() < 1e-15);
    }

    #[test]
    fn a_market_open_around_the_clock_has_no_closure() {
        let mut c = Candles::empty("BTC", 300, Provenance::Synthetic);
        for k in 0..(20 * 288) {
            c.ts.push(k * 300);
            c.close.push(100.0 + (k % 3) as f64);
        }
        c.open = c.close.clone();
        c.high = c.close.clone();
        c.low = c.close.clone();
        assert!(SessionGaps::fit(&c, 300, 20 * 86_400, 30 * 86_400).is_none());
        // Too short a history says nothing.
        let s = session_market();
        assert!(SessionGaps::fit(&s, 300, 7 * 86_400, 7 * 86_400).is_none());
    }
}
