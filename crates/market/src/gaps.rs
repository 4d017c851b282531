//! Gap detection: a gap is any step between consecutive candles longer than the resolution.

use serde::Serialize;

use crate::Candles;

/// One gap: candles are missing strictly between `after` and `before`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Gap {
    /// Open time of the last candle before the gap (unix s).
    pub after: i64,
    /// Open time of the first candle after the gap (unix s).
    pub before: i64,
    /// Number of missing candles: `(before - after) / resolution - 1`.
    pub missing: i64,
}

/// Summary of the gaps of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct GapSummary {
    /// Number of gaps.
    pub gaps: usize,
    /// Missing candles in total.
    pub missing: i64,
    /// Longest gap in seconds (time between the candles around it), 0 when there is none.
    pub longest_secs: i64,
}

/// All gaps of a series that is sorted by time, at its own resolution.
pub fn find_gaps(c: &Candles) -> Vec<Gap> {
    find_gaps_in(&c.ts, i64::from(c.resolution_secs))
}

/// All gaps in sorted timestamps `ts` at `resolution` seconds per candle.
pub fn find_gaps_in(ts: &[i64], resolution: i64) -> Vec<Gap> {
    let res = resolution.max(1);
    ts.windows(2)
        .filter(|w| w[1] - w[0] > res)
        .map(|w| Gap {
            after: w[0],
            before: w[1],
            missing: (w[1] - w[0] + res - 1) / res - 1,
        })
        .collect()
}

/// Count, total missing candles and longest gap of a series.
pub fn gap_summary(c: &Candles) -> GapSummary {
    summarize(&find_gaps(c))
}

/// Count, total missing candles and longest gap of a list of gaps.
pub fn summarize(gaps: &[Gap]) -> GapSummary {
    GapSummary {
        gaps: gaps.len(),
        missing: gaps.iter().map(|g| g.missing).sum(),
        longest_secs: gaps.iter().map(|g| g.before - g.after).max().unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaps_are_counted_with_missing_candles() {
        let g = find_gaps_in(&[0, 60, 120, 300, 360, 600], 60);
        assert_eq!(
            g,
            vec![
                Gap {
                    after: 120,
                    before: 300,
                    missing: 2
                },
                Gap {
                    after: 360,
                    before: 600,
                    missing: 3
                }
            ]
        );
        let s = summarize(&g);
        assert_eq!((s.gaps, s.missing, s.longest_secs), (2, 5, 240));
        assert!(find_gaps_in(&[0, 60, 120], 60).is_empty());
    }
}
