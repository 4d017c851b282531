//! The current volatility level from candle ranges (Parkinson): `ln(high/low)² / (4 ln 2)`
//! estimates a candle's variance several times more efficiently than its squared close-to-close
//! return, so an EWMA of it tracks the current level with less noise.
//!
//! Ranges are biased by the tick size and by how many trades a candle holds, so the level is
//! relative: the EWMA of the deseasonalised range variance at the end of the history over its
//! mean over the whole lookback. A forecaster multiplies its long-run (close-to-close) variance
//! by it.

use market::Candles;

use super::ewma::decay;
use super::IntradayProfile;

/// Candles needed (fewer give `None`).
const MIN_CANDLES: usize = 200;

/// A candle's Parkinson variance `ln(high/low)² / (4 ln 2)`; `None` for a candle without a
/// usable range (a missing or non-positive price, high below low).
pub fn parkinson_var(high: f64, low: f64) -> Option<f64> {
    (high.is_finite() && low.is_finite() && low > 0.0 && high >= low)
        .then(|| 1.0 / (4.0 * std::f64::consts::LN_2) * (high / low).ln().powi(2))
}

/// Current range variance over its lookback mean, from the candles opening in
/// `[end - lookback_secs, end)`, each deseasonalised by `profile` at its open time and
/// weighted with an EWMA of `half_life_secs`. `None` with too few usable candles or none
/// with a range.
pub fn range_level(
    history: &Candles,
    end: i64,
    lookback_secs: i64,
    profile: &IntradayProfile,
    half_life_secs: f64,
) -> Option<f64> {
    let a = history.index_at_or_after(end - lookback_secs);
    let b = history.index_at_or_after(end);
    let lambda = decay(history.resolution_secs.max(1), half_life_secs);
    let (mut sum, mut n, mut ewma) = (0.0, 0usize, None::<f64>);
    for i in a..b {
        let Some(p) = parkinson_var(history.high[i], history.low[i]) else {
            continue;
        };
        let m = profile.at(history.ts[i]);
        let v = p / (m * m);
        sum += v;
        n += 1;
        ewma = Some(ewma.map_or(v, |e| lambda * e + (1.0 - lambda) * v));
    }
    let mean = sum / n.max(1) as f64;
    if n < MIN_CANDLES || !(mean > 0.0 && mean.is_finite()) {
        return None;
    }
    ewma.map(|e| e / mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Provenance;

    #[test]
    fn parkinson_variance_of_a_candle_and_unusable_ranges() {
        let e = std::f64::consts::E;
        let v = parkinson_var(e, 1.0 / e).unwrap();
        assert!((v - 1.0 / std::f64::consts::LN_2).abs() < 1e-12, "{v}");
        assert_eq!(parkinson_var(2.0, 2.0), Some(0.0));
        for (h, l) in [
            (1.0, 2.0),
            (1.0, 0.0),
            (f64::NAN, 1.0),
            (f64::INFINITY, 1.0),
        ] {
            assert_eq!(parkinson_var(h, l), None, "{h} {l}");
        }
    }

    #[test]
    fn a_recent_doubling_of_ranges_raises_the_level() {
        let mut c = Candles::empty("BTC", 60, Provenance::Synthetic);
        for i in 0..1000i64 {
            let w = if i >= 900 { 2.0 } else { 1.0 };
            c.ts.push(i * 60);
            c.open.push(100.0);
            c.close.push(100.0);
            c.high.push(100.0 + 0.1 * w);
            c.low.push(100.0 - 0.1 * w);
        }
        let p = IntradayProfile::flat();
        // Fast EWMA: the level approaches the new variance (4x the old) over the mean.
        let fast = range_level(&c, 60_000, 60_000, &p, 600.0).unwrap();
        let mean = (900.0 + 100.0 * 4.0) / 1000.0;
        assert!((fast - 4.0 / mean).abs() < 0.05, "{fast}");
        // Only candles before the end count.
        let before = range_level(&c, 900 * 60, 60_000, &p, 600.0).unwrap();
        assert!((before - 1.0).abs() < 1e-9, "{before}");
        assert!(range_level(&c, 100 * 60, 60_000, &p, 600.0).is_none());
    }
}
