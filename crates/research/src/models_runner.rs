//! [`ExperimentRunner`] on the `models` crate: its block/head registry, presets (neural and
//! statistical baselines), spec validation and walk-forward experiments scored against the
//! reference GBM.
//!
//! A research spec is either a `models::spec::ModelSpec` JSON (neural) or
//! `{"baseline": "<name>", "timeframe": "5m"|"1m"}`. Either may carry an `"eval"` object
//! (`{"folds": N, "max_prompts": M}`) that overrides the walk-forward defaults; it is part of
//! the spec, hence of the experiment id.
//!
//! Every run hands back what it trained (see [`crate::model_store`]): the final neural model's
//! weights per asset (or the baseline's settings), `model.json`, one held-out prompt's sampled
//! paths per asset, the fan chart of the first asset's prompt and the full result JSON.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use models::experiment::{prepare, run_trained, ExperimentConfig, ModelChoice, PreparedData};
use models::spec::{ModelSpec, Timeframe};
use models::train::EpochReport;
use serde_json::{json, Value};

use crate::model_store::{
    ModelKind, ModelManifest, StoredSample, MODEL_ARTIFACT, SAMPLE_PATHS_KEPT,
};
use crate::plot::FanData;
use crate::record::{AssetScore, DataProvenance, DataRange, Timings};
use crate::runner::{
    DataRequest, ExperimentRunner, PresetInfo, ResolvedData, RunOutput, Validation,
};
use crate::session::merge;
use crate::{ResearchError, Result};

/// Default cap on a model's training-memory estimate (8 GiB): every experiment, whoever
/// proposed it (a user, a bot, an LLM planner), is refused before anything is allocated.
const DEFAULT_MAX_MODEL_MB: u64 = 8 * 1024;

/// The cap on a model's training-memory estimate in bytes: `SYNTH_CITY_MAX_MODEL_MB`
/// (megabytes, at least 1), else [`DEFAULT_MAX_MODEL_MB`].
pub fn max_model_bytes() -> u64 {
    std::env::var("SYNTH_CITY_MAX_MODEL_MB")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&mb| mb > 0)
        .unwrap_or(DEFAULT_MAX_MODEL_MB)
        .saturating_mul(1024 * 1024)
}

/// Called after every training epoch: asset, fold, the epoch's report.
pub type ProgressFn = dyn Fn(&str, usize, &EpochReport) + Send + Sync;

/// The model layer of this workspace. Data prepared for the novelty check is reused by the run.
#[derive(Default)]
pub struct ModelsRunner {
    prepared: Mutex<HashMap<(String, String, bool, u64), PreparedData>>,
    fixed: HashMap<(String, String), PreparedData>,
    progress: Option<Arc<ProgressFn>>,
    device: models::device::DeviceChoice,
}

impl std::fmt::Debug for ModelsRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelsRunner")
            .field("fixed", &self.fixed.keys().collect::<Vec<_>>())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// The `"eval"` part of a research spec: walk-forward overrides.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalOverrides {
    /// Walk-forward folds (default: the model layer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<usize>,
    /// Held-out prompts per fold and asset (default: the model layer's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prompts: Option<usize>,
}

impl EvalOverrides {
    /// Reads `spec["eval"]` (absent → no overrides).
    pub fn of(spec: &Value) -> Result<Self> {
        let Some(v) = spec.get("eval") else {
            return Ok(Self::default());
        };
        let e: Self = serde_json::from_value(v.clone())
            .map_err(|e| ResearchError::invalid(format!("eval: {e}")))?;
        if e.folds == Some(0) {
            return Err(ResearchError::invalid("eval.folds: must be at least 1"));
        }
        if e.max_prompts == Some(0) {
            return Err(ResearchError::invalid(
                "eval.max_prompts: must be at least 1",
            ));
        }
        Ok(e)
    }

    /// Writes the overrides as `spec["eval"]`, or nothing when there are none (so a spec
    /// without overrides keeps its experiment id).
    pub fn write_into(&self, spec: &mut Value) -> Result<()> {
        if *self != Self::default() {
            spec["eval"] =
                serde_json::to_value(self).map_err(|e| ResearchError::env(e.to_string()))?;
        }
        Ok(())
    }

    /// Applies the overrides to an experiment config.
    pub fn apply(&self, cfg: &mut ExperimentConfig) {
        if let Some(f) = self.folds {
            cfg.folds = f;
        }
        if let Some(m) = self.max_prompts {
            cfg.eval.max_prompts = m;
        }
    }
}

