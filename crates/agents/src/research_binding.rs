//! The backend `synth-city pipeline` uses: the research crate's `ResearchSession` over the
//! models crate (`research::ModelsRunner`), storing into the default archive (registry +
//! artifacts under the data directory). Planner specs `{asset, timeframe, blocks, head,
//! d_model, lr, epochs, seed}` are turned into model specs with `ResearchSession::create`, and
//! registry records are turned back into planner specs so fingerprints match across loops.

use std::sync::{Arc, Mutex};

use research::{
    Archive, DataRequest, ExperimentRunner, HistoryOrder, HistoryQuery, ModelsRunner, Requester,
    ResearchSession, RunRequest, RunStatus,
};
use serde_json::{json, Value};

use crate::backend::{
    BatchProgress, Catalog, Component, PlannerRun, PlannerSpec, Progress, ResearchBackend,
    SharedResearch, Validation,
};
use crate::tools::ToolError;

/// The research binding over the default archive (registry and artifacts under the data
/// directory), runs tagged as requested by `pipeline`, with at most `max_windows` training
/// windows per experiment whose spec sets none (0 = all; usually [`DEFAULT_MAX_WINDOWS`]).
pub fn open_default(max_windows: usize) -> Result<SharedResearch, String> {
    open_default_on(max_windows, Arc::new(ModelsRunner::new()))
}

/// [`open_default`] with experiments run by `runner` (e.g. the worker pool that
/// `SYNTH_CITY_WORKERS` names: `worker::runner_from_env`).
pub fn open_default_on(
    max_windows: usize,
    runner: Arc<dyn ExperimentRunner>,
) -> Result<SharedResearch, String> {
    let archive =
        Archive::open_default().map_err(|e| format!("opening the research archive: {e}"))?;
    Ok(Arc::new(
        ResearchBinding::on(Arc::new(archive), "pipeline", runner).with_max_windows(max_windows),
    ))
}

/// Training windows per experiment when neither the planner's spec nor the caller sets a cap:
/// the most recent 1,024 (about six weeks of hourly LOW windows), which keeps one pipeline loop
/// to minutes on a laptop CPU. Full-history training is `with_max_windows(0)`.
pub const DEFAULT_MAX_WINDOWS: usize = 1024;

/// [`ResearchBackend`] on a `research::ResearchSession`.
pub struct ResearchBinding {
    session: Mutex<ResearchSession>,
    archive: Arc<Archive>,
    runner: Arc<dyn ExperimentRunner>,
    max_windows: usize,
}

impl ResearchBinding {
    /// A binding storing into `archive`, runs tagged as requested by pipeline `label`.
    pub fn new(archive: Arc<Archive>, label: &str) -> Self {
        Self::on(archive, label, Arc::new(ModelsRunner::new()))
    }

    /// A binding whose experiments are trained by `runner` (this machine's `ModelsRunner`,
    /// or a pool of remote workers); results are still recorded in `archive`, once.
    pub fn on(archive: Arc<Archive>, label: &str, runner: Arc<dyn ExperimentRunner>) -> Self {
        let session = ResearchSession::new(
            archive.clone(),
            runner.clone(),
            Requester::Pipeline(label.to_string()),
        );
        Self {
            session: Mutex::new(session),
            archive,
            runner,
            max_windows: DEFAULT_MAX_WINDOWS,
        }
    }

    /// Caps the training windows of every experiment whose spec does not set
    /// `max_windows` (0 = the whole history).
    pub fn with_max_windows(mut self, max_windows: usize) -> Self {
        self.max_windows = max_windows;
        self
    }

    fn session(&self) -> std::sync::MutexGuard<'_, ResearchSession> {
        self.session.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The models spec of a planner spec (the research session fills in the defaults).
    fn model_spec(&self, spec: &PlannerSpec) -> Result<Value, ToolError> {
        // A statistical model (a baseline or a stored script): the session embeds a script's
        // source for its requester when it runs it.
        if let Some(b) = spec.baseline.as_deref().filter(|b| !b.is_empty()) {
            let s = self.session();
            let v = json!({"baseline": b, "timeframe": spec.timeframe_or_default()});
            return s.embed_components(&v).map_err(to_tool);
        }
        // Python names (TransformerBlock, GBMHead, …) are accepted as aliases.
        let blocks: Vec<String> = spec
            .blocks
            .iter()
            .map(|n| {
                models::aliases::canonical_block(n)
                    .map(str::to_string)
                    .map_err(ToolError::invalid)
            })
            .collect::<Result<_, _>>()?;
        if spec.head.is_empty() {
            return Err(ToolError::invalid("experiment.head: required"));
        }
        let head = models::aliases::canonical_head(&spec.head).map_err(ToolError::invalid)?;
        let mut training = json!({
            "max_windows": spec.max_windows.unwrap_or(self.max_windows as u64),
        });
        if let Some(lr) = spec.lr {
            training["lr"] = json!(lr);
        }
        if let Some(e) = spec.epochs {
            training["epochs"] = json!(e);
        }
        if let Some(seed) = spec.seed {
            training["seed"] = json!(seed);
        }
        if let Some(c) = spec.clip_norm {
            training["clip_norm"] = json!(c);
        }
        let mut overrides = json!({"training": training});
        if let Some(d) = spec.d_model {
            overrides["d_model"] = json!(d);
        }
        self.session()
            .create(&blocks, head, spec.timeframe_or_default(), &overrides)
            .map_err(to_tool)
    }
}

