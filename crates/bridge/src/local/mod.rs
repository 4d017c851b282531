//! The built-in backend: statistical baselines on the real price history, a JSON registry and
//! a four-stage pipeline (plan, train, check, publish). It keeps the bridge fully usable
//! offline; the research and agents crates replace it behind the same [`Backend`] trait.

mod data;
mod registry;
mod sim;

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use crate::backend::{Backend, HistoryQuery, Job, PipelineRequest};
use crate::error::{ApiError, ApiResult};
use data::{canonical_asset, DataStore};
use registry::Registry;

pub use data::ASSETS;

/// The built-in backend. See the module docs.
pub struct LocalBackend {
    data: DataStore,
    registry: Registry,
    published_dir: PathBuf,
}

const TIMEFRAMES: [&str; 2] = ["5m", "1m"];

fn random_id(prefix: &str) -> String {
    let mut b = [0u8; 8];
    // Falls back to the clock if the OS source fails; ids need uniqueness, not secrecy.
    if getrandom::fill(&mut b).is_err() {
        b = (std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0) as u64)
            .to_le_bytes();
    }
    format!("{prefix}-{}", hex::encode(b))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A spec with every field filled in and checked.
struct Spec {
    model: String,
    asset: &'static str,
    timeframe: &'static str,
    lookback: usize,
    n_paths: usize,
    windows: usize,
    seed: u64,
}

impl Spec {
    fn to_json(&self) -> Value {
        json!({"model": self.model, "asset": self.asset, "timeframe": self.timeframe, "lookback": self.lookback,
               "n_paths": self.n_paths, "windows": self.windows, "seed": self.seed})
    }
}

const SPEC_FIELDS: [&str; 8] = [
    "model",
    "head",
    "asset",
    "timeframe",
    "lookback",
    "n_paths",
    "windows",
    "seed",
];

/// Parses a spec, collecting every problem rather than stopping at the first.
fn parse_spec(v: &Value) -> Result<Spec, Vec<String>> {
    let mut errs = Vec::new();
    let Some(obj) = v.as_object() else {
        return Err(vec!["experiment must be a JSON object".into()]);
    };
    for k in obj.keys() {
        if !SPEC_FIELDS.contains(&k.as_str()) {
            errs.push(format!(
                "unknown field {k:?} (fields: {})",
                SPEC_FIELDS.join(", ")
            ));
        }
    }
    let model = obj
        .get("model")
        .or_else(|| obj.get("head"))
        .and_then(Value::as_str)
        .unwrap_or("gbm")
        .to_string();
    if !sim::MODELS.iter().any(|(m, _)| *m == model) {
        errs.push(format!(
            "unknown model {model:?}; models: gbm, student_t, bootstrap"
        ));
    }
    let asset = match canonical_asset(obj.get("asset").and_then(Value::as_str).unwrap_or("BTC")) {
        Ok(a) => a,
        Err(e) => {
            errs.push(e.message);
            "BTC"
        }
    };
    let tf_in = obj.get("timeframe").and_then(Value::as_str).unwrap_or("5m");
    let timeframe = TIMEFRAMES
        .iter()
        .copied()
        .find(|t| *t == tf_in)
        .unwrap_or_else(|| {
            errs.push(format!("timeframe must be 5m or 1m, not {tf_in:?}"));
            "5m"
        });
    let mut int = |name: &str, default: u64, lo: u64, hi: u64| -> u64 {
        match obj.get(name) {
            None => default,
            Some(x) => match x.as_u64() {
                Some(n) if (lo..=hi).contains(&n) => n,
                _ => {
                    errs.push(format!("{name} must be an integer in {lo}..={hi}, got {x}"));
                    default
                }
            },
        }
    };
    let lookback = int("lookback", 288, 10, 20_000) as usize;
    let n_paths = int("n_paths", 100, 10, 1000) as usize;
    let windows = int("windows", 3, 1, 20) as usize;
    let seed = int("seed", 42, 0, u64::MAX);
    if errs.is_empty() {
        Ok(Spec {
            model,
            asset,
            timeframe,
            lookback,
            n_paths,
            windows,
            seed,
        })
    } else {
        Err(errs)
    }
}

impl LocalBackend {
    /// A backend keeping its registry under `state_dir` and reading price history from the
    /// first of `data_dirs` that has the file.
    pub fn new(state_dir: PathBuf, data_dirs: Vec<PathBuf>) -> ApiResult<Self> {
        Ok(Self {
            data: DataStore::new(data_dirs),
            registry: Registry::open(state_dir.join("registry.json"))?,
            published_dir: state_dir.join("published"),
        })
    }

