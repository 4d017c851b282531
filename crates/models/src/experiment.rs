//! One experiment: load an asset's history, cut it into walk-forward folds, train the model on
//! each fold's training span (neural models; baselines need no training), and score it with
//! the reference GBM on the fold's held-out prompts (see [`crate::eval`]).

use std::time::Instant;

use market::{resample, BucketRule, Candles, Provenance};
use serde::{Deserialize, Serialize};
use sn50::asset::canonical_asset;
use sn50::{asset_coefficient, PromptConfig};

use crate::baselines::baseline;
use crate::data::{load_history, DataPolicy, DataSource};
use crate::eval::{evaluate_span, place_prompts, prompt_inputs, EvalSettings, SpanEval, REFERENCE};
use crate::features::Series;
use crate::neural::NeuralModel;
use crate::spec::{ModelSpec, Timeframe};
use crate::split::{Span, WalkForward};
use crate::train::{fit, windows_in_span, EpochReport};
use crate::trained::{PromptSample, TrainedModel};
use crate::{Forecaster, ModelError};

/// The model an experiment runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelChoice {
    /// A statistical baseline by name.
    Baseline(String),
    /// A neural model from its spec.
    Neural(Box<ModelSpec>),
}

impl ModelChoice {
    /// The name results are reported under.
    pub fn name(&self) -> String {
        match self {
            Self::Baseline(b) => b.clone(),
            Self::Neural(s) => s.display_name(),
        }
    }
}

/// Everything an experiment needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentConfig {
    /// SN50 asset.
    pub asset: String,
    /// `5m` (LOW) or `1m` (HIGH).
    pub timeframe: Timeframe,
    /// The model.
    pub model: ModelChoice,
    /// Walk-forward folds.
    pub folds: usize,
    /// Test span per fold, seconds.
    pub test_secs: i64,
    /// Validation span per fold (early stopping), seconds.
    pub val_secs: i64,
    /// Prompt placement and scoring.
    pub eval: EvalSettings,
    /// Which data may be used.
    pub data: DataPolicy,
    /// Where neural models train and sample (`auto`: a CUDA GPU when built and present).
    #[serde(default)]
    pub device: crate::device::DeviceChoice,
}

impl ExperimentConfig {
    /// Defaults for `timeframe`: 2 folds; LOW tests 7 days per fold with 3 days of validation,
    /// HIGH 2 days with 1.
    pub fn new(asset: &str, timeframe: Timeframe, model: ModelChoice) -> Self {
        let (test_secs, val_secs) = match timeframe {
            Timeframe::Low5m => (7 * 86_400, 3 * 86_400),
            Timeframe::High1m => (2 * 86_400, 86_400),
        };
        Self {
            asset: canonical_asset(asset),
            timeframe,
            model,
            folds: 2,
            test_secs,
            val_secs,
            eval: EvalSettings::default(),
            data: DataPolicy::RealOrSynthetic,
            device: crate::device::DeviceChoice::default(),
        }
    }

    /// The prompt competition of the timeframe.
    pub fn prompt_config(&self) -> &'static PromptConfig {
        self.timeframe.competition().cfg()
    }
}

/// The data an experiment runs on (serialisable: a coordinator sends it to a worker).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreparedData {
    /// The models' input series (5 m or 1 m).
    pub history: Candles,
    /// 1-minute candles for the realised prices.
    pub one_min: Candles,
    /// Where they came from.
    pub source: DataSource,
    /// The synthetic-data warning, if any.
    pub warning: Option<String>,
}