fn to_tool(e: research::ResearchError) -> ToolError {
    match e.kind {
        research::ErrorKind::InvalidConfig => ToolError::invalid(e.message),
        research::ErrorKind::Environment => ToolError::environment(e.message),
        _ => ToolError::failed(format!("{}: {}", e.kind.as_str(), e.message)),
    }
}

/// A registry record as the planner sees it.
fn convert(r: &research::RunRecord) -> PlannerRun {
    let training = r.spec.get("training").cloned().unwrap_or(Value::Null);
    let baseline = r
        .spec
        .get("baseline")
        .and_then(Value::as_str)
        .map(str::to_string);
    let spec = PlannerSpec {
        baseline: baseline.clone(),
        asset: Some(r.data.assets.first().cloned().unwrap_or_default()),
        timeframe: Some(r.data.timeframe.clone()),
        blocks: if baseline.is_some() {
            Vec::new()
        } else {
            r.blocks.clone()
        },
        head: if baseline.is_some() {
            String::new()
        } else {
            r.head.clone()
        },
        d_model: r.spec.get("d_model").and_then(Value::as_u64),
        lr: training.get("lr").and_then(Value::as_f64),
        epochs: training.get("epochs").and_then(Value::as_u64),
        seed: Some(r.seed),
        // Only a clip the planner chose (the default, 1.0, is left out as planner specs do).
        clip_norm: training
            .get("clip_norm")
            .and_then(Value::as_f64)
            .filter(|c| (c - 1.0).abs() > 1e-12),
        max_windows: None,
        name: None,
    };
    let weights = r
        .artifacts
        .iter()
        .find(|a| a.name.ends_with(".safetensors"))
        .map(|a| a.key.clone());
    PlannerRun {
        run_id: r.run_id.clone(),
        name: r.name.clone(),
        fingerprint: spec.fingerprint(),
        spec,
        status: if r.status == RunStatus::Ok {
            "ok".into()
        } else {
            "error".into()
        },
        crps: r.crps,
        baseline_crps: r.baseline_ratio.zip(r.crps).map(|(ratio, c)| c / ratio),
        param_count: r.extra.get("param_count").map(|p| *p as u64),
        train_secs: Some(r.timings.total_s),
        error: r.error.as_ref().map(|e| e.message.clone()),
        weights,
        synthetic_data: r.provenance != research::DataProvenance::Real,
    }
}

