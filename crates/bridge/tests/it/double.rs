//! The test double of the engine: the bridge's tests of HTTP behaviour (auth, caps, sessions,
//! isolation, errors) run against this, not against training. It is the only engine double of
//! the bridge; the real engine is tested in `engine.rs` and `hardening.rs`.
//!
//! It keeps runs in memory, scores a spec with a made-up deterministic "CRPS" (no simulation, no
//! price data), serves a constant fake market and writes publish markers under
//! `<state>/stand-in/published/`. Its specs are flat: `model` (`gbm`, `student_t`,
//! `bootstrap`), `asset`, `timeframe`, `lookback`, `n_paths`, `windows`, `seed`.

use std::path::PathBuf;
use std::sync::Mutex;

use bridge::{ApiError, ApiResult, Backend, ErrorKind, HistoryQuery, Job, PipelineRequest};
use serde_json::{json, Map, Value};

const MODELS: [&str; 3] = ["gbm", "student_t", "bootstrap"];
const ASSETS: [&str; 5] = ["BTC", "ETH", "SOL", "XAU", "GOOGLX"];
const FIELDS: [&str; 7] = [
    "model",
    "asset",
    "timeframe",
    "lookback",
    "n_paths",
    "windows",
    "seed",
];

/// The double. See the module docs.
pub struct Double {
    runs: Mutex<Vec<Value>>,
    published_dir: PathBuf,
}

fn asset(a: &str) -> ApiResult<String> {
    let up = a.to_ascii_uppercase();
    ASSETS
        .contains(&up.as_str())
        .then_some(up)
        .ok_or_else(|| ApiError::bad_request(format!("unknown asset {a:?}")))
}

/// The spec with defaults filled in, or every problem found.
fn parse(v: &Value) -> Result<Value, Vec<String>> {
    let Some(o) = v.as_object() else {
        return Err(vec!["experiment must be a JSON object".into()]);
    };
    let mut errs: Vec<String> = o
        .keys()
        .filter(|k| !FIELDS.contains(&k.as_str()))
        .map(|k| format!("unknown field {k:?}"))
        .collect();
    let text = |k: &str, d: &str| o.get(k).and_then(Value::as_str).unwrap_or(d).to_string();
    let model = text("model", "gbm");
    if !MODELS.contains(&model.as_str()) {
        errs.push(format!("unknown model {model:?}"));
    }
    let a = asset(&text("asset", "BTC")).unwrap_or_else(|e| {
        errs.push(e.message);
        "BTC".into()
    });
    let tf = text("timeframe", "5m");
    if tf != "5m" && tf != "1m" {
        errs.push(format!("timeframe must be 5m or 1m, not {tf:?}"));
    }
    let mut int = |k: &str, d: u64, lo: u64, hi: u64| match o.get(k) {
        None => d,
        Some(x) => x
            .as_u64()
            .filter(|n| (lo..=hi).contains(n))
            .unwrap_or_else(|| {
                errs.push(format!("{k} must be an integer in {lo}..={hi}, got {x}"));
                d
            }),
    };
    let spec = json!({"model": model, "asset": a, "timeframe": tf,
        "lookback": int("lookback", 288, 10, 20_000), "n_paths": int("n_paths", 100, 10, 1000),
        "windows": int("windows", 3, 1, 20), "seed": int("seed", 42, 0, u64::MAX)});
    errs.is_empty().then_some(spec).ok_or(errs)
}

fn invalid(errs: Vec<String>) -> ApiError {
    ApiError::invalid(format!("invalid experiment: {}", errs.join("; ")))
}

fn crps(v: &Value) -> f64 {
    v["crps"].as_f64().unwrap_or(f64::INFINITY)
}

fn best(runs: &[Value]) -> Option<Value> {
    runs.iter()
        .min_by(|a, b| crps(a).total_cmp(&crps(b)))
        .cloned()
}

