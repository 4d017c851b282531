//! Held-out evaluation as the validators score: prompts placed on a whole-minute cadence per
//! asset inside a test span, history cut at the request time (two minutes before the start),
//! realised prices from 1-minute closes by the sn50 grid rule, and the sn50 CRPS, exactly, for
//! every model and for the reference GBM in the same run on the same prompts.

use std::collections::BTreeMap;

use market::Candles;
use serde::{Deserialize, Serialize};
use sn50::{crps_for_miner, realized_prices, PromptConfig};

use crate::baselines::Gbm;
use crate::split::Span;
use crate::{ForecastRequest, Forecaster, ModelError};

/// Name of the reference baseline every ratio is taken against.
pub const REFERENCE: &str = "gbm";

/// How prompts are placed and scored.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalSettings {
    /// At most this many prompts per asset and span (evenly thinned from the validator cadence).
    pub max_prompts: usize,
    /// Paths per prompt (1,000 on SN50).
    pub num_simulations: usize,
    /// Seed of the prompt phase and of every model's sampling.
    pub seed: u64,
    /// History handed to a model, in seconds before the request.
    pub lookback_secs: i64,
    /// Seconds between the request (the last price a miner sees) and the prompt start.
    pub lead_secs: i64,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            max_prompts: 100,
            num_simulations: 1000,
            seed: 0,
            lookback_secs: 30 * 86_400,
            lead_secs: 120,
        }
    }
}

/// Seconds between two prompts for one asset: the validator's cycle times the rotation length
/// (LOW 5 min × 12 assets = 60 min, HIGH 2 min × 5 assets = 10 min).
pub fn asset_cadence_secs(cfg: &PromptConfig) -> i64 {
    cfg.cycle_interval_minutes * 60 * cfg.asset_list.len() as i64
}

/// Prompt start times inside `test`: whole minutes on the asset's cadence from a seeded phase,
/// each with its full horizon inside the span, evenly thinned to at most `max`.
pub fn place_prompts(test: Span, cfg: &PromptConfig, max: usize, seed: u64) -> Vec<i64> {
    let cadence = asset_cadence_secs(cfg);
    let phase = (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33) as i64 % (cadence / 60) * 60;
    let first = test.from.div_euclid(cadence) * cadence + phase;
    let all: Vec<i64> = (0..)
        .map(|k| first + k * cadence)
        .skip_while(|&t| t < test.from)
        .take_while(|&t| test.holds_window(t, cfg.time_length))
        .collect();
    if all.len() <= max {
        return all;
    }
    (0..max).map(|i| all[i * all.len() / max]).collect()
}

/// Reads JSON `null` (how serde_json writes a non-finite number) back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One model's scores over the prompts that every model answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelScore {
    /// Model name.
    pub name: String,
    /// Mean total CRPS per prompt (the validator's sum over intervals), lower is better; NaN
    /// (JSON `null`) for a span without prompts.
    #[serde(deserialize_with = "nan_if_null")]
    pub mean_crps: f64,
    /// Mean CRPS per prompt of each scoring interval, by the validator's names.
    pub per_interval: BTreeMap<String, f64>,
    /// Prompts where the model returned an error (the validator would score it as invalid).
    pub failures: usize,
    /// Scalar parameters (0 for closed-form baselines).
    pub param_count: usize,
    /// Training seconds (0 for baselines).
    pub train_secs: f64,
    /// Each scored prompt's total CRPS, with its start time (UTC unix seconds), in schedule
    /// order: what a paired comparison of two models on the same prompts pairs up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompt_crps: Vec<(i64, f64)>,
}

/// Scores of all models on one asset's prompts in one span.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpanEval {
    /// Asset.
    pub asset: String,
    /// `low` or `high`.
    pub competition: String,
    /// The test span the prompts lie in.
    pub span: Span,
    /// Prompts scored (answered by every model, with settled real prices).
    pub n_prompts: usize,
    /// Prompts skipped: stale history or missing realised prices.
    pub skipped: usize,
    /// One entry per model, the reference GBM included.
    pub scores: Vec<ModelScore>,
}

impl SpanEval {
    /// The score of `name`.
    pub fn score(&self, name: &str) -> Option<&ModelScore> {
        self.scores.iter().find(|s| s.name == name)
    }

    /// `name`'s mean CRPS over the reference GBM's (below 1 beats it).
    pub fn ratio(&self, name: &str) -> Option<f64> {
        Some(self.score(name)?.mean_crps / self.score(REFERENCE)?.mean_crps)
    }
}

/// What one prompt needs, as the validator would pose it: the history a miner has at the
/// request time, the start price, and the realised prices it is scored against.
#[derive(Debug, Clone)]
pub struct PromptInputs {
    /// Prompt start, UTC unix seconds.
    pub start_time: i64,
    /// Candles whose close is known at the request time (`lookback_secs` of them).
    pub history: Candles,
    /// The last known close: every path's first point.
    pub start_price: f64,
    /// Realised prices on the prompt's grid (start included), by the sn50 grid rule.
    pub realised: Vec<f64>,
    /// Seconds between points.
    pub time_increment: u32,
    /// Horizon in seconds.
    pub time_length: u32,
}

impl PromptInputs {
    /// The request every model is asked in the evaluation (seed `settings.seed ^ start`).
    pub fn request<'a>(&'a self, asset: &'a str, settings: &EvalSettings) -> ForecastRequest<'a> {
        ForecastRequest {
            asset,
            history: &self.history,
            start_price: self.start_price,
            start_time: self.start_time,
            time_increment: self.time_increment,
            time_length: self.time_length,
            num_simulations: settings.num_simulations,
            seed: settings.seed ^ (self.start_time as u64),
            context: Default::default(),
        }
    }
}

