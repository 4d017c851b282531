//! Paired comparison of two models on the same prompts: both go through the one walk-forward
//! evaluation ([`evaluate`]: one experiment with the same folds, prompt times, seed and data,
//! run by the session's `ExperimentRunner` — this machine, or a remote worker when
//! `SYNTH_CITY_WORKERS` names some), and each prompt's CRPS of the candidate is set against the
//! incumbent's on that prompt.
//!
//! The uncertainty is a circular block bootstrap of the paired prompts (blocks as long as a
//! prompt's horizon spans prompts, since overlapping horizons make neighbouring prompts move
//! together) with a fixed seed, so the same comparison always gives the same interval.

use models::rng::SplitMix64;
use models::spec::Timeframe;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sn50::numeric::percentile_linear;

use crate::models_runner::model_part;
use crate::record::{DataProvenance, RunRecord, RunStatus};
use crate::runner::{DataRequest, ExperimentRunner};
use crate::{ResearchError, Result};

/// The fewest paired prompts a LOW (24 h, `5m`) comparison may rest on; below it a comparison
/// (hence a promotion) is refused. Two walk-forward folds of 100 prompts give 200.
pub const MIN_PROMPTS_LOW: usize = 100;
/// The fewest paired prompts a HIGH (1 h, `1m`) comparison may rest on.
pub const MIN_PROMPTS_HIGH: usize = 100;

/// Bootstrap resamples behind each interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of the bootstrap (fixed: the same comparison gives the same interval).
pub const BOOTSTRAP_SEED: u64 = 0x5EED_C0DE;

/// The minimum number of paired prompts for a timeframe (`5m` / `1m`).
pub fn min_prompts(timeframe: Timeframe) -> usize {
    match timeframe {
        Timeframe::Low5m => MIN_PROMPTS_LOW,
        Timeframe::High1m => MIN_PROMPTS_HIGH,
    }
}

/// Which prompts a comparison is made on: one asset and timeframe, the walk-forward folds over
/// the real history, at most `max_prompts` per fold, and the evaluation seed (prompt phase and
/// every model's sampling).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromptSet {
    /// SN50 asset (upper case).
    pub asset: String,
    /// `5m` (LOW) or `1m` (HIGH).
    pub timeframe: String,
    /// Walk-forward folds.
    pub folds: usize,
    /// Held-out prompts per fold.
    pub max_prompts: usize,
    /// Evaluation seed.
    pub seed: u64,
}

impl PromptSet {
    /// The standard set of `asset` × `timeframe`: 2 folds of at most 100 prompts, seed 0 (the
    /// research evaluation's defaults).
    pub fn standard(asset: &str, timeframe: &str) -> Self {
        Self {
            asset: asset.to_ascii_uppercase(),
            timeframe: timeframe.to_string(),
            folds: 2,
            max_prompts: 100,
            seed: 0,
        }
    }

    /// Refuses (`InvalidConfig`) a set whose folds × prompts cannot reach [`min_prompts`].
    pub fn check_minimum(&self) -> Result<()> {
        let tf = self.tf()?;
        let min = min_prompts(tf);
        if self.folds.saturating_mul(self.max_prompts) < min {
            return Err(ResearchError::invalid(format!(
                "{} folds × {} prompts cannot reach the minimum of {min} paired prompts for {} \
                 (MIN_PROMPTS_{})",
                self.folds,
                self.max_prompts,
                self.timeframe,
                if tf == Timeframe::Low5m {
                    "LOW"
                } else {
                    "HIGH"
                }
            )));
        }
        Ok(())
    }

    fn tf(&self) -> Result<Timeframe> {
        serde_json::from_value(Value::String(self.timeframe.clone())).map_err(|_| {
            ResearchError::invalid(format!("timeframe {:?} is not 5m or 1m", self.timeframe))
        })
    }
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Contender {
    /// A statistical model by name: a baseline (`garch_t`, `mix_sess`…) or `default`
    /// ([`models::baselines::DEFAULT_MODEL`]).
    Model(String),
    /// A registry run: its spec is evaluated (a neural spec is trained on each fold, as its run
    /// was).
    Run(Box<RunRecord>),
}

impl Contender {
    /// `run:<id>` or the model's name.
    pub fn label(&self) -> String {
        match self {
            Contender::Model(n) => n.clone(),
            Contender::Run(r) => format!("run:{}", r.run_id),
        }
    }