/// Loads the input series and the 1-minute truth for `cfg`. When either is missing the whole
/// experiment runs on the synthetic market (1 m generated, 5 m aggregated from it) so that
/// inputs and truth are one market.
pub fn prepare(cfg: &ExperimentConfig) -> Result<PreparedData, ModelError> {
    let res = cfg.timeframe.step_secs();
    let seed = cfg.eval.seed;
    if cfg.data != DataPolicy::SyntheticOnly {
        let policy = DataPolicy::RealOnly;
        let one = load_history(&cfg.asset, 60, policy, seed);
        let hist = if res == 60 {
            None
        } else {
            Some(load_history(&cfg.asset, res, policy, seed))
        };
        match (one, hist) {
            (Ok(one), None) => {
                return Ok(PreparedData {
                    history: one.candles.clone(),
                    one_min: one.candles,
                    source: one.source,
                    warning: None,
                })
            }
            (Ok(one), Some(Ok(h))) => {
                return Ok(PreparedData {
                    history: h.candles,
                    one_min: one.candles,
                    source: h.source,
                    warning: None,
                })
            }
            (Err(e), _) | (_, Some(Err(e))) if cfg.data == DataPolicy::RealOnly => return Err(e),
            _ => {}
        }
    }
    let one = crate::data::synthetic(&cfg.asset, 60, seed)?;
    let history = if res == 60 {
        one.candles.clone()
    } else {
        resample(&one.candles, res, BucketRule::CompleteOnly)
            .map_err(|e| ModelError::Data(format!("resampling the synthetic market: {e}")))?
    };
    Ok(PreparedData {
        history,
        one_min: one.candles,
        source: DataSource::Synthetic,
        warning: one.warning,
    })
}

/// One fold's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoldResult {
    /// Training span.
    pub train: Span,
    /// Validation span.
    pub val: Span,
    /// Scores on the test span.
    pub eval: SpanEval,
    /// Training report of a neural model (written, not read back).
    #[serde(skip_deserializing, default)]
    pub train_report: Option<crate::train::TrainReport>,
}

/// An experiment's result (serde): per fold and in total, the model against the reference GBM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentResult {
    /// Model name.
    pub model: String,
    /// Asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: Timeframe,
    /// `low` or `high`.
    pub competition: String,
    /// Seed.
    pub seed: u64,
    /// Where the data came from.
    pub data_source: DataSource,
    /// `real` or `synthetic`.
    pub provenance: Provenance,
    /// The synthetic-data warning, if any.
    pub warning: Option<String>,
    /// First and last candle time of the input series.
    pub data_range: (i64, i64),
    /// Scalar parameters (0 for baselines).
    pub param_count: usize,
    /// Total training seconds.
    pub train_secs: f64,
    /// Prompts scored over all folds.
    pub n_prompts: usize,
    /// Mean total CRPS per prompt of the model, over all folds' prompts.
    pub model_crps: f64,
    /// The same for the reference GBM on the same prompts.
    pub baseline_crps: f64,
    /// `model_crps / baseline_crps` (below 1 beats the reference).
    pub ratio: f64,
    /// The asset's SN50 moving-average coefficient (for weighting across assets).
    pub asset_weight: f64,
    /// Per-interval mean CRPS per prompt of the model.
    pub per_interval: std::collections::BTreeMap<String, f64>,
    /// Per-interval mean CRPS per prompt of the reference GBM.
    pub baseline_per_interval: std::collections::BTreeMap<String, f64>,
    /// Each fold.
    pub folds: Vec<FoldResult>,
}

/// An experiment's result with what it trained.
#[derive(Debug)]
pub struct ExperimentRun {
    /// Scores.
    pub result: ExperimentResult,
    /// The final model: the last fold's (trained on the most data; for neural models the
    /// weights of its best validation epoch), or the baseline's settings.
    pub model: TrainedModel,
    /// The last scorable held-out prompt of the last fold, answered by that model with the
    /// evaluation's request and seed (`None` when no prompt of that fold could be scored).
    pub sample: Option<PromptSample>,
}

/// Runs `cfg` on `data`. `on_epoch(fold, report)` sees each training epoch.
pub fn run_on(
    cfg: &ExperimentConfig,
    data: &PreparedData,
    on_epoch: &mut dyn FnMut(usize, &EpochReport),
) -> Result<ExperimentResult, ModelError> {
    run_trained(cfg, data, on_epoch).map(|r| r.result)
}

/// The last prompt in `test` that can be scored, answered by `model` exactly as the
/// evaluation asked it (same history cut, start price, paths and seed).
pub fn sample_prompt(
    cfg: &ExperimentConfig,
    data: &PreparedData,
    test: Span,
    model: &dyn Forecaster,
) -> Option<PromptSample> {
    let pc = cfg.prompt_config();
    let starts = place_prompts(test, pc, cfg.eval.max_prompts, cfg.eval.seed);
    starts.iter().rev().find_map(|&start| {
        let p = prompt_inputs(pc, &data.history, &data.one_min, start, &cfg.eval)?;
        let req = p.request(&cfg.asset, &cfg.eval);
        let paths = model.forecast(&req).ok()?;
        Some(PromptSample {
            asset: cfg.asset.clone(),
            start_time: start,
            start_price: p.start_price,
            time_increment: p.time_increment,
            time_length: p.time_length,
            seed: req.seed,
            paths,
            realised: p.realised.clone(),
        })
    })
}

