//! Log returns from history at the prompt's time increment, gaps respected.

use market::Candles;

/// Log returns of closes over consecutive steps of `step_secs`, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepReturns {
    /// For each return, the UTC second at which the price move it measures begins.
    pub start: Vec<i64>,
    /// Log returns `ln(close_t / close_{t-step})`.
    pub r: Vec<f64>,
}

impl StepReturns {
    /// Number of returns.
    pub fn len(&self) -> usize {
        self.r.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.r.is_empty()
    }

    /// Sample standard deviation around zero (the drift of short returns is noise).
    pub fn rms(&self) -> f64 {
        if self.r.is_empty() {
            return 0.0;
        }
        (self.r.iter().map(|x| x * x).sum::<f64>() / self.r.len() as f64).sqrt()
    }
}

/// Returns over steps of `step_secs` from the candles opening in
/// `[end - lookback_secs, end)` of `history`.
///
/// * resolution = step: consecutive candles exactly one step apart;
/// * step a multiple of the resolution: close at `t` over close at `t - step` when both exist,
///   with `t` on the grid of the last candle;
/// * step finer than the resolution: the history's own returns scaled by
///   `sqrt(step / resolution)` (variance-matched; the intraday pattern stays at the coarser grid).
///
/// Non-positive or non-finite closes and returns are skipped.
pub fn step_returns(
    history: &Candles,
    step_secs: u32,
    end: i64,
    lookback_secs: i64,
) -> StepReturns {
    let res = i64::from(history.resolution_secs.max(1));
    let step = i64::from(step_secs.max(1));
    let a = history.index_at_or_after(end - lookback_secs);
    let b = history.index_at_or_after(end);
    let ts = &history.ts[a..b];
    let close = &history.close[a..b];
    let mut out = StepReturns::default();
    let mut push = |start: i64, p0: f64, p1: f64, scale: f64| {
        if p0 > 0.0 && p1 > 0.0 && p0.is_finite() && p1.is_finite() {
            out.start.push(start);
            out.r.push((p1 / p0).ln() * scale);
        }
    };
    if step <= res {
        let scale = (step as f64 / res as f64).sqrt();
        for i in 1..ts.len() {
            if ts[i] - ts[i - 1] == res {
                push(ts[i], close[i - 1], close[i], scale);
            }
        }
    } else {
        let Some(&last) = ts.last() else { return out };
        let phase = last.rem_euclid(step);
        for i in 0..ts.len() {
            if ts[i].rem_euclid(step) != phase {
                continue;
            }
            let prev = ts[i] - step;
            let j = ts.partition_point(|&x| x < prev);
            if j < i && ts[j] == prev {
                push(ts[i] + res - step, close[j], close[i], 1.0);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Provenance;

    fn candles(res: u32, ts: &[i64], close: &[f64]) -> Candles {
        let mut c = Candles::empty("BTC", res, Provenance::Synthetic);
        c.ts = ts.to_vec();
        c.close = close.to_vec();
        c.open = close.to_vec();
        c.high = close.to_vec();
        c.low = close.to_vec();
        c
    }

    #[test]
    fn same_resolution_skips_gaps() {
        let c = candles(60, &[0, 60, 120, 240, 300], &[1.0, 2.0, 4.0, 8.0, 4.0]);
        let s = step_returns(&c, 60, 1000, 10_000);
        assert_eq!(s.start, vec![60, 120, 300]);
        assert!((s.r[0] - 2f64.ln()).abs() < 1e-15);
        assert!((s.r[2] + 2f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn coarser_steps_aggregate_on_the_last_candle_grid() {
        let ts: Vec<i64> = (0..11).map(|i| i * 60).collect();
        let close: Vec<f64> = (0..11).map(|i| f64::from(i + 1)).collect();
        let s = step_returns(&candles(60, &ts, &close), 300, 10_000, 100_000);
        // last candle 600: grid 600, 300 (0's predecessor -300 does not exist).
        assert_eq!(s.r.len(), 2);
        assert!((s.r[1] - (11.0f64 / 6.0).ln()).abs() < 1e-15);
        assert_eq!(s.start[1], 600 + 60 - 300);
    }

    #[test]
    fn finer_steps_scale_variance_and_respect_lookback() {
        let c = candles(300, &[0, 300, 600], &[1.0, 2.0, 2.0]);
        let s = step_returns(&c, 60, 900, 10_000);
        assert!((s.r[0] - 2f64.ln() / 5f64.sqrt()).abs() < 1e-15);
        let s = step_returns(&c, 60, 900, 700);
        assert_eq!(s.r, vec![0.0]); // only candles 300 and 600 are in the window
    }
}