    /// The research spec evaluated for it at `timeframe` (without its own `eval` part).
    fn spec(&self, timeframe: &str) -> Result<Value> {
        match self {
            Contender::Model(n) => {
                let name = models::baselines::resolve_name(n).ok_or_else(|| {
                    ResearchError::invalid(format!(
                        "unknown model {n:?} (known: default, {})",
                        models::baselines::BASELINE_NAMES.join(", ")
                    ))
                })?;
                Ok(json!({"baseline": name, "timeframe": timeframe}))
            }
            Contender::Run(r) => {
                if r.status != RunStatus::Ok {
                    return Err(ResearchError::invalid(format!(
                        "run {} did not succeed; only successful runs are compared",
                        r.run_id
                    )));
                }
                if r.provenance != DataProvenance::Real {
                    return Err(ResearchError::invalid(format!(
                        "run {} was made on synthetic data; only real-data runs are compared",
                        r.run_id
                    )));
                }
                if r.data.timeframe != timeframe {
                    return Err(ResearchError::invalid(format!(
                        "run {} is a {} model, not {timeframe}",
                        r.run_id, r.data.timeframe
                    )));
                }
                Ok(model_part(&r.spec))
            }
        }
    }
}

/// A 90 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval90 {
    /// 5th percentile.
    pub lo: f64,
    /// 95th percentile.
    pub hi: f64,
}

/// The outcome of a paired comparison: candidate over incumbent on the same prompts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairedComparison {
    /// The prompts compared on.
    pub prompt_set: PromptSet,
    /// Candidate (`run:<id>` or a model name).
    pub candidate: String,
    /// Incumbent.
    pub incumbent: String,
    /// Prompts scored for both (the pairs).
    pub prompts: usize,
    /// The minimum this comparison needed.
    pub min_prompts: usize,
    /// First and last paired prompt start (UTC unix seconds).
    pub first_prompt: i64,
    /// Last paired prompt start.
    pub last_prompt: i64,
    /// Candidate's mean CRPS over the pairs.
    pub candidate_crps: f64,
    /// Incumbent's mean CRPS over the pairs.
    pub incumbent_crps: f64,
    /// The reference GBM's mean CRPS over the same prompts (for a ratio to GBM).
    pub gbm_crps: f64,
    /// Ratio of the mean CRPS, candidate / incumbent (below 1: the candidate is better).
    pub ratio: f64,
    /// Its 90 % bootstrap interval.
    pub ratio_90: Interval90,
    /// Mean per-prompt log ratio `ln(candidate / incumbent)`.
    pub mean_log_ratio: f64,
    /// Its 90 % bootstrap interval.
    pub log_ratio_90: Interval90,
    /// Prompts where the candidate's CRPS was lower.
    pub wins: usize,
    /// Bootstrap block length, in prompts.
    pub block_len: usize,
    /// How the interval was made.
    pub method: String,
}

impl PairedComparison {
    /// True when the candidate is better beyond the noise: the whole 90 % interval of the
    /// ratio lies below 1 (one-sided 95 %).
    pub fn candidate_better(&self) -> bool {
        self.ratio_90.hi < 1.0
    }

    /// One line for people: the ratio with its interval and the prompt count.
    pub fn summary(&self) -> String {
        format!(
            "{} / {} on {} {} ({} paired prompts, folds {}, seed {}): CRPS ratio {:.4} \
             (90% {:.4}–{:.4}), {:.1}% of prompts won; {} vs GBM {:.4}, {} vs GBM {:.4}",
            self.candidate,
            self.incumbent,
            self.prompt_set.asset,
            self.prompt_set.timeframe,
            self.prompts,
            self.prompt_set.folds,
            self.prompt_set.seed,
            self.ratio,
            self.ratio_90.lo,
            self.ratio_90.hi,
            100.0 * self.wins as f64 / self.prompts.max(1) as f64,
            self.candidate,
            self.candidate_crps / self.gbm_crps,
            self.incumbent,
            self.incumbent_crps / self.gbm_crps,
        )
    }
}