/// Candles in the longest stretch of `s` without a gap.
fn longest_gap_free(s: &Series) -> usize {
    let (mut best, mut run) = (0usize, 0usize);
    for (i, t) in s.ts.iter().enumerate() {
        run = if i > 0 && t - s.ts[i - 1] == s.resolution {
            run + 1
        } else {
            1
        };
        best = best.max(run);
    }
    best
}

/// Why fold `fold` has no training window, in words a planner or a person can act on.
fn no_windows(cfg: &ExperimentConfig, m: &NeuralModel, s: &Series, fold: usize) -> ModelError {
    let (input, horizon) = (m.features().rows_needed(), m.spec().horizon());
    let need = input + horizon;
    let longest = longest_gap_free(s);
    let why = if longest < need {
        format!(
            "the longest gap-free stretch of the history is {longest} candles (session or data \
             gaps, e.g. regular-hours equities, cannot hold a whole horizon); use data without \
             such gaps or the 1m timeframe"
        )
    } else {
        format!(
            "fold {fold}'s training span holds none (too little history before the test \
             spans); use more data or fewer folds"
        )
    };
    ModelError::Data(format!(
        "no {} {} training windows: each needs {need} gap-free candles ({input} of input + \
         the {horizon}-step horizon), but {why}",
        cfg.asset,
        cfg.timeframe.as_str()
    ))
}