/// The inputs of the prompt starting at `start`, or `None` when it cannot be scored (history
/// older than an hour at the request time, or realised prices missing).
pub fn prompt_inputs(
    cfg: &PromptConfig,
    history: &Candles,
    one_min: &Candles,
    start: i64,
    settings: &EvalSettings,
) -> Option<PromptInputs> {
    let res = i64::from(history.resolution_secs);
    let request_time = start - settings.lead_secs;
    // Candles whose close is known at the request time.
    let hist = history.slice_time(start - settings.lookback_secs, request_time - res + 1);
    let fresh = hist
        .ts
        .last()
        .is_some_and(|&t| t + res >= request_time - 3600);
    let truth = one_min.slice_time(start, start + cfg.time_length + 3 * 60);
    let real = realized_prices(
        &truth.ts,
        &truth.close,
        start,
        cfg.time_increment,
        cfg.time_length,
    );
    let (Some(&start_price), true, Ok(realised)) = (hist.close.last(), fresh, real) else {
        return None;
    };
    Some(PromptInputs {
        start_time: start,
        history: hist,
        start_price,
        realised,
        time_increment: cfg.time_increment as u32,
        time_length: cfg.time_length as u32,
    })
}

/// Evaluates `models` (plus the reference GBM when absent) on prompts placed in `span`.
/// `history` is the models' input series (5 m for LOW, 1 m for HIGH); `one_min` gives the
/// realised prices. Each model is asked with the same request and seed.
pub fn evaluate_span(
    asset: &str,
    cfg: &PromptConfig,
    history: &Candles,
    one_min: &Candles,
    span: Span,
    models: &[&dyn Forecaster],
    settings: &EvalSettings,
) -> Result<SpanEval, ModelError> {
    let reference = Gbm::reference();
    let mut all: Vec<&dyn Forecaster> = models.to_vec();
    if !all.iter().any(|m| m.name() == REFERENCE) {
        all.push(&reference);
    }
    let names: Vec<String> = all.iter().map(|m| m.name()).collect();
    let mut sums = vec![(0.0, BTreeMap::<String, f64>::new()); all.len()];
    let mut per_prompt: Vec<Vec<(i64, f64)>> = vec![Vec::new(); all.len()];
    let mut failures = vec![0usize; all.len()];
    let (mut n, mut skipped) = (0usize, 0usize);
    for start in place_prompts(span, cfg, settings.max_prompts, settings.seed) {
        let Some(p) = prompt_inputs(cfg, history, one_min, start, settings) else {
            skipped += 1;
            continue;
        };
        let (real, req) = (&p.realised, p.request(asset, settings));
        let mut scored = Vec::with_capacity(all.len());
        for (i, m) in all.iter().enumerate() {
            let c = m.forecast(&req).and_then(|p| {
                crps_for_miner(&p, real, cfg.time_increment, cfg.scoring_intervals)
                    .map_err(|e| ModelError::Data(format!("scoring: {e}")))
            });
            match c {
                Ok(c) if c.total.is_finite() => scored.push(c),
                Ok(_) | Err(_) => {
                    if let Err(e) = &c {
                        tracing::debug!(model = %names[i], start, "forecast failed: {e}");
                    }
                    failures[i] += 1;
                }
            }
        }
        if scored.len() != all.len() {
            skipped += 1;
            continue;
        }
        n += 1;
        for (i, c) in scored.iter().enumerate() {
            sums[i].0 += c.total;
            per_prompt[i].push((start, c.total));
            for iv in &c.intervals {
                *sums[i].1.entry(iv.name.to_string()).or_default() += iv.total;
            }
        }
    }
    let denom = n.max(1) as f64;
    let scores = names
        .into_iter()
        .zip(sums)
        .zip(failures)
        .zip(per_prompt)
        .map(
            |(((name, (total, ivs)), failures), prompt_crps)| ModelScore {
                name,
                mean_crps: if n == 0 { f64::NAN } else { total / denom },
                per_interval: ivs.into_iter().map(|(k, v)| (k, v / denom)).collect(),
                failures,
                param_count: 0,
                train_secs: 0.0,
                prompt_crps,
            },
        )
        .collect();
    Ok(SpanEval {
        asset: asset.to_string(),
        competition: cfg.label.to_string(),
        span,
        n_prompts: n,
        skipped,
        scores,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sn50::{HIGH, LOW};

    #[test]
    fn a_score_without_prompts_round_trips_through_json() {
        let s = ModelScore {
            name: "gbm".into(),
            mean_crps: f64::NAN,
            per_interval: BTreeMap::new(),
            failures: 0,
            param_count: 0,
            train_secs: 0.0,
            prompt_crps: Vec::new(),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"mean_crps\":null"), "{json}");
        let back: ModelScore = serde_json::from_str(&json).unwrap();
        assert!(back.mean_crps.is_nan());
    }

    #[test]
    fn prompts_follow_the_validator_cadence_and_stay_in_the_span() {
        assert_eq!(asset_cadence_secs(&LOW), 3600);
        assert_eq!(asset_cadence_secs(&HIGH), 600);
        let span = Span {
            from: 1_700_000_000,
            to: 1_700_000_000 + 5 * 86_400,
        };
        let p = place_prompts(span, &LOW, 1000, 3);
        assert!(p
            .iter()
            .all(|t| t % 60 == 0 && span.holds_window(*t, 86_400)));
        assert!(p.windows(2).all(|w| w[1] - w[0] == 3600));
        assert!((95..=97).contains(&p.len()), "{}", p.len());
        let thin = place_prompts(span, &LOW, 10, 3);
        assert_eq!(thin.len(), 10);
        assert_eq!(thin[0], p[0]);
    }
}