/// The research spec of a model choice, without an `"eval"` part: the baseline's name at `tf`,
/// or the neural spec (which carries its own timeframe).
pub fn spec_of(choice: &ModelChoice, tf: Timeframe) -> Result<Value> {
    match choice {
        ModelChoice::Baseline(b) => {
            let mut v = json!({"baseline": b, "timeframe": tf.as_str()});
            // A script's source travels in the spec: the experiment id, the record and a
            // worker elsewhere all see it.
            if let Some(m) = models::script::lookup(b) {
                v["script"] = m.settings();
            }
            Ok(v)
        }
        ModelChoice::Neural(s) => {
            serde_json::to_value(&**s).map_err(|e| ResearchError::env(e.to_string()))
        }
    }
}

/// The model part of a research spec (without `"eval"`), as `models::spec::ModelSpec` reads it.
pub fn model_part(spec: &Value) -> Value {
    let mut v = spec.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("eval");
    }
    v
}

impl ModelsRunner {
    /// A runner with an empty data cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses `data` for every run on `asset` at `timeframe` instead of loading history (tests,
    /// or a caller that already holds the data). Its provenance is `data.history.provenance`.
    pub fn with_data(mut self, asset: &str, timeframe: Timeframe, data: PreparedData) -> Self {
        self.fixed.insert(
            (asset.to_ascii_uppercase(), timeframe.as_str().to_string()),
            data,
        );
        self
    }

    /// Reports every training epoch to `f` (a progress bar, a log).
    pub fn with_progress(mut self, f: Arc<ProgressFn>) -> Self {
        self.progress = Some(f);
        self
    }

    /// Trains and samples neural models on `device` (default `auto`: a CUDA GPU when this
    /// build has the `cuda` feature and one is present, else the CPU).
    pub fn with_device(mut self, device: models::device::DeviceChoice) -> Self {
        self.device = device;
        self
    }

    /// The device choice.
    pub fn device(&self) -> models::device::DeviceChoice {
        self.device
    }

    /// The data each asset of a run uses, already cut to the resolved range: what
    /// [`ExperimentRunner::run`] trains and scores on, for a caller that ships it to a worker
    /// (which then runs on exactly these candles).
    pub fn inputs(
        &self,
        spec: &Value,
        data: &ResolvedData,
    ) -> Result<Vec<(String, Timeframe, PreparedData)>> {
        let tf = timeframe_of(spec)?;
        let req = DataRequest {
            assets: data.range.assets.clone(),
            allow_synthetic: data.provenance == DataProvenance::Synthetic,
            ..Default::default()
        };
        data.range
            .assets
            .iter()
            .map(|a| {
                let (_, prepared) =
                    self.data(a, tf, &req, spec["training"]["seed"].as_u64().unwrap_or(0))?;
                Ok((
                    a.clone(),
                    tf,
                    cut(&prepared, data.range.start, data.range.end),
                ))
            })
            .collect()
    }

    fn choice(&self, spec: &Value) -> Result<ModelChoice> {
        EvalOverrides::of(spec)?;
        let spec = &model_part(spec);
        if let Some(b) = spec.get("baseline") {
            let name = b
                .as_str()
                .ok_or_else(|| ResearchError::invalid("baseline: must be a name"))?;
            if models::script::script_name(name).is_some() {
                // A scripted model: its source embedded in the spec (see `spec_of`), else an
                // installed script or a `.rhai` file.
                if let Some(s) = spec.get("script") {
                    let m = models::script::ScriptModel::from_settings(s)?;
                    if models::script::script_name(name) != Some(m.name.as_str()) {
                        return Err(ResearchError::invalid(format!(
                            "script: the embedded script is `{}`, the baseline `{name}`",
                            m.name
                        )));
                    }
                    models::script::install(m)?;
                }
                models::script::resolve(name)?;
                return Ok(ModelChoice::Baseline(name.to_string()));
            }
            if models::baselines::baseline(name).is_none() {
                return Err(ResearchError::invalid(format!(
                    "baseline: unknown `{name}` (known: {})",
                    models::baselines::BASELINE_NAMES.join(", ")
                )));
            }
            return Ok(ModelChoice::Baseline(name.to_string()));
        }
        let spec: ModelSpec = serde_json::from_value(spec.clone())
            .map_err(|e| ResearchError::invalid(format!("spec: {e}")))?;
        spec.validate()?;
        Ok(ModelChoice::Neural(Box::new(spec)))
    }