/// Runs `cfg` on `data` and hands back the final model and one sampled held-out prompt
/// beside the scores. `on_epoch(fold, report)` sees each training epoch.
pub fn run_trained(
    cfg: &ExperimentConfig,
    data: &PreparedData,
    on_epoch: &mut dyn FnMut(usize, &EpochReport),
) -> Result<ExperimentRun, ModelError> {
    let pc = cfg.prompt_config();
    let (h, one) = (&data.history, &data.one_min);
    let (Some(&first), Some(&last_h), Some(&last_1)) = (h.ts.first(), h.ts.last(), one.ts.last())
    else {
        return Err(ModelError::Data(format!("no {} history", cfg.asset)));
    };
    let end = last_h.min(last_1) + 60;
    let wf = WalkForward {
        horizon_secs: pc.time_length,
        purge_secs: pc.time_length,
        train_secs: None,
        val_secs: if matches!(cfg.model, ModelChoice::Neural(_)) {
            cfg.val_secs
        } else {
            0
        },
        test_secs: cfg.test_secs,
        folds: cfg.folds,
    };
    let folds = wf.folds(first, end)?;
    let name = cfg.model.name();
    let (mut folds_out, mut params, mut train_secs) = (Vec::new(), 0usize, 0.0);
    let mut last: Option<(TrainedModel, Span)> = None;
    for (k, f) in folds.iter().enumerate() {
        let (model, report): (TrainedModel, _) = match &cfg.model {
            ModelChoice::Baseline(b) => {
                if baseline(b).is_none() {
                    return Err(ModelError::InvalidConfig(format!("unknown baseline {b:?}")));
                }
                (TrainedModel::baseline(b)?, None)
            }
            ModelChoice::Neural(spec) => {
                let t0 = Instant::now();
                let mut m = NeuralModel::with_device((**spec).clone(), cfg.device.resolve()?)?;
                let series = Series::new(h);
                let tr = windows_in_span(&m, &series, f.train);
                if tr.is_empty() {
                    return Err(no_windows(cfg, &m, &series, k));
                }
                let va = windows_in_span(&m, &series, f.val);
                let rep = fit(&mut m, &tr, &va, &mut |e| on_epoch(k, e))?;
                train_secs += t0.elapsed().as_secs_f64();
                params = m.n_params();
                (TrainedModel::Neural(Box::new(m)), Some(rep))
            }
        };
        let forecaster = model.forecaster()?;
        let mut ev = evaluate_span(
            &cfg.asset,
            pc,
            h,
            one,
            f.test,
            &[forecaster.as_ref()],
            &cfg.eval,
        )?;
        drop(forecaster);
        if let Some(s) = ev.scores.iter_mut().find(|s| s.name == name) {
            s.param_count = params;
            s.train_secs = report
                .as_ref()
                .map_or(0.0, |r: &crate::train::TrainReport| r.seconds);
        }
        folds_out.push(FoldResult {
            train: f.train,
            val: f.val,
            eval: ev,
            train_report: report,
        });
        last = Some((model, f.test));
    }
    let pooled = |who: &str| {
        let (mut sum, mut n) = (0.0, 0usize);
        let mut ivs = std::collections::BTreeMap::<String, f64>::new();
        for f in &folds_out {
            if let Some(s) = f.eval.score(who) {
                if f.eval.n_prompts > 0 {
                    sum += s.mean_crps * f.eval.n_prompts as f64;
                    n += f.eval.n_prompts;
                    for (k, v) in &s.per_interval {
                        *ivs.entry(k.clone()).or_default() += v * f.eval.n_prompts as f64;
                    }
                }
            }
        }
        ivs.values_mut().for_each(|v| *v /= n.max(1) as f64);
        (if n == 0 { f64::NAN } else { sum / n as f64 }, n, ivs)
    };
    let (model_crps, n_prompts, per_interval) = pooled(&name);
    let (baseline_crps, _, baseline_per_interval) = pooled(REFERENCE);
    if n_prompts == 0 {
        return Err(ModelError::Data(format!(
            "no {} prompt could be scored for {} (missing 1-minute prices in the test spans?)",
            pc.label, cfg.asset
        )));
    }
    let (model, test) = last.ok_or_else(|| ModelError::InvalidConfig("no fold".into()))?;
    let sample = sample_prompt(cfg, data, test, model.forecaster()?.as_ref());
    let result = ExperimentResult {
        model: name,
        asset: cfg.asset.clone(),
        timeframe: cfg.timeframe,
        competition: pc.label.to_string(),
        seed: cfg.eval.seed,
        data_source: data.source,
        provenance: h.provenance,
        warning: data.warning.clone(),
        data_range: (first, last_h),
        param_count: params,
        train_secs,
        n_prompts,
        model_crps,
        baseline_crps,
        ratio: model_crps / baseline_crps,
        asset_weight: asset_coefficient(&canonical_asset(&cfg.asset)),
        per_interval,
        baseline_per_interval,
        folds: folds_out,
    };
    Ok(ExperimentRun {
        result,
        model,
        sample,
    })
}

/// Loads the data and runs `cfg`.
pub fn run(
    cfg: &ExperimentConfig,
    on_epoch: &mut dyn FnMut(usize, &EpochReport),
) -> Result<ExperimentResult, ModelError> {
    let data = prepare(cfg)?;
    run_on(cfg, &data, on_epoch)
}

/// SN50-weighted mean of `(asset weight, value)` pairs: `Σ w·v / Σ w` (the validator's
/// coefficient-weighted average of prompt scores across assets).
pub fn weighted_mean(items: &[(f64, f64)]) -> f64 {
    let w: f64 = items.iter().map(|(w, _)| w).sum();
    items.iter().map(|(w, v)| w * v).sum::<f64>() / w
}

#[cfg(test)]
mod gap_tests {
    use super::*;

    #[test]
    fn longest_gap_free_stretch_counts_candles_between_gaps() {
        let mut c = Candles::empty("SPYX", 300, Provenance::Real);
        // Two sessions of 78 and 5 candles, a night apart.
        let times = (0..78)
            .map(|i| i * 300)
            .chain((0..5).map(|i| 86_400 + i * 300));
        for t in times {
            c.ts.push(t);
            c.open.push(1.0);
            c.high.push(1.0);
            c.low.push(1.0);
            c.close.push(1.0);
        }
        assert_eq!(longest_gap_free(&Series::new(&c)), 78);
        assert_eq!(
            longest_gap_free(&Series::new(&Candles::empty("X", 300, Provenance::Real))),
            0
        );
    }
}