impl Double {
    /// A double writing its publish markers under `state/stand-in/published`.
    pub fn new(state: &std::path::Path) -> Self {
        Self {
            runs: Mutex::new(Vec::new()),
            published_dir: state.join("stand-in/published"),
        }
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.runs.lock().unwrap()
    }

    /// Records a run of `spec` for the job's bot; its score depends on the spec only.
    fn record(&self, job: &Job, spec: Value, source: &str) -> Value {
        job.emit(
            "experiment.started",
            json!({"spec": spec, "source": source}),
        );
        let n = self.runs().len();
        let score = 1.0 + (spec.to_string().len() % 97) as f64 / 10.0;
        let windows: Vec<Value> = (0..spec["windows"].as_u64().unwrap_or(1))
            .map(|w| json!({"start_ts": w, "crps": score}))
            .collect();
        let rec = json!({"id": format!("run-{n:04}-{}", job.bot_id), "bot_id": job.bot_id,
            "source": source, "status": "completed", "asset": spec["asset"],
            "timeframe": spec["timeframe"], "model": spec["model"], "crps": score,
            "windows": windows, "spec": spec, "created_at": format!("2026-01-01T00:00:{n:02}Z")});
        self.runs().push(rec.clone());
        job.emit(
            "experiment.finished",
            json!({"id": rec["id"], "crps": score}),
        );
        rec
    }
}