/// Each prompt's total CRPS of `name` over every fold of `r`, with the start time.
fn per_prompt(r: &models::experiment::ExperimentResult, name: &str) -> Vec<(i64, f64)> {
    r.folds
        .iter()
        .filter_map(|f| f.eval.score(name))
        .flat_map(|s| s.prompt_crps.iter().copied())
        .collect()
}

/// The walk-forward evaluation of `spec` on the prompts of `set` (real history only), as one
/// experiment of `runner` with `set`'s folds, prompts and seed: on this machine, or on a
/// remote worker when `runner` is a pool (a neural contender is trained again on each fold,
/// which is an experiment's work). The per-prompt scores come from its `result-<asset>.json`.
pub fn evaluate(
    runner: &dyn ExperimentRunner,
    spec: &Value,
    set: &PromptSet,
) -> Result<models::experiment::ExperimentResult> {
    let mut spec = spec.clone();
    spec["eval"] = json!({"folds": set.folds.max(1), "max_prompts": set.max_prompts.max(1)});
    let req = DataRequest {
        assets: vec![set.asset.clone()],
        ..Default::default()
    };
    let data = runner.resolve_data(&spec, &req)?;
    if data.provenance != DataProvenance::Real {
        return Err(ResearchError::new(
            crate::ErrorKind::DataMissing,
            format!(
                "no real {} {} history to compare on",
                set.asset, set.timeframe
            ),
        ));
    }
    let out = runner.run(&spec, &data, set.seed)?;
    let name = format!("result-{}.json", set.asset.to_lowercase());
    let (_, bytes) = out
        .files
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| ResearchError::env(format!("the evaluation returned no {name}")))?;
    serde_json::from_slice(bytes)
        .map_err(|e| ResearchError::env(format!("the evaluation's {name}: {e}")))
}

/// Evaluates `candidate` and `incumbent` on the prompts of `set` (the walk-forward evaluation
/// of research runs, on the real history only; both at once when `runner` has two slots) and
/// compares them prompt by prompt. Refused (`InvalidConfig`) when fewer than [`min_prompts`]
/// prompts were scored for both.
pub fn compare(
    runner: &dyn ExperimentRunner,
    candidate: &Contender,
    incumbent: &Contender,
    set: &PromptSet,
) -> Result<PairedComparison> {
    let tf = set.tf()?;
    let min = min_prompts(tf);
    set.check_minimum()?;
    let specs = [
        candidate.spec(&set.timeframe)?,
        incumbent.spec(&set.timeframe)?,
    ];
    let runs: Vec<models::experiment::ExperimentResult> = if runner.slots() >= 2 {
        std::thread::scope(|s| {
            let h: Vec<_> = specs
                .iter()
                .map(|spec| s.spawn(move || evaluate(runner, spec, set)))
                .collect();
            h.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(ResearchError::env("an evaluation panicked")))
                })
                .collect::<Result<_>>()
        })?
    } else {
        specs
            .iter()
            .map(|spec| evaluate(runner, spec, set))
            .collect::<Result<_>>()?
    };
    let (c, i) = (
        per_prompt(&runs[0], &runs[0].model),
        per_prompt(&runs[1], &runs[1].model),
    );
    let gbm = per_prompt(&runs[1], models::eval::REFERENCE);
    // Pairs: prompts scored for both, by start time (both lists are in schedule order).
    let mut pairs: Vec<(i64, f64, f64)> = Vec::new();
    let mut gbm_sum = 0.0;
    for &(t, x) in &c {
        if let Some(&(_, y)) = i.iter().find(|(u, _)| *u == t) {
            if x > 0.0 && y > 0.0 {
                pairs.push((t, x, y));
                gbm_sum += gbm.iter().find(|(u, _)| *u == t).map_or(f64::NAN, |g| g.1);
            }
        }
    }
    pairs.sort_by_key(|p| p.0);
    pairs.dedup_by_key(|p| p.0);
    let n = pairs.len();
    if n < min {
        return Err(ResearchError::invalid(format!(
            "only {n} prompts were scored for both {} and {} on {} {}: a comparison needs at \
             least {min} (more folds or more history)",
            candidate.label(),
            incumbent.label(),
            set.asset,
            set.timeframe
        )));
    }
    let xs: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    let ys: Vec<f64> = pairs.iter().map(|p| p.2).collect();
    let spacing = median_spacing(&pairs);
    let horizon = match tf {
        Timeframe::Low5m => 86_400,
        Timeframe::High1m => 3_600,
    };
    let block_len = ((horizon as f64 / spacing as f64).ceil() as usize).clamp(1, (n / 4).max(1));
    let (ratios, logs) = block_bootstrap(&xs, &ys, block_len);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let logr: Vec<f64> = xs.iter().zip(&ys).map(|(x, y)| (x / y).ln()).collect();
    Ok(PairedComparison {
        prompt_set: set.clone(),
        candidate: candidate.label(),
        incumbent: incumbent.label(),
        prompts: n,
        min_prompts: min,
        first_prompt: pairs[0].0,
        last_prompt: pairs[n - 1].0,
        candidate_crps: mean(&xs),
        incumbent_crps: mean(&ys),
        gbm_crps: gbm_sum / n as f64,
        ratio: xs.iter().sum::<f64>() / ys.iter().sum::<f64>(),
        ratio_90: interval(&ratios),
        mean_log_ratio: mean(&logr),
        log_ratio_90: interval(&logs),
        wins: xs.iter().zip(&ys).filter(|(x, y)| x < y).count(),
        block_len,
        method: format!(
            "circular block bootstrap of the paired prompts ({BOOTSTRAP_RESAMPLES} resamples, \
             blocks of {block_len}, seed {BOOTSTRAP_SEED:#x}), 5th–95th percentile"
        ),
    })
}

