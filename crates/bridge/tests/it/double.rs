//! The test double of the engine: the bridge's tests of HTTP behaviour (auth, caps, sessions,
//! isolation, errors) run against this, not against training. It is the only engine double of
//! the bridge; the real engine is tested in `engine.rs` and `hardening.rs`.
//!
//! It keeps runs in memory, scores a spec with a made-up deterministic "CRPS" (no simulation, no
//! price data), serves a constant fake market and writes publish markers under
//! `<state>/stand-in/published/`. Its specs are flat: `model` (`gbm`, `student_t`,
//! `bootstrap`), `asset`, `timeframe`, `lookback`, `n_paths`, `windows`, `seed`; `create` takes
//! a `head` (the model) with `overrides`. It speaks the same typed seam as the engine.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bridge::types::{
    best_run, AgentCatalogue, BlockList, ChampionList, Component, CreateRequest, CreatedExperiment,
    DailyCandle, DailyHistory, EngineInfo, HeadList, PipelineOutcome, Preset, PresetList, Price,
    PublishRequest, Published, RunList, RunView, StageInfo, SweepOutcome, SweepRequest,
    ValidationReport,
};
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

/// The double. See the module docs. Pipelines (when `hold`) wait until released or stopped,
/// and the peak number of pipelines running at once is recorded.
pub struct Double {
    runs: Mutex<Vec<RunView>>,
    published_dir: PathBuf,
    /// Pipelines wait while this is set (or until stopped; at most 30 s).
    pub hold: AtomicBool,
    /// Pipelines running now.
    pub running: AtomicUsize,
    /// Most pipelines running at once.
    pub peak: AtomicUsize,
    /// When set, `history` answers this instead of the double's runs.
    pub history_override: Mutex<Option<Value>>,
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

impl Double {
    /// A double writing its publish markers under `state/stand-in/published`.
    pub fn new(state: &std::path::Path) -> Self {
        Self {
            runs: Mutex::new(Vec::new()),
            published_dir: state.join("stand-in/published"),
            hold: false.into(),
            running: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
            history_override: Mutex::new(None),
        }
    }

    /// Lets held pipelines go on.
    pub fn release(&self) {
        self.hold.store(false, Ordering::SeqCst);
    }

    /// Waits while `hold` is set; `Err` when stopped or held too long.
    fn held(&self, job: &Job) -> ApiResult<()> {
        let now = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let t0 = Instant::now();
        while self.hold.load(Ordering::SeqCst)
            && !job.cancelled()
            && t0.elapsed() < Duration::from_secs(30)
        {
            std::thread::sleep(Duration::from_millis(5));
        }
        self.running.fetch_sub(1, Ordering::SeqCst);
        if job.cancelled() {
            return Err(ApiError::conflict("stopped"));
        }
        if self.hold.load(Ordering::SeqCst) {
            return Err(ApiError::failed("held too long"));
        }
        Ok(())
    }

    fn runs(&self) -> std::sync::MutexGuard<'_, Vec<RunView>> {
        self.runs.lock().unwrap()
    }

    /// Records a run of `spec` for the job's bot; its score depends on the spec only.
    fn record(&self, job: &Job, spec: Value, source: &str) -> RunView {
        job.emit(
            "experiment.started",
            json!({"spec": spec, "source": source}),
        );
        let n = self.runs().len();
        let score = 1.0 + (spec.to_string().len() % 97) as f64 / 10.0;
        let windows: Vec<Value> = (0..spec["windows"].as_u64().unwrap_or(1))
            .map(|w| json!({"start_ts": w, "crps": score}))
            .collect();
        let text = |k: &str| spec[k].as_str().unwrap_or_default().to_string();
        let rec = RunView {
            id: format!("run-{n:04}-{}", job.bot_id),
            bot_id: Some(job.bot_id.clone()),
            source: source.into(),
            asset: text("asset"),
            timeframe: text("timeframe"),
            model: text("model"),
            status: "ok".into(),
            crps: Some(score),
            baseline_ratio: None,
            baseline_crps: None,
            created_at: format!("2026-01-01T00:00:{n:02}Z"),
            reused: None,
            detail: Map::from_iter([("windows".into(), json!(windows)), ("spec".into(), spec)]),
        };
        self.runs().push(rec.clone());
        job.emit("experiment.finished", json!({"id": rec.id, "crps": score}));
        rec
    }
}