    fn data(
        &self,
        asset: &str,
        tf: Timeframe,
        req: &DataRequest,
        seed: u64,
    ) -> Result<(ExperimentConfig, PreparedData)> {
        let mut cfg = ExperimentConfig::new(asset, tf, ModelChoice::Baseline("gbm".into()));
        cfg.eval.seed = seed;
        cfg.data = if req.allow_synthetic {
            models::data::DataPolicy::RealOrSynthetic
        } else {
            models::data::DataPolicy::RealOnly
        };
        if let Some(d) = self
            .fixed
            .get(&(cfg.asset.clone(), tf.as_str().to_string()))
        {
            return Ok((cfg, d.clone()));
        }
        let key = (
            cfg.asset.clone(),
            tf.as_str().to_string(),
            req.allow_synthetic,
            seed,
        );
        let mut cache = self
            .prepared
            .lock()
            .map_err(|_| ResearchError::env("data cache poisoned"))?;
        if let Some(d) = cache.get(&key) {
            return Ok((cfg, d.clone()));
        }
        let d = prepare(&cfg)?;
        cache.insert(key, d.clone());
        Ok((cfg, d))
    }
}

fn timeframe_of(spec: &Value) -> Result<Timeframe> {
    let tf = spec.get("timeframe").and_then(Value::as_str).unwrap_or("");
    Timeframe::parse(tf)
        .ok_or_else(|| ResearchError::invalid(format!("timeframe: `{tf}` is not 5m or 1m")))
}

/// `data` limited to candles opened in `[from, to]` (1-minute truth: up to the end of the
/// last input candle).
fn cut(data: &PreparedData, from: i64, to: i64) -> PreparedData {
    let res = i64::from(data.history.resolution_secs.max(60));
    PreparedData {
        history: data.history.slice_time(from, to + 1),
        one_min: data.one_min.slice_time(from, to + res),
        source: data.source,
        warning: data.warning.clone(),
    }
}

fn assets(req: &DataRequest) -> Result<Vec<String>> {
    if req.days == Some(0) {
        return Err(ResearchError::invalid("data.days: must be at least 1"));
    }
    Ok(if req.assets.is_empty() {
        vec!["BTC".into()]
    } else {
        req.assets.iter().map(|a| a.to_uppercase()).collect()
    })
}

impl ExperimentRunner for ModelsRunner {
    fn list_blocks(&self) -> Vec<Value> {
        models::registry::blocks()
            .into_iter()
            .map(|c| c.to_json())
            .collect()
    }

    fn list_heads(&self) -> Vec<Value> {
        models::registry::heads()
            .into_iter()
            .map(|c| c.to_json())
            .collect()
    }

    fn list_presets(&self) -> Vec<PresetInfo> {
        models::presets::PRESETS
            .iter()
            .map(|p| {
                let choice = p.model(Timeframe::Low5m, None, None, 0);
                let tags = match choice {
                    ModelChoice::Baseline(_) => vec!["baseline".to_string()],
                    ModelChoice::Neural(_) => vec!["neural".to_string()],
                };
                let spec = spec_of(&choice, Timeframe::Low5m).unwrap_or(Value::Null);
                PresetInfo {
                    name: p.name.into(),
                    description: p.description.into(),
                    tags,
                    spec,
                }
            })
            .collect()
    }

    fn create(
        &self,
        blocks: &[String],
        head: &str,
        timeframe: &str,
        overrides: &Value,
    ) -> Result<Value> {
        let tf = Timeframe::parse(timeframe).ok_or_else(|| {
            ResearchError::invalid(format!("timeframe: `{timeframe}` is not 5m or 1m"))
        })?;
        let names: Vec<&str> = blocks.iter().map(String::as_str).collect();
        let mut spec = serde_json::to_value(ModelSpec::new(tf, &names, head))
            .map_err(|e| ResearchError::env(e.to_string()))?;
        merge(&mut spec, overrides);
        Ok(spec)
    }

    fn revision(&self) -> u32 {
        models::REVISION
    }