/// Median seconds between consecutive prompt starts (at least 60).
fn median_spacing(pairs: &[(i64, f64, f64)]) -> i64 {
    let mut gaps: Vec<i64> = pairs.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_unstable();
    gaps.get(gaps.len() / 2).copied().unwrap_or(60).max(60)
}

/// Circular block bootstrap of the pairs: for each resample, the ratio of sums and the mean
/// log ratio.
fn block_bootstrap(xs: &[f64], ys: &[f64], block: usize) -> (Vec<f64>, Vec<f64>) {
    let n = xs.len();
    let mut rng = SplitMix64::new(BOOTSTRAP_SEED);
    let (mut ratios, mut logs) = (
        Vec::with_capacity(BOOTSTRAP_RESAMPLES),
        Vec::with_capacity(BOOTSTRAP_RESAMPLES),
    );
    for _ in 0..BOOTSTRAP_RESAMPLES {
        let (mut sx, mut sy, mut sl, mut k) = (0.0, 0.0, 0.0, 0usize);
        while k < n {
            let start = rng.below(n);
            for j in 0..block.min(n - k) {
                let idx = (start + j) % n;
                sx += xs[idx];
                sy += ys[idx];
                sl += (xs[idx] / ys[idx]).ln();
            }
            k += block;
        }
        ratios.push(sx / sy);
        logs.push(sl / n as f64);
    }
    (ratios, logs)
}

fn interval(v: &[f64]) -> Interval90 {
    Interval90 {
        lo: percentile_linear(v, 5.0),
        hi: percentile_linear(v, 95.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_is_seeded_and_brackets_the_ratio() {
        let xs: Vec<f64> = (0..200).map(|i| 10.0 + (i % 7) as f64).collect();
        let ys: Vec<f64> = xs.iter().map(|x| x * 1.05).collect();
        let (r, l) = block_bootstrap(&xs, &ys, 5);
        let (r2, _) = block_bootstrap(&xs, &ys, 5);
        assert_eq!(r, r2);
        let iv = interval(&r);
        // Every prompt is 1/1.05 exactly: the interval is that point.
        assert!((iv.lo - 1.0 / 1.05).abs() < 1e-12 && (iv.hi - 1.0 / 1.05).abs() < 1e-12);
        assert!((interval(&l).lo - (1.0f64 / 1.05).ln()).abs() < 1e-12);
        // Noisy pairs: an interval around the ratio of sums.
        let ys: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| x * if i % 2 == 0 { 0.9 } else { 1.2 })
            .collect();
        let ratio = xs.iter().sum::<f64>() / ys.iter().sum::<f64>();
        let iv = interval(&block_bootstrap(&xs, &ys, 5).0);
        assert!(iv.lo < ratio && ratio < iv.hi, "{iv:?} {ratio}");
    }
}