impl Backend for Double {
    fn describe(&self) -> EngineInfo {
        EngineInfo {
            name: "test".into(),
            detail: None,
            registry: None,
            remote: None,
        }
    }
    fn blocks(&self) -> ApiResult<BlockList> {
        Ok(BlockList { blocks: vec![] })
    }
    fn heads(&self) -> ApiResult<HeadList> {
        let heads = MODELS
            .iter()
            .map(|m| Component {
                name: m.to_string(),
                detail: Map::new(),
            })
            .collect();
        Ok(HeadList { heads })
    }
    fn presets(&self) -> ApiResult<PresetList> {
        let presets = MODELS
            .iter()
            .flat_map(|m| {
                ["5m", "1m"].map(|tf| Preset {
                    name: format!("{m}_{tf}"),
                    description: String::new(),
                    tags: vec![],
                    spec: json!({"model": m, "timeframe": tf}),
                })
            })
            .collect();
        Ok(PresetList { presets })
    }
    fn create_experiment(&self, p: &CreateRequest) -> ApiResult<CreatedExperiment> {
        let mut spec = p.overrides.clone().unwrap_or_else(|| json!({}));
        if let Some(head) = &p.head {
            spec["model"] = head.clone();
        }
        if let Some(tf) = &p.timeframe {
            spec["timeframe"] = json!(tf);
        }
        let experiment = parse(&spec).map_err(invalid)?;
        Ok(CreatedExperiment {
            experiment,
            validation: None,
            estimate: None,
        })
    }
    fn validate_experiment(&self, spec: &Value) -> ApiResult<ValidationReport> {
        Ok(match parse(spec) {
            Ok(s) => ValidationReport {
                valid: true,
                param_count: Some(2),
                experiment: Some(s),
                ..ValidationReport::default()
            },
            Err(errors) => ValidationReport {
                errors,
                ..ValidationReport::default()
            },
        })
    }
    fn run_experiment(&self, job: &Job, spec: &Value) -> ApiResult<RunView> {
        Ok(self.record(job, parse(spec).map_err(invalid)?, "experiment"))
    }
    fn sweep(&self, job: &Job, req: &SweepRequest) -> ApiResult<SweepOutcome> {
        let mut specs = vec![req.base.clone().unwrap_or_else(|| json!({}))];
        let grid = req
            .grid
            .as_ref()
            .ok_or_else(|| ApiError::bad_request("sweep needs a grid"))?;
        for (field, values) in grid {
            let values = values.as_array().cloned().unwrap_or_default();
            specs = specs
                .iter()
                .flat_map(|s| {
                    values.iter().map(move |v| {
                        let mut s = s.clone();
                        s[field] = v.clone();
                        s
                    })
                })
                .collect();
        }
        let parsed: Vec<Value> = specs
            .iter()
            .map(parse)
            .collect::<Result<_, _>>()
            .map_err(invalid)?;
        let results: Vec<RunView> = parsed
            .into_iter()
            .map(|s| self.record(job, s, "sweep"))
            .collect();
        Ok(SweepOutcome {
            best: best_run(&results),
            combinations: results.len(),
            results,
            stopped: false,
        })
    }
    fn run_pipeline(&self, job: &Job, req: &PipelineRequest) -> ApiResult<PipelineOutcome> {
        self.held(job)?;
        let a = asset(req.asset.as_deref().unwrap_or("BTC"))?;
        job.emit("pipeline.stage", json!({"stage": "planner"}));
        job.emit("pipeline.stage", json!({"stage": "trainer"}));
        let mut results = Vec::new();
        for i in 0..req.max_experiments.unwrap_or(2).min(2) as usize {
            let spec = json!({"model": MODELS[i % MODELS.len()], "asset": a});
            results.push(self.record(job, parse(&spec).map_err(invalid)?, "pipeline"));
        }
        job.emit("pipeline.stage", json!({"stage": "checker"}));
        let best = best_run(&results);
        Ok(PipelineOutcome {
            success: best.is_some(),
            best_crps: best.as_ref().and_then(|b| b.crps),
            best,
            experiments: Some(results.len()),
            summary: Value::Null,
        })
    }
    fn history(&self, q: &HistoryQuery) -> ApiResult<RunList> {
        if let Some(v) = self.history_override.lock().unwrap().clone() {
            let runs: Vec<RunView> = serde_json::from_value(v["runs"].clone()).unwrap();
            return Ok(RunList {
                total: runs.len(),
                runs,
            });
        }
        let mut runs: Vec<RunView> = self
            .runs()
            .iter()
            .filter(|r| q.asset.as_deref().is_none_or(|a| r.asset == a))
            .filter(|r| q.timeframe.as_deref().is_none_or(|t| r.timeframe == t))
            .filter(|r| {
                q.bot
                    .as_deref()
                    .is_none_or(|b| r.bot_id.as_deref() == Some(b))
            })
            .cloned()
            .collect();
        let crps = RunView::crps_or_inf;
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
        Ok(RunList {
            total: runs.len(),
            runs,
        })
    }
    fn run_record(&self, id: &str) -> ApiResult<RunView> {
        self.runs()
            .iter()
            .find(|r| r.id == id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("no run {id:?}")))
    }
    fn champion(&self, a: Option<&str>, t: Option<&str>) -> ApiResult<ChampionList> {
        let runs = self.runs();
        let mut keys: Vec<(&str, &str)> = runs
            .iter()
            .map(|r| (r.asset.as_str(), r.timeframe.as_str()))
            .filter(|(x, y)| a.is_none_or(|a| a == *x) && t.is_none_or(|t| t == *y))
            .collect();
        keys.sort();
        keys.dedup();
        let champions = keys
            .iter()
            .filter_map(|(x, y)| {
                let group: Vec<RunView> = runs
                    .iter()
                    .filter(|r| r.asset == *x && r.timeframe == *y)
                    .cloned()
                    .collect();
                best_run(&group)
            })
            .collect();
        Ok(ChampionList { champions })
    }
    fn market_price(&self, a: &str) -> ApiResult<Price> {
        Ok(Price {
            asset: asset(a)?,
            price: 100.0,
            timestamp: 0,
            age_seconds: None,
            resolution_secs: None,
            source: None,
            provenance: "test double".into(),
        })
    }
    fn market_history(&self, a: &str, days: u32) -> ApiResult<DailyHistory> {
        let candles = (0..days.min(3))
            .map(|d| DailyCandle {
                t: i64::from(d) * 86_400,
                o: 100.0,
                h: 101.0,
                l: 99.0,
                c: 100.0,
            })
            .collect();
        Ok(DailyHistory {
            asset: asset(a)?,
            days,
            resolution: "1d".into(),
            source: None,
            provenance: None,
            candles,
        })
    }
    fn publish(&self, job: &Job, req: &PublishRequest) -> ApiResult<Published> {
        let id = &req.run_id;
        let rec = self.run_record(id)?;
        if rec.bot_id.as_deref() != Some(job.bot_id.as_str()) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("run {id} is another bot's"),
            ));
        }
        let path = self.published_dir.join(format!("{id}.json"));
        if path.exists() {
            return Err(ApiError::conflict(format!("run {id} is already published")));
        }
        std::fs::create_dir_all(&self.published_dir)
            .and_then(|_| std::fs::write(&path, serde_json::to_vec(&rec).unwrap()))
            .map_err(|e| ApiError::failed(e.to_string()))?;
        job.emit("run.published", json!({"id": id}));
        Ok(Published {
            status: "published".into(),
            id: id.clone(),
            published_at: None,
            champion_of: vec![],
            is_champion: false,
            provenance: None,
            target: "local".into(),
            remote_sync: None,
        })
    }
    fn agents(&self) -> ApiResult<AgentCatalogue> {
        let stages = ["planner", "trainer", "checker", "publisher"]
            .iter()
            .map(|s| StageInfo {
                name: s.to_string(),
                detail: Map::new(),
            })
            .collect();
        Ok(AgentCatalogue {
            agents: vec![],
            stages,
            brain: None,
            note: None,
        })
    }
}
