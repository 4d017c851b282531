//! The validators' moving average and weights over the backtest's prompt scores, with each
//! competitor as one miner (`miner_id` = its index): the `sn50::rewards` functions, unchanged.

use serde::Serialize;
use sn50::rewards::{
    competition_weights, prepare_for_moving_average, smoothed_scores, window_rows, ScoreRow,
};

use crate::engine::{PromptResult, PromptStatus};
use crate::schedule::Competition;

/// The `miner_scores` rows of one competition: one per competitor and scored prompt.
pub fn score_rows(results: &[PromptResult], competition: Competition) -> Vec<ScoreRow> {
    let mut rows = Vec::new();
    for r in results
        .iter()
        .filter(|r| r.prompt.competition == competition && r.status == PromptStatus::Scored)
    {
        for (i, &s) in r.prompt_scores.iter().enumerate() {
            rows.push(ScoreRow {
                miner_id: i as i64,
                prompt_score: s,
                scored_time: r.prompt.scored_time(),
                asset: r.prompt.asset.clone(),
                percentile90: Some(r.percentile90),
                lowest_score: Some(r.lowest),
            });
        }
    }
    rows
}

/// One competition's moving-average outcome at a cutoff.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompetitionWeights {
    /// Competition.
    pub competition: Competition,
    /// The cutoff (`scored_time` of the last scored prompt), unix seconds.
    pub cutoff: i64,
    /// Per competitor (input order): the smoothed score `L` (lower is better), `None` if absent.
    pub smoothed: Vec<Option<f64>>,
    /// Per competitor: `reward_weight` (softmax × 0.5; the competition hands out 0.5).
    pub weight: Vec<f64>,
}

/// Smoothed scores and weights of `competition` at its last scored time; `None` when nothing
/// was scored.
pub fn final_weights(
    results: &[PromptResult],
    competition: Competition,
    n: usize,
) -> Option<CompetitionWeights> {
    let rows = score_rows(results, competition);
    let cutoff = rows.iter().map(|r| r.scored_time).max()?;
    Some(weights_at(&rows, cutoff, competition, n))
}

fn weights_at(
    rows: &[ScoreRow],
    cutoff: i64,
    competition: Competition,
    n: usize,
) -> CompetitionWeights {
    let cfg = competition.cfg();
    let prepared = prepare_for_moving_average(&window_rows(rows, cutoff, cfg.window_days));
    let sm = smoothed_scores(&prepared, cutoff);
    let w = competition_weights(rows, cutoff, cfg);
    let mut smoothed = vec![None; n];
    for (id, l) in sm {
        if let Some(s) = smoothed.get_mut(id as usize) {
            *s = Some(l);
        }
    }
    let mut weight = vec![0.0; n];
    for (id, x) in w {
        if let Some(s) = weight.get_mut(id as usize) {
            *s = x;
        }
    }
    CompetitionWeights {
        competition,
        cutoff,
        smoothed,
        weight,
    }
}

/// Each competitor's share of the miners' rewards at one time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShareSnapshot {
    /// The cutoff, unix seconds.
    pub time: i64,
    /// Per competitor: its combined weight (LOW + HIGH, `sn50::rewards::combine`) over the sum of
    /// all miners' weights.
    pub share: Vec<f64>,
}

/// Reward shares over time: at up to `max_points` cutoffs (scored times, evenly thinned), each
/// competition's weights from the rows scored by then, combined LOW first then HIGH.
pub fn share_timeline(
    results: &[PromptResult],
    competitions: &[Competition],
    n: usize,
    max_points: usize,
) -> Vec<ShareSnapshot> {
    let rows: Vec<(Competition, Vec<ScoreRow>)> = competitions
        .iter()
        .map(|&c| (c, score_rows(results, c)))
        .collect();
    let mut times: Vec<i64> = rows
        .iter()
        .flat_map(|(_, r)| r.iter().map(|x| x.scored_time))
        .collect();
    times.sort_unstable();
    times.dedup();
    if times.len() > max_points && max_points > 0 {
        let len = times.len();
        let mut thin: Vec<i64> = (0..max_points)
            .map(|i| times[i * len / max_points])
            .collect();
        if thin.last() != times.last() {
            thin.push(times[len - 1]);
        }
        times = thin;
    }
    let mut out = Vec::with_capacity(times.len());
    for t in times {
        let mut parts: Vec<Vec<(i64, f64)>> = Vec::new();
        for (c, r) in &rows {
            let upto: Vec<ScoreRow> = r.iter().filter(|x| x.scored_time <= t).cloned().collect();
            if upto.is_empty() {
                continue;
            }
            parts.push(competition_weights(&upto, t, c.cfg()));
        }
        let combined = match parts.as_slice() {
            [a] => sn50::rewards::combine(a, &[]),
            [a, b] => sn50::rewards::combine(a, b),
            _ => Vec::new(),
        };
        out.push(ShareSnapshot {
            time: t,
            share: shares(&combined, n),
        });
    }
    out
}

/// Weights per miner id to shares of their sum, in competitor order.
pub fn shares(weights: &[(i64, f64)], n: usize) -> Vec<f64> {
    let total: f64 = weights.iter().map(|w| w.1).sum();
    let mut s = vec![0.0; n];
    for &(id, w) in weights {
        if let Some(x) = s.get_mut(id as usize) {
            *x = if total > 0.0 { w / total } else { 0.0 };
        }
    }
    s
}