    /// Evaluates `spec` on the last `windows` non-overlapping horizons of history.
    fn evaluate(&self, spec: &Spec) -> ApiResult<Value> {
        let s = self.data.series(spec.asset, spec.timeframe)?;
        let steps = if spec.timeframe == "1m" { 60 } else { 288 };
        let close = &s.close;
        let need = spec.lookback + 1 + steps * spec.windows;
        if close.len() < need {
            return Err(ApiError::unavailable(format!(
                "{} has {} candles; this spec needs {need}",
                s.file,
                close.len()
            )));
        }
        let mut rng = sim::Rng::new(spec.seed);
        let mut per_window = Vec::new();
        for w in 0..spec.windows {
            let start = close.len() - 1 - steps * (w + 1);
            let hist = &close[start - spec.lookback..=start];
            let rets: Vec<f64> = hist.windows(2).map(|p| (p[1] / p[0]).ln()).collect();
            let paths = sim::simulate(
                &spec.model,
                &rets,
                close[start],
                steps,
                spec.n_paths,
                &mut rng,
            );
            let realised = &close[start..=start + steps];
            per_window.push(json!({"start_ts": s.ts[start], "crps": sim::score(&paths, spec.n_paths, realised, spec.timeframe)}));
        }
        let mean = per_window
            .iter()
            .filter_map(|w| w["crps"].as_f64())
            .sum::<f64>()
            / spec.windows as f64;
        if !mean.is_finite() {
            return Err(ApiError::failed(
                "the score is not finite (degenerate history window)",
            ));
        }
        Ok(
            json!({"crps": mean, "windows": per_window, "data": {"file": s.file, "provenance": "real", "last_ts": s.ts.last()}}),
        )
    }

    fn run_spec(&self, job: &Job, spec: &Spec, source: &str) -> ApiResult<Value> {
        job.emit(
            "experiment.started",
            json!({"spec": spec.to_json(), "source": source}),
        );
        let scored = match self.evaluate(spec) {
            Ok(v) => v,
            Err(e) => {
                job.emit(
                    "experiment.failed",
                    json!({"spec": spec.to_json(), "error": e.message}),
                );
                return Err(e);
            }
        };
        let record = json!({
            "id": random_id("run"), "bot_id": job.bot_id, "source": source, "created_at": now(),
            "status": "completed", "engine": "bridge stand-in (statistical baselines)",
            "asset": spec.asset, "timeframe": spec.timeframe, "model": spec.model, "spec": spec.to_json(),
            "crps": scored["crps"], "windows": scored["windows"], "data": scored["data"],
        });
        self.registry.add(record.clone())?;
        job.emit(
            "experiment.finished",
            json!({"id": record["id"], "crps": record["crps"], "model": spec.model}),
        );
        Ok(record)
    }
}

fn invalid(errs: Vec<String>) -> ApiError {
    ApiError::invalid(format!("invalid experiment: {}", errs.join("; ")))
}

impl Backend for LocalBackend {
    fn describe(&self) -> Value {
        json!({"name": "stand-in", "detail": "statistical baselines on local real price history"})
    }

    fn blocks(&self) -> ApiResult<Value> {
        Ok(
            json!({"blocks": [], "note": "the stand-in backend has no neural blocks; every spec is a head (model) alone"}),
        )
    }

    fn heads(&self) -> ApiResult<Value> {
        let heads: Vec<Value> = sim::MODELS
            .iter()
            .map(|(n, d)| json!({"name": n, "description": d}))
            .collect();
        Ok(json!({"heads": heads}))
    }

    fn presets(&self) -> ApiResult<Value> {
        let mut presets = Vec::new();
        for (model, _) in sim::MODELS {
            for tf in TIMEFRAMES {
                let lookback = if tf == "5m" { 288 } else { 360 };
                presets.push(json!({"name": format!("{model}_{tf}"),
                    "spec": {"model": model, "asset": "BTC", "timeframe": tf, "lookback": lookback, "n_paths": 100}}));
            }
        }
        Ok(json!({"presets": presets}))
    }

    fn create_experiment(&self, params: &Value) -> ApiResult<Value> {
        parse_spec(params)
            .map(|s| json!({"experiment": s.to_json()}))
            .map_err(invalid)
    }