fn component(v: &Value) -> Option<Component> {
    let name = v.get("name")?.as_str()?.to_string();
    let description = ["description", "doc", "summary"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .to_string();
    Some(Component { name, description })
}

impl ResearchBackend for ResearchBinding {
    fn save_pipeline_run(&self, run_id: &str, summary: &Value) -> Result<(), ToolError> {
        crate::saved::save(&self.archive, run_id, summary)
            .map(|_| ())
            .map_err(to_tool)
    }
    fn catalog(&self) -> Result<Catalog, ToolError> {
        let s = self.session();
        Ok(Catalog {
            blocks: s.list_blocks().iter().filter_map(component).collect(),
            heads: s.list_heads().iter().filter_map(component).collect(),
            presets: s
                .list_presets()
                .into_iter()
                .filter_map(|p| serde_json::to_value(p).ok())
                .collect(),
        })
    }

    fn validate(&self, spec: &PlannerSpec) -> Result<Validation, ToolError> {
        let model = match self.model_spec(spec) {
            Ok(m) => m,
            Err(e) => {
                return Ok(Validation {
                    valid: false,
                    errors: vec![e.message],
                    warnings: vec![],
                    param_count: None,
                })
            }
        };
        let v = self.session().validate(&model);
        Ok(Validation {
            valid: v.valid,
            errors: v.errors,
            warnings: v.warnings,
            param_count: v.param_count,
        })
    }

    fn run(
        &self,
        name: &str,
        spec: &PlannerSpec,
        progress: Progress<'_>,
    ) -> Result<PlannerRun, ToolError> {
        self.run_batch(&[(name.to_string(), spec.clone())], &|_, e, n, c| {
            progress(e, n, c)
        })
        .pop()
        .unwrap_or_else(|| Err(ToolError::environment("no run outcome")))
    }

    fn slots(&self) -> usize {
        self.runner.slots()
    }

    /// One `ResearchSession::run_many`: the runner trains up to its slots at once (remote
    /// workers), the session records each run here, once, in the order given.
    fn run_batch(
        &self,
        items: &[(String, PlannerSpec)],
        progress: BatchProgress<'_>,
    ) -> Vec<Result<PlannerRun, ToolError>> {
        let mut out: Vec<Option<Result<PlannerRun, ToolError>>> = Vec::new();
        let mut reqs = Vec::new();
        for (name, spec) in items {
            match self.model_spec(spec) {
                Ok(model) => {
                    reqs.push(RunRequest {
                        spec: model,
                        data: DataRequest {
                            assets: vec![spec.asset_or_default().to_string()],
                            allow_synthetic: true,
                            ..DataRequest::default()
                        },
                        seed: spec.seed.unwrap_or(0),
                        name: Some(name.clone()),
                        force: false,
                    });
                    out.push(None);
                }
                Err(e) => out.push(Some(Err(e))),
            }
        }
        let mut done = self.session().run_many(reqs).into_iter();
        items
            .iter()
            .zip(out)
            .enumerate()
            .map(|(i, ((_, spec), early))| {
                if let Some(e) = early {
                    return e;
                }
                let out = done
                    .next()
                    .unwrap_or_else(|| Err(research::ResearchError::env("no run outcome")))
                    .map_err(to_tool)?;
                let epochs = spec.epochs.unwrap_or(1) as u32;
                progress(i, epochs, epochs, out.record.crps);
                // Keep the planner's own spec (the registry's is the normalised model spec).
                let mut rec = convert(&out.record);
                rec.spec = spec.clone();
                rec.fingerprint = spec.fingerprint();
                Ok(rec)
            })
            .collect()
    }

    fn history(
        &self,
        asset: Option<&str>,
        timeframe: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PlannerRun>, ToolError> {
        let q = HistoryQuery {
            limit: limit.max(1),
            order: HistoryOrder::Recent,
            asset: asset.map(str::to_string),
            timeframe: timeframe.map(str::to_string),
            block: None,
            head: None,
        };
        let mut runs: Vec<PlannerRun> = self
            .archive
            .registry
            .history(&q)
            .map_err(to_tool)?
            .iter()
            .map(convert)
            .collect();
        runs.reverse(); // oldest first
        Ok(runs)
    }

    fn champion(&self, asset: &str, timeframe: &str) -> Result<Option<PlannerRun>, ToolError> {
        Ok(self
            .archive
            .registry
            .champion(asset, timeframe)
            .map_err(to_tool)?
            .map(|c| convert(&c.run)))
    }

    fn promote(&self, run_id: &str) -> Result<PlannerRun, ToolError> {
        // The one promotion (research::promotion): checks, then a paired comparison with the
        // current champion (or the default model) on the same prompts, recorded with evidence;
        // its evaluations run through this binding's runner (the workers, when configured).
        let req = research::PromoteRequest::new(run_id, "pipeline");
        let out = research::promotion::promote(&self.archive, self.runner.as_ref(), &req)
            .map_err(to_tool)?;
        if !out.iter().any(|o| o.promoted) {
            let why: Vec<String> = out
                .iter()
                .map(|o| format!("{}: {}", o.asset, o.reason))
                .collect();
            // A refusal is an outcome, not a broken call: the run stays, the champion stays.
            return Err(ToolError::failed(format!(
                "not promoted: {}",
                why.join("; ")
            )));
        }
        let rec = self.archive.registry.get_run(run_id).map_err(to_tool)?;
        Ok(convert(&rec))
    }

    fn get_run(&self, run_id: &str) -> Result<Option<PlannerRun>, ToolError> {
        match self.archive.registry.get_run(run_id) {
            Ok(r) => Ok(Some(convert(&r))),
            Err(e) if e.kind == research::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(to_tool(e)),
        }
    }

    fn paired(
        &self,
        candidate: &str,
        incumbent: &str,
        asset: &str,
        timeframe: &str,
    ) -> Result<Value, ToolError> {
        let contender = |name: &str| -> Result<research::Contender, ToolError> {
            match self.archive.registry.get_run(name) {
                Ok(r) => Ok(research::Contender::Run(Box::new(r))),
                Err(e) if e.kind == research::ErrorKind::NotFound => {
                    Ok(research::Contender::Model(name.to_string()))
                }
                Err(e) => Err(to_tool(e)),
            }
        };
        let set = research::PromptSet::standard(asset, timeframe);
        let cmp = research::promotion::paired::compare(
            self.runner.as_ref(),
            &contender(candidate)?,
            &contender(incumbent)?,
            &set,
        )
        .map_err(to_tool)?;
        let mut v = serde_json::to_value(&cmp).unwrap_or(Value::Null);
        v["candidate_better"] = json!(cmp.candidate_better());
        v["summary"] = json!(cmp.summary());
        Ok(v)
    }

    fn publish_remote(&self, run_id: &str) -> Result<Value, ToolError> {
        // Every configured target (Hippius, Hugging Face Hub, W&B), each reported on its own:
        // published (URL), skipped (the variable to set) or failed (queued for a retry).
        let rep = research::publish::Publisher::from_env(&self.archive)
            .publish(
                run_id,
                &research::publish::Target::ALL,
                &research::publish::HubOptions::default(),
            )
            .map_err(to_tool)?;
        Ok(serde_json::to_value(&rep).unwrap_or(Value::Null))
    }
}
