//! Resampling to a coarser resolution (1m → 5m, or any multiple).
//!
//! Buckets are aligned to the target grid (`floor(ts / target) * target`, UTC). A bucket gets
//! open = first open, high = max high, low = min low, close = last close of its candles.
//! A bucket with missing candles is handled by the [`BucketRule`]: by default it is dropped
//! (a gap at the coarser resolution), which is how the 5m files of `../shared/data` were built.

use crate::{Candles, MarketError};

/// What to do with a bucket that lacks some of its source candles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BucketRule {
    /// Keep only buckets with every source candle present (default).
    #[default]
    CompleteOnly,
    /// Keep any bucket with at least one candle; its open/close come from the first/last
    /// candle present, so they may not be the true bucket open/close.
    AnyPresent,
}

/// Aggregates `c` to `target_secs` per candle. `target_secs` must be a positive multiple of
/// the source resolution; equal resolutions return a copy.
pub fn resample(c: &Candles, target_secs: u32, rule: BucketRule) -> Result<Candles, MarketError> {
    let src = c.resolution_secs;
    if src == 0 || target_secs == 0 || !target_secs.is_multiple_of(src) {
        return Err(MarketError::Invalid(format!(
            "cannot resample {}: {target_secs} s is not a multiple of {src} s",
            c.asset
        )));
    }
    let per_bucket = (target_secs / src) as usize;
    let target = i64::from(target_secs);
    let mut out = Candles::empty(c.asset.clone(), target_secs, c.provenance);
    let mut i = 0;
    while i < c.len() {
        let bucket = c.ts[i].div_euclid(target) * target;
        let mut j = i;
        while j < c.len() && c.ts[j] < bucket + target {
            j += 1;
        }
        if rule == BucketRule::AnyPresent || j - i == per_bucket {
            out.ts.push(bucket);
            out.open.push(c.open[i]);
            out.high.push(
                c.high[i..j]
                    .iter()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max),
            );
            out.low
                .push(c.low[i..j].iter().copied().fold(f64::INFINITY, f64::min));
            out.close.push(c.close[j - 1]);
        }
        i = j;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Provenance;

    fn minutes(ts: &[i64]) -> Candles {
        let mut c = Candles::empty("BTC", 60, Provenance::Real);
        for (k, &t) in ts.iter().enumerate() {
            let p = 100.0 + k as f64;
            c.ts.push(t);
            c.open.push(p);
            c.high.push(p + 10.0 - k as f64 * 2.0);
            c.low.push(p - 1.0);
            c.close.push(p + 0.5);
        }
        c
    }

    #[test]
    fn ohlc_aggregation_and_incomplete_buckets() {
        // bucket 0: 0..240 complete; bucket 300: missing 420; bucket 600: one candle
        let c = minutes(&[0, 60, 120, 180, 240, 300, 360, 480, 540, 600]);
        let r = resample(&c, 300, BucketRule::CompleteOnly).unwrap();
        assert_eq!(r.ts, vec![0]);
        assert_eq!(r.resolution_secs, 300);
        assert_eq!(
            (r.open[0], r.high[0], r.low[0], r.close[0]),
            (100.0, 110.0, 99.0, 104.5)
        );
        let a = resample(&c, 300, BucketRule::AnyPresent).unwrap();
        assert_eq!(a.ts, vec![0, 300, 600]);
        assert_eq!((a.open[1], a.close[1]), (105.0, 108.5));
        assert_eq!((a.open[2], a.close[2]), (109.0, 109.5));
        assert!(resample(&c, 90, BucketRule::CompleteOnly).is_err());
        assert_eq!(resample(&c, 60, BucketRule::CompleteOnly).unwrap(), c);
    }
}
