//! From per-miner CRPS to weights: prompt scores (`reward.compute_prompt_scores`), the
//! coefficient-weighted moving average with back-fill (`moving_average.py`), softmax, and the
//! combination of the LOW and HIGH competitions — in the validator's floating-point order.

use serde::Serialize;

use crate::config::{asset_coefficient, PromptConfig};
use crate::numeric::{kahan_sum, numpy_sum, percentile_linear};

/// The prompt scores of one request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptScores {
    /// `min(crps, p90) - lowest` per miner, in input order; invalid miners get `p90 - lowest`.
    pub scores: Vec<f64>,
    /// numpy's linear 90th percentile of the valid CRPS values.
    pub percentile90: f64,
    /// The lowest capped score.
    pub lowest: f64,
}

/// Prompt scores from per-miner CRPS totals (-1 marks an invalid miner). `None` when every miner
/// is invalid (the validator then leaves the request unscored).
pub fn compute_prompt_scores(crps: &[f64]) -> Option<PromptScores> {
    let valid: Vec<f64> = crps.iter().copied().filter(|&s| s != -1.0).collect();
    if valid.is_empty() {
        return None;
    }
    let p90 = percentile_linear(&valid, 90.0);
    let capped: Vec<f64> = crps
        .iter()
        .map(|&s| if s == -1.0 { p90 } else { np_minimum(s, p90) })
        .collect();
    let lowest = capped.iter().copied().fold(f64::INFINITY, np_minimum);
    let scores = capped.iter().map(|&c| c - lowest).collect();
    Some(PromptScores {
        scores,
        percentile90: p90,
        lowest,
    })
}

/// `np.minimum`: NaN if either is NaN.
fn np_minimum(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() {
        f64::NAN
    } else if b < a {
        b
    } else {
        a
    }
}

/// The validator's `compute_softmax`: `exp(beta*x - max)` normalised by numpy's pairwise sum.
pub fn compute_softmax(scores: &[f64], beta: f64) -> Vec<f64> {
    if scores.is_empty() {
        return Vec::new();
    }
    let z: Vec<f64> = scores.iter().map(|&s| beta * s).collect();
    let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = z.iter().map(|&v| (v - max).exp()).collect();
    let total = numpy_sum(&e);
    e.iter().map(|&v| v / total).collect()
}

/// One row of `miner_scores` as the moving average reads it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreRow {
    /// The miner's surrogate id (uid, coldkey, hotkey).
    pub miner_id: i64,
    /// `prompt_score_v3` (NaN when missing).
    pub prompt_score: f64,
    /// `start_time + time_length`, unix seconds.
    pub scored_time: i64,
    /// The request's asset.
    pub asset: String,
    /// The request's p90 (`None` when not stored).
    pub percentile90: Option<f64>,
    /// The request's lowest score (`None` when not stored).
    pub lowest_score: Option<f64>,
}

/// `prepare_df_for_moving_average`: back-fills each miner that first appears after the earliest
/// time with the worst score (`p90 - lowest`) at every earlier time, then sorts by
/// (scored_time, miner_id).
pub fn prepare_for_moving_average(rows: &[ScoreRow]) -> Vec<ScoreRow> {
    let mut out = rows.to_vec();
    let Some(global_min) = rows.iter().map(|r| r.scored_time).min() else {
        return out;
    };
    // Per distinct time (ascending): worst score and asset from the first row at that time.
    let mut times: Vec<(i64, f64, &str)> = Vec::new();
    for r in rows {
        if times.iter().any(|t| t.0 == r.scored_time) {
            continue;
        }
        if let (Some(p90), Some(low)) = (r.percentile90, r.lowest_score) {
            times.push((r.scored_time, p90 - low, r.asset.as_str()));
        } else {
            // Mark the time as seen, without a back-fill value.
            times.push((r.scored_time, f64::NAN, ""));
        }
    }
    times.retain(|t| !t.2.is_empty());
    times.sort_by_key(|t| t.0);
    let mut first_seen: Vec<(i64, i64)> = Vec::new();
    for r in rows {
        match first_seen.iter_mut().find(|f| f.0 == r.miner_id) {
            Some(f) => f.1 = f.1.min(r.scored_time),
            None => first_seen.push((r.miner_id, r.scored_time)),
        }
    }
    for &(miner_id, first) in first_seen.iter().filter(|f| f.1 > global_min) {
        for &(t, worst, asset) in times.iter().filter(|t| t.0 < first) {
            out.push(ScoreRow {
                miner_id,
                prompt_score: worst,
                scored_time: t,
                asset: asset.to_string(),
                percentile90: None,
                lowest_score: None,
            });
        }
    }
    out.sort_by_key(|r| (r.scored_time, r.miner_id));
    out
}