    fn normalise(&self, spec: &Value) -> Result<Value> {
        let tf = timeframe_of(spec)?;
        let eval = EvalOverrides::of(spec)?;
        let choice = self.choice(spec)?;
        let mut v = spec_of(&choice, tf)?;
        if let ModelChoice::Neural(s) = &choice {
            // Every hyperparameter written out, defaults included.
            let checked = s.validate()?;
            for (i, (_, r)) in checked.blocks.iter().enumerate() {
                v["blocks"][i]["params"] = r.to_json();
            }
            v["head"]["params"] = checked.head.1.to_json();
        }
        eval.write_into(&mut v)?;
        Ok(v)
    }

    fn validate(&self, spec: &Value) -> Validation {
        let mut v = Validation::default();
        match self.choice(spec) {
            Err(e) => v.errors.push(e.message),
            Ok(ModelChoice::Baseline(_)) => {
                v.valid = true;
                v.param_count = Some(0);
            }
            // Counted from the spec, never built: a huge spec costs nothing to validate.
            Ok(ModelChoice::Neural(s)) => match models::estimate::estimate(&s) {
                Ok(m) => {
                    v.valid = true;
                    v.param_count = Some(m.params);
                    if s.training.lr > 0.01 {
                        v.warnings
                            .push(format!("training.lr {} is high (> 0.01)", s.training.lr));
                    }
                    if m.params > 1_000_000 {
                        v.warnings
                            .push(format!("{} parameters: slow on CPU", m.params));
                    }
                    let cap = max_model_bytes();
                    if m.train_bytes > cap {
                        v.valid = false;
                        v.errors.push(format!(
                            "model too large: {} parameters, about {:.1} GB to train, over the \
                             {:.1} GB cap (SYNTH_CITY_MAX_MODEL_MB)",
                            m.params,
                            m.train_bytes as f64 / 1e9,
                            cap as f64 / 1e9
                        ));
                    }
                }
                Err(e) => v.errors.push(e.to_string()),
            },
        }
        v
    }

    fn describe(&self, spec: &Value) -> Result<Value> {
        let v = self.validate(spec);
        let norm = self.normalise(spec)?;
        Ok(json!({"spec": norm, "validation": v}))
    }

    fn shape(&self, spec: &Value) -> (Vec<String>, String) {
        if let Some(b) = spec.get("baseline").and_then(Value::as_str) {
            return (Vec::new(), format!("baseline:{b}"));
        }
        let blocks = spec["blocks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        (
            blocks,
            spec["head"]["name"].as_str().unwrap_or("").to_string(),
        )
    }

    fn timeframe(&self, spec: &Value) -> Result<String> {
        Ok(timeframe_of(spec)?.as_str().to_string())
    }

    fn resolve_data(&self, spec: &Value, data: &DataRequest) -> Result<ResolvedData> {
        let tf = timeframe_of(spec)?;
        let seed = spec["training"]["seed"].as_u64().unwrap_or(0);
        let assets = assets(data)?;
        let (mut start, mut end, mut synthetic) = (i64::MAX, i64::MIN, false);
        let mut loaded = Vec::with_capacity(assets.len());
        for a in &assets {
            loaded.push(self.data(a, tf, data, seed)?.1);
        }
        // With data.end / data.days every asset is cut to one common window: it ends at
        // data.end (default: the earliest last candle over the assets) and starts data.days
        // before it (default: at the first candle).
        let window = if data.end.is_some() || data.days.is_some() {
            let last = loaded
                .iter()
                .filter_map(|d| d.history.ts.last().copied())
                .min()
                .unwrap_or(i64::MIN);
            let to = data.end.map_or(last, |e| e.min(last));
            let from = data
                .days
                .map_or(i64::MIN, |d| to - i64::from(d) * 86_400 + 1);
            Some((from, to))
        } else {
            None
        };
        for (a, d) in assets.iter().zip(&loaded) {
            let d = match window {
                Some((from, to)) => cut(d, from, to),
                None => d.clone(),
            };
            let (Some(&s), Some(&e)) = (d.history.ts.first(), d.history.ts.last()) else {
                let within = window.map_or_else(String::new, |(f, t)| {
                    format!(" between {} and {t} (data.end / data.days)", f.max(0))
                });
                return Err(ResearchError::new(
                    crate::ErrorKind::DataMissing,
                    format!("no {a} {} history{within}", tf.as_str()),
                ));
            };
            start = start.min(s);
            end = end.max(e);
            synthetic |= d.history.provenance == market::Provenance::Synthetic;
        }
        Ok(ResolvedData {
            range: DataRange {
                assets,
                timeframe: tf.as_str().into(),
                start,
                end,
            },
            provenance: if synthetic {
                DataProvenance::Synthetic
            } else {
                DataProvenance::Real
            },
        })
    }

