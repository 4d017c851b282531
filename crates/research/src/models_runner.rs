//! [`ExperimentRunner`] on the `models` crate: its block/head registry, presets (neural and
//! statistical baselines), spec validation and walk-forward experiments scored against the
//! reference GBM.
//!
//! A research spec is either a `models::spec::ModelSpec` JSON (neural) or
//! `{"baseline": "<name>", "timeframe": "5m"|"1m"}`.

use std::collections::HashMap;
use std::sync::Mutex;

use models::experiment::{prepare, run_on, ExperimentConfig, ModelChoice, PreparedData};
use models::spec::{ModelSpec, Timeframe};
use serde_json::{json, Value};

use crate::record::{AssetScore, DataProvenance, DataRange, Timings};
use crate::runner::{
    DataRequest, ExperimentRunner, PresetInfo, ResolvedData, RunOutput, Validation,
};
use crate::session::merge;
use crate::{ResearchError, Result};

/// The model layer of this workspace. Data prepared for the novelty check is reused by the run.
#[derive(Debug, Default)]
pub struct ModelsRunner {
    prepared: Mutex<HashMap<(String, String, bool, u64), PreparedData>>,
}

impl ModelsRunner {
    /// A runner with an empty data cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn choice(&self, spec: &Value) -> Result<ModelChoice> {
        if let Some(b) = spec.get("baseline") {
            let name = b
                .as_str()
                .ok_or_else(|| ResearchError::invalid("baseline: must be a name"))?;
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

fn assets(req: &DataRequest) -> Result<Vec<String>> {
    if req.end.is_some() || req.days.is_some() {
        return Err(ResearchError::invalid(
            "data.end / data.days are not supported yet: the whole history is used",
        ));
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
                let (tags, spec) = match p.model(Timeframe::Low5m, None, None, 0) {
                    ModelChoice::Baseline(b) => (
                        vec!["baseline".to_string()],
                        json!({"baseline": b, "timeframe": "5m"}),
                    ),
                    ModelChoice::Neural(s) => (
                        vec!["neural".to_string()],
                        serde_json::to_value(*s).unwrap_or(Value::Null),
                    ),
                };
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

    fn normalise(&self, spec: &Value) -> Result<Value> {
        let tf = timeframe_of(spec)?;
        match self.choice(spec)? {
            ModelChoice::Baseline(b) => Ok(json!({"baseline": b, "timeframe": tf.as_str()})),
            ModelChoice::Neural(s) => {
                let checked = s.validate()?;
                let mut v =
                    serde_json::to_value(&*s).map_err(|e| ResearchError::env(e.to_string()))?;
                for (i, (_, r)) in checked.blocks.iter().enumerate() {
                    v["blocks"][i]["params"] = r.to_json();
                }
                v["head"]["params"] = checked.head.1.to_json();
                Ok(v)
            }
        }
    }

    fn validate(&self, spec: &Value) -> Validation {
        let mut v = Validation::default();
        match self.choice(spec) {
            Err(e) => v.errors.push(e.message),
            Ok(ModelChoice::Baseline(_)) => {
                v.valid = true;
                v.param_count = Some(0);
            }
            Ok(ModelChoice::Neural(s)) => match models::neural::NeuralModel::new(*s.clone()) {
                Ok(m) => {
                    v.valid = true;
                    v.param_count = Some(m.n_params() as u64);
                    if s.training.lr > 0.01 {
                        v.warnings
                            .push(format!("training.lr {} is high (> 0.01)", s.training.lr));
                    }
                    if m.n_params() > 1_000_000 {
                        v.warnings
                            .push(format!("{} parameters: slow on CPU", m.n_params()));
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
        for a in &assets {
            let (_, d) = self.data(a, tf, data, seed)?;
            let (Some(&s), Some(&e)) = (d.history.ts.first(), d.history.ts.last()) else {
                return Err(ResearchError::new(
                    crate::ErrorKind::DataMissing,
                    format!("no {a} history"),
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
        let req = DataRequest {
            assets: data.range.assets.clone(),
            allow_synthetic: data.provenance == DataProvenance::Synthetic,
            ..Default::default()
        };
        let mut out = RunOutput::default();
        let clock = std::time::Instant::now();
        for a in &data.range.assets {
            let (mut cfg, prepared) =
                self.data(a, tf, &req, spec["training"]["seed"].as_u64().unwrap_or(0))?;
            cfg.model = choice.clone();
            cfg.eval.seed = seed;
            let r = run_on(&cfg, &prepared, &mut |_, _| {})?;
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
        }
        let total = clock.elapsed().as_secs_f64();
        out.timings = Timings {
            train_s: out.timings.train_s,
            eval_s: (total - out.timings.train_s).max(0.0),
            total_s: total,
        };
        Ok(out)
    }
}