impl Backend for Double {
    fn describe(&self) -> Value {
        json!({"name": "test double"})
    }
    fn blocks(&self) -> ApiResult<Value> {
        Ok(json!({"blocks": []}))
    }
    fn heads(&self) -> ApiResult<Value> {
        let heads: Vec<Value> = MODELS.iter().map(|m| json!({"name": m})).collect();
        Ok(json!({"heads": heads}))
    }
    fn presets(&self) -> ApiResult<Value> {
        let presets: Vec<Value> = MODELS
            .iter()
            .flat_map(|m| ["5m", "1m"].map(|tf| json!({"name": format!("{m}_{tf}"), "spec": {"model": m, "timeframe": tf}})))
            .collect();
        Ok(json!({"presets": presets}))
    }
    fn create_experiment(&self, params: &Value) -> ApiResult<Value> {
        parse(params)
            .map(|s| json!({"experiment": s}))
            .map_err(invalid)
    }
    fn validate_experiment(&self, spec: &Value) -> ApiResult<Value> {
        Ok(match parse(spec) {
            Ok(s) => {
                json!({"valid": true, "errors": [], "warnings": [], "param_count": 2, "experiment": s})
            }
            Err(e) => json!({"valid": false, "errors": e, "warnings": [], "param_count": 0}),
        })
    }
    fn run_experiment(&self, job: &Job, spec: &Value) -> ApiResult<Value> {
        Ok(self.record(job, parse(spec).map_err(invalid)?, "experiment"))
    }
    fn sweep(&self, job: &Job, body: &Value) -> ApiResult<Value> {
        let mut specs = vec![body.get("base").cloned().unwrap_or_else(|| json!({}))];
        let grid = body["grid"]
            .as_object()
            .ok_or_else(|| ApiError::bad_request("sweep needs a grid"))?;
        for (field, values) in grid {
            let values = values.as_array().cloned().unwrap_or_default();
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
        }
        let parsed: Vec<Value> = specs
            .iter()
            .map(parse)
            .collect::<Result<_, _>>()
            .map_err(invalid)?;
        let results: Vec<Value> = parsed
            .into_iter()
            .map(|s| self.record(job, s, "sweep"))
            .collect();
        Ok(json!({"best": best(&results), "combinations": results.len(), "results": results}))
    }
    fn run_pipeline(&self, job: &Job, req: &PipelineRequest) -> ApiResult<Value> {
        let a = asset(req.asset.as_deref().unwrap_or("BTC"))?;
        let n = req.max_experiments.unwrap_or(2);
        job.emit("pipeline.stage", json!({"stage": "planner"}));
        job.emit("pipeline.stage", json!({"stage": "trainer"}));
        let mut results = Vec::new();
        for i in 0..n as usize {
            let spec = json!({"model": MODELS[i % MODELS.len()], "asset": a});
            results.push(self.record(job, parse(&spec).map_err(invalid)?, "pipeline"));
        }
        job.emit("pipeline.stage", json!({"stage": "checker"}));
        Ok(json!({"best": best(&results), "experiments": results.len()}))
    }
    fn history(&self, q: &HistoryQuery) -> ApiResult<Value> {
        let mut runs: Vec<Value> = self
            .runs()
            .iter()
            .filter(|r| q.asset.as_deref().is_none_or(|a| r["asset"] == a))
            .filter(|r| q.timeframe.as_deref().is_none_or(|t| r["timeframe"] == t))
            .filter(|r| q.bot.as_deref().is_none_or(|b| r["bot_id"] == b))
            .cloned()
            .collect();
        match q.order.as_deref().unwrap_or("best") {
            "best" => runs.sort_by(|a, b| crps(a).total_cmp(&crps(b))),
            "worst" => runs.sort_by(|a, b| crps(b).total_cmp(&crps(a))),
            "recent" => runs.reverse(),
            o => {
                return Err(ApiError::bad_request(format!(
                    "order must be best, recent or worst, not {o:?}"
                )))
            }
        }
        runs.truncate(q.limit.unwrap_or(50));
        Ok(json!({"total": runs.len(), "runs": runs}))
    }
    fn run_record(&self, id: &str) -> ApiResult<Value> {
        self.runs()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("no run {id:?}")))
    }
    fn champion(&self, a: Option<&str>, t: Option<&str>) -> ApiResult<Value> {
        let runs = self.runs();
        let mut keys: Vec<(String, String)> = runs
            .iter()
            .map(|r| {
                (
                    r["asset"].as_str().unwrap_or("").into(),
                    r["timeframe"].as_str().unwrap_or("").into(),
                )
            })
            .filter(|(x, y): &(String, String)| {
                a.is_none_or(|a| a == x) && t.is_none_or(|t| t == y)
            })
            .collect();
        keys.sort();
        keys.dedup();
        let champions: Vec<Value> = keys
            .iter()
            .filter_map(|(x, y)| {
                best(
                    &runs
                        .iter()
                        .filter(|r| r["asset"] == **x && r["timeframe"] == **y)
                        .cloned()
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        Ok(json!({"champions": champions}))
    }
    fn market_price(&self, a: &str) -> ApiResult<Value> {
        Ok(json!({"asset": asset(a)?, "price": 100.0, "timestamp": 0, "provenance": "test double"}))
    }
    fn market_history(&self, a: &str, days: u32) -> ApiResult<Value> {
        let candles: Vec<Value> = (0..days.min(3))
            .map(|d| json!({"t": d * 86_400, "o": 100.0, "h": 101.0, "l": 99.0, "c": 100.0}))
            .collect();
        Ok(json!({"asset": asset(a)?, "days": days, "resolution": "1d", "candles": candles}))
    }
    fn publish(&self, job: &Job, run_id: &str, _options: &Value) -> ApiResult<Value> {
        let rec = self.run_record(run_id)?;
        if rec["bot_id"] != job.bot_id.as_str() {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("run {run_id} is another bot's"),
            ));
        }
        let path = self.published_dir.join(format!("{run_id}.json"));
        if path.exists() {
            return Err(ApiError::conflict(format!(
                "run {run_id} is already published"
            )));
        }
        std::fs::create_dir_all(&self.published_dir)
            .and_then(|_| std::fs::write(&path, rec.to_string()))
            .map_err(|e| ApiError::failed(e.to_string()))?;
        job.emit("run.published", json!({"id": run_id}));
        Ok(json!({"status": "published", "id": run_id, "target": "local"}))
    }
    fn agents(&self) -> ApiResult<Value> {
        let stages: Vec<Value> = ["planner", "trainer", "checker", "publisher"]
            .iter()
            .map(|s| json!({"name": s}))
            .collect();
        Ok(json!({"stages": stages}))
    }
}