    fn run(&self, spec: &Value, data: &ResolvedData, seed: u64) -> Result<RunOutput> {
        let tf = timeframe_of(spec)?;
        let choice = self.choice(spec)?;
        let eval = EvalOverrides::of(spec)?;
        let req = DataRequest {
            assets: data.range.assets.clone(),
            allow_synthetic: data.provenance == DataProvenance::Synthetic,
            ..Default::default()
        };
        let mut out = RunOutput::default();
        let clock = std::time::Instant::now();
        let kind = match choice {
            ModelChoice::Baseline(_) => ModelKind::Baseline,
            ModelChoice::Neural(_) => ModelKind::Neural,
        };
        let mut manifest = ModelManifest::new(kind, tf.as_str());
        for (i, a) in data.range.assets.iter().enumerate() {
            let (mut cfg, prepared) =
                self.data(a, tf, &req, spec["training"]["seed"].as_u64().unwrap_or(0))?;
            // The resolved range (a no-op when it is the whole history).
            let prepared = cut(&prepared, data.range.start, data.range.end);
            cfg.model = choice.clone();
            cfg.device = self.device;
            cfg.eval.seed = seed;
            eval.apply(&mut cfg);
            let run = run_trained(&cfg, &prepared, &mut |fold, e| {
                if let Some(p) = &self.progress {
                    p(a, fold, e)
                }
            })?;
            let r = &run.result;
            if !r.model_crps.is_finite() {
                return Err(ResearchError::new(
                    crate::ErrorKind::TrainingDiverged,
                    format!("{a}: CRPS is not finite"),
                ));
            }
            out.timings.train_s += r.train_secs;
            out.extra.insert("param_count".into(), r.param_count as f64);
            out.extra
                .insert(format!("asset_weight_{}", r.asset), r.asset_weight);
            out.scores.push(AssetScore {
                asset: r.asset.clone(),
                timeframe: tf.as_str().into(),
                crps: r.model_crps,
                baseline_crps: Some(r.baseline_crps),
                per_interval: r.per_interval.clone(),
                prompts: r.n_prompts,
            });
            out.files.push((
                format!("result-{}.json", r.asset.to_lowercase()),
                serde_json::to_vec_pretty(&r).map_err(|e| ResearchError::env(e.to_string()))?,
            ));
            match run.model.weights()? {
                Some(w) => {
                    let name = ModelManifest::weights_name(i, &r.asset);
                    if i == 0 {
                        out.weights = Some(w);
                    } else {
                        out.files.push((name.clone(), w));
                    }
                    manifest.weights.insert(r.asset.clone(), name);
                }
                None => manifest.baseline = run.model.baseline_artifact(),
            }
            if let Some(s) = &run.sample {
                let name = ModelManifest::sample_name(&r.asset);
                let stored = StoredSample::new(s, SAMPLE_PATHS_KEPT);
                out.files.push((
                    name.clone(),
                    serde_json::to_vec(&stored).map_err(|e| ResearchError::env(e.to_string()))?,
                ));
                manifest.samples.insert(r.asset.clone(), name);
                if out.fan.is_none() {
                    let start = chrono::DateTime::from_timestamp(s.start_time, 0).map_or_else(
                        || s.start_time.to_string(),
                        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
                    );
                    out.fan = Some(FanData::from_paths(
                        &format!("{} {} {} — prompt {start}", r.model, r.asset, tf.as_str()),
                        &s.paths,
                        f64::from(s.time_increment) / 60.0,
                        &s.realised,
                    ));
                }
            }
        }
        out.files.push((
            MODEL_ARTIFACT.to_string(),
            serde_json::to_vec_pretty(&manifest).map_err(|e| ResearchError::env(e.to_string()))?,
        ));
        let total = clock.elapsed().as_secs_f64();
        out.ran_on = Some(format!("local {}", self.device.resolved_name()));
        out.timings = Timings {
            train_s: out.timings.train_s,
            eval_s: (total - out.timings.train_s).max(0.0),
            total_s: total,
        };
        Ok(out)
    }
}