    fn validate_experiment(&self, spec: &Value) -> ApiResult<Value> {
        Ok(match parse_spec(spec) {
            Ok(s) => {
                json!({"valid": true, "errors": [], "warnings": [], "param_count": 2, "experiment": s.to_json()})
            }
            Err(errs) => json!({"valid": false, "errors": errs, "warnings": [], "param_count": 0}),
        })
    }

    fn run_experiment(&self, job: &Job, spec: &Value) -> ApiResult<Value> {
        let spec = parse_spec(spec).map_err(invalid)?;
        self.run_spec(job, &spec, "experiment")
    }

    fn sweep(&self, job: &Job, body: &Value) -> ApiResult<Value> {
        let base = body.get("base").cloned().unwrap_or_else(|| json!({}));
        let grid = body.get("grid").and_then(Value::as_object).ok_or_else(|| {
            ApiError::bad_request(
                "sweep needs {\"base\": {...}, \"grid\": {\"field\": [values...]}}",
            )
        })?;
        let mut specs: Vec<Value> = vec![base];
        for (field, values) in grid {
            let values = values.as_array().filter(|v| !v.is_empty()).ok_or_else(|| {
                ApiError::bad_request(format!("grid.{field} must be a non-empty list"))
            })?;
            specs = specs
                .iter()
                .flat_map(|s| {
                    values.iter().map(move |v| {
                        let mut o: Map<String, Value> = s.as_object().cloned().unwrap_or_default();
                        o.insert(field.clone(), v.clone());
                        Value::Object(o)
                    })
                })
                .collect();
            if specs.len() > 50 {
                return Err(ApiError::bad_request(
                    "a sweep may have at most 50 combinations",
                ));
            }
        }
        let parsed: Vec<Spec> = specs
            .iter()
            .map(parse_spec)
            .collect::<Result<_, _>>()
            .map_err(invalid)?;
        let mut results = Vec::new();
        for spec in &parsed {
            if job.cancelled() {
                break;
            }
            results.push(self.run_spec(job, spec, "sweep")?);
        }
        let best = results
            .iter()
            .min_by(|a, b| {
                a["crps"]
                    .as_f64()
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b["crps"].as_f64().unwrap_or(f64::INFINITY))
            })
            .cloned();
        Ok(json!({"results": results, "best": best, "combinations": parsed.len()}))
    }

    fn run_pipeline(&self, job: &Job, req: &PipelineRequest) -> ApiResult<Value> {
        let asset = canonical_asset(req.asset.as_deref().unwrap_or("BTC"))?;
        let tf = req.timeframe.as_deref().unwrap_or("5m");
        let tf = TIMEFRAMES
            .iter()
            .copied()
            .find(|t| *t == tf)
            .ok_or_else(|| ApiError::bad_request("timeframe must be 5m or 1m"))?;
        let max = req
            .max_experiments
            .unwrap_or(crate::backend::DEFAULT_MAX_EXPERIMENTS) as usize;
        job.emit("pipeline.stage", json!({"stage": "planner"}));
        let lookbacks: &[usize] = if tf == "5m" {
            &[288, 1152, 72]
        } else {
            &[360, 60, 1440]
        };
        let mut plan = Vec::new();
        for lb in lookbacks {
            for (m, _) in sim::MODELS {
                plan.push(Spec {
                    model: m.to_string(),
                    asset,
                    timeframe: tf,
                    lookback: *lb,
                    n_paths: 100,
                    windows: 3,
                    seed: 42,
                });
            }
        }
        plan.truncate(max);
        job.emit(
            "pipeline.stage",
            json!({"stage": "trainer", "planned": plan.len()}),
        );
        let mut results = Vec::new();
        for spec in &plan {
            if job.cancelled() {
                return Err(ApiError::conflict("pipeline stopped on request"));
            }
            results.push(self.run_spec(job, spec, "pipeline")?);
        }
        job.emit("pipeline.stage", json!({"stage": "checker"}));
        let best = results
            .iter()
            .min_by(|a, b| {
                a["crps"]
                    .as_f64()
                    .unwrap_or(f64::INFINITY)
                    .total_cmp(&b["crps"].as_f64().unwrap_or(f64::INFINITY))
            })
            .cloned()
            .ok_or_else(|| ApiError::failed("the pipeline ran no experiment"))?;
        let champion = self.champion(Some(asset), Some(tf))?;
        let is_champion = champion["champions"][0]["id"] == best["id"];
        let mut published = Value::Null;
        if req.publish {
            job.emit("pipeline.stage", json!({"stage": "publisher"}));
            published = self.publish(job, best["id"].as_str().unwrap_or_default(), &json!({}))?;
        }
        Ok(
            json!({"best": best, "experiments": results.len(), "is_champion": is_champion, "published": published}),
        )
    }

    fn history(&self, q: &HistoryQuery) -> ApiResult<Value> {
        let runs = self.registry.query(q)?;
        Ok(json!({"total": runs.len(), "runs": runs}))
    }

    fn run_record(&self, id: &str) -> ApiResult<Value> {
        self.registry.get(id)
    }

    fn champion(&self, asset: Option<&str>, timeframe: Option<&str>) -> ApiResult<Value> {
        let asset = asset.map(canonical_asset).transpose()?;
        let champions: Vec<Value> = self
            .registry
            .champions()
            .into_iter()
            .filter(|c| {
                asset.is_none_or(|a| c["asset"] == a)
                    && timeframe.is_none_or(|t| c["timeframe"] == t)
            })
            .collect();
        Ok(json!({"champions": champions}))
    }

    fn market_price(&self, asset: &str) -> ApiResult<Value> {
        let asset = canonical_asset(asset)?;
        let s = self
            .data
            .series(asset, "1m")
            .or_else(|_| self.data.series(asset, "5m"))?;
        let i = s.close.len() - 1;
        let age = chrono::Utc::now().timestamp() - s.ts[i];
        Ok(
            json!({"asset": asset, "price": s.close[i], "timestamp": s.ts[i], "age_seconds": age,
                  "source": s.file, "provenance": "real", "note": "last close of the local history file (offline)"}),
        )
    }

    fn market_history(&self, asset: &str, days: u32) -> ApiResult<Value> {
        let asset = canonical_asset(asset)?;
        let s = self.data.series(asset, "5m")?;
        let last = *s.ts.last().unwrap_or(&0);
        let from = (last / 86_400 - i64::from(days) + 1) * 86_400;
        let mut candles: Vec<Value> = Vec::new();
        for i in s.ts.partition_point(|t| *t < from)..s.ts.len() {
            let day = s.ts[i] / 86_400 * 86_400;
            match candles.last_mut() {
                Some(c) if c["t"] == day => {
                    c["h"] = json!(c["h"].as_f64().unwrap_or(s.high[i]).max(s.high[i]));
                    c["l"] = json!(c["l"].as_f64().unwrap_or(s.low[i]).min(s.low[i]));
                    c["c"] = json!(s.close[i]);
                }
                _ => candles.push(json!({"t": day, "o": s.open[i], "h": s.high[i], "l": s.low[i], "c": s.close[i]})),
            }
        }
        Ok(
            json!({"asset": asset, "days": days, "resolution": "1d", "source": s.file, "provenance": "real", "candles": candles}),
        )
    }

    fn publish(&self, job: &Job, run_id: &str, _options: &Value) -> ApiResult<Value> {
        let rec = self.registry.get(run_id)?;
        if rec["bot_id"] != job.bot_id.as_str() {
            return Err(ApiError::new(
                crate::ErrorKind::Forbidden,
                format!("run {run_id} was produced by another bot"),
            ));
        }
        std::fs::create_dir_all(&self.published_dir)
            .map_err(|e| ApiError::failed(format!("publish dir: {e}")))?;
        if !rec["published_at"].is_null() {
            return Err(ApiError::conflict(format!(
                "run {run_id} is already published"
            )));
        }
        let when = now();
        let rec = self
            .registry
            .update(run_id, |r| r["published_at"] = json!(when))?;
        let bytes = serde_json::to_vec_pretty(&rec).map_err(|e| ApiError::failed(e.to_string()))?;
        crate::workspace::write_atomic(&self.published_dir.join(format!("{run_id}.json")), &bytes)
            .map_err(|e| ApiError::failed(format!("cannot publish: {e}")))?;
        job.emit("run.published", json!({"id": run_id}));
        Ok(
            json!({"status": "published", "id": run_id, "published_at": rec["published_at"], "target": "local"}),
        )
    }

    fn agents(&self) -> ApiResult<Value> {
        Ok(json!({
            "stages": [
                {"name": "planner", "does": "plans models x lookbacks for the asset and timeframe"},
                {"name": "trainer", "does": "runs each planned experiment on real history"},
                {"name": "checker", "does": "picks the best run and compares it with the champion"},
                {"name": "publisher", "does": "publishes the best run when publish=true"}],
            "tools": ["create_experiment", "validate_experiment", "run_experiment", "sweep", "history", "champion", "publish"],
            "note": "read-only: the bridge never accepts agent, prompt or component code"
        }))
    }
}