/// `compute_smoothed_score`: per miner (ascending id), the coefficient-weighted mean of its
/// prompt scores up to `cutoff` (Kahan sums in row order); miners whose rows are all NaN get
/// `+inf` and come last.
pub fn smoothed_scores(rows: &[ScoreRow], cutoff: i64) -> Vec<(i64, f64)> {
    let rows: Vec<&ScoreRow> = rows.iter().filter(|r| r.scored_time <= cutoff).collect();
    let mut ids: Vec<i64> = rows.iter().map(|r| r.miner_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut finite = Vec::new();
    let mut infinite = Vec::new();
    for id in ids {
        let mine: Vec<&&ScoreRow> = rows
            .iter()
            .filter(|r| r.miner_id == id && !r.prompt_score.is_nan())
            .collect();
        if mine.is_empty() {
            infinite.push((id, f64::INFINITY));
            continue;
        }
        let coef_sum = kahan_sum(mine.iter().map(|r| asset_coefficient(&r.asset)));
        let l = kahan_sum(
            mine.iter()
                .map(|r| (r.prompt_score * asset_coefficient(&r.asset)) / coef_sum),
        );
        finite.push((id, l));
    }
    finite.extend(infinite);
    finite
}

/// The window the validator reads: rows with `scored_time > cutoff - window_days` (strict).
pub fn window_rows(rows: &[ScoreRow], cutoff: i64, window_days: i64) -> Vec<ScoreRow> {
    let from = cutoff - window_days * 86_400;
    rows.iter()
        .filter(|r| r.scored_time > from)
        .cloned()
        .collect()
}

/// Reward weights of one competition: softmax(beta · L) × coefficient, keeping weights > 0.
/// `smoothed` must already be limited to miners that map to a current uid, in the validator's
/// order (ascending miner id, `+inf` miners last).
pub fn reward_weights(smoothed: &[(i64, f64)], cfg: &PromptConfig) -> Vec<(i64, f64)> {
    let l: Vec<f64> = smoothed.iter().map(|m| m.1).collect();
    let p = compute_softmax(&l, cfg.softmax_beta);
    smoothed
        .iter()
        .zip(p)
        .filter(|(_, p)| *p > 0.0)
        .map(|(m, p)| (m.0, p * cfg.smoothed_score_coefficient))
        .collect()
}

/// The whole moving-average stage of one competition from stored rows: window, back-fill,
/// smoothed scores, softmax weights.
pub fn competition_weights(rows: &[ScoreRow], cutoff: i64, cfg: &PromptConfig) -> Vec<(i64, f64)> {
    let prepared = prepare_for_moving_average(&window_rows(rows, cutoff, cfg.window_days));
    reward_weights(&smoothed_scores(&prepared, cutoff), cfg)
}

/// `combine_moving_averages`: sums weights per miner, LOW first then HIGH, in order of first
/// appearance.
pub fn combine(low: &[(i64, f64)], high: &[(i64, f64)]) -> Vec<(i64, f64)> {
    let mut out: Vec<(i64, f64)> = Vec::new();
    for &(id, w) in low.iter().chain(high) {
        match out.iter_mut().find(|o| o.0 == id) {
            Some(o) => o.1 += w,
            None => out.push((id, w)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HIGH, LOW};

    #[test]
    fn prompt_score_vectors() {
        let p = compute_prompt_scores(&[1000.0, 1500.0, 2000.0, -1.0]).unwrap();
        assert_eq!(p.scores, [0.0, 500.0, 900.0, 900.0]);
        assert_eq!(p.percentile90, 1900.0);
        assert_eq!(p.lowest, 1000.0);
        let p = compute_prompt_scores(&[1000.0, -1.0, -1.0, -1.0]).unwrap();
        assert_eq!(p.scores, [0.0; 4]);
        assert_eq!((p.percentile90, p.lowest), (1000.0, 1000.0));
        assert!(compute_prompt_scores(&[-1.0, -1.0]).is_none());
    }

    #[test]
    fn softmax_vectors() {
        assert_eq!(
            compute_softmax(&[1000.0, 1500.0, 2000.0], -0.001),
            [0.506480391055654, 0.3071958857184984, 0.1863237232258476]
        );
        assert_eq!(
            compute_softmax(&[1000.0, 1500.0, 2000.0, -1.0], -0.001),
            [
                0.21297387565046522,
                0.12917518529983302,
                0.0783487103584094,
                0.5795022286912923
            ]
        );
        assert!(compute_softmax(&[], -0.002).is_empty());
    }

    fn row(miner_id: i64, score: f64, t: i64, asset: &str) -> ScoreRow {
        ScoreRow {
            miner_id,
            prompt_score: score,
            scored_time: t,
            asset: asset.into(),
            percentile90: Some(0.01),
            lowest_score: Some(0.0),
        }
    }

    #[test]
    fn back_fill_of_new_miners() {
        let rows = vec![
            row(1, 0.002, 100, "BTC"),
            row(1, 0.003, 200, "SOL"),
            row(2, 0.004, 200, "SOL"),
        ];
        let p = prepare_for_moving_average(&rows);
        assert_eq!(p.len(), 4);
        assert_eq!(
            (p[1].miner_id, p[1].scored_time, p[1].prompt_score),
            (2, 100, 0.01)
        );
        assert_eq!(p[1].asset, "BTC");
        // Old miners are never back-filled and real scores are kept.
        assert_eq!(p.iter().filter(|r| r.miner_id == 1).count(), 2);
        assert_eq!(p[3].prompt_score, 0.004);
    }

    #[test]
    fn coefficient_weighted_mean_and_weights() {
        let rows = vec![
            row(7, 0.01, 100, "BTC"),
            row(7, 0.01, 200, "XAU"),
            row(7, 0.01, 300, "SOL"),
        ];
        let s = smoothed_scores(&rows, 300);
        let c = [1.0, 1.7370922597118699, 0.6310037175639559];
        let want = (0.01 * c[0] + 0.01 * c[1] + 0.01 * c[2]) / (c[0] + c[1] + c[2]);
        assert!((s[0].1 - want).abs() <= 1e-6 * want);
        let mut rows3 = rows.clone();
        rows3.push(row(8, 0.002, 300, "BTC"));
        rows3.push(row(9, f64::NAN, 300, "BTC"));
        let s = smoothed_scores(&rows3, 300);
        assert_eq!(s.iter().map(|m| m.0).collect::<Vec<_>>(), [7, 8, 9]);
        assert_eq!(s[2].1, f64::INFINITY);
        let w = reward_weights(&s, &LOW);
        assert_eq!(w.len(), 2, "the +inf miner is dropped");
        assert!((w.iter().map(|m| m.1).sum::<f64>() - 0.5).abs() < 1e-6);
        let both = combine(&[(1, 0.3)], &[(1, 0.2), (2, 0.01)]);
        assert_eq!(both, [(1, 0.5), (2, 0.01)]);
        let hw = competition_weights(&rows3, 300, &HIGH);
        assert!((hw.iter().map(|m| m.1).sum::<f64>() - 0.5).abs() < 1e-6);
    }

    #[test]
    fn window_is_strict() {
        let rows = vec![row(1, 0.1, 0, "BTC"), row(1, 0.1, 1, "BTC")];
        assert_eq!(window_rows(&rows, 86_400, 1).len(), 1);
    }
}
