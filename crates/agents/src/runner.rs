//! The high-level entry points: pick the brains (LLM when configured, built-in otherwise), build
//! the tools and the orchestrator, and run the pipeline for N loops.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sn50::Timeframe;

use crate::backend::SharedResearch;
use crate::defs::{AgentBook, DefStore};
use crate::events::{Event, EventBus};
use crate::llm::{ChatModel, LlmClient, LlmConfig, UsageMeter};
use crate::pipeline::{
    Brains, Orchestrator, PipelineDef, PipelineReport, RetryStrategy, TaskState,
};
use crate::planner::guidance;
use crate::planner::BuiltinBrains;
use crate::tools::announce::Announcer;
use crate::tools::{toolbox, Budget, Session};

/// The LLM brains: one client, a model per agent (`<AGENT>_MODEL` or the default).
#[derive(Debug, Clone)]
pub struct LlmBrains {
    client: Arc<LlmClient>,
}

impl LlmBrains {
    /// Brains over `client`.
    pub fn new(client: LlmClient) -> Self {
        Self {
            client: Arc::new(client),
        }
    }
    /// The client's usage meter.
    pub fn meter(&self) -> UsageMeter {
        self.client.meter().clone()
    }
}

impl Brains for LlmBrains {
    fn model(&self, agent: &str) -> (Arc<dyn ChatModel>, String) {
        (self.client.clone(), self.client.config().model_for(agent))
    }
    fn model_for(&self, agent: &crate::defs::Agent) -> (Arc<dyn ChatModel>, String) {
        let id = agent
            .model
            .clone()
            .unwrap_or_else(|| self.client.config().model_for(&agent.name));
        (self.client.clone(), id)
    }
    fn label(&self) -> String {
        format!("llm:{}", self.client.config().model)
    }
}

/// Options of `synth-city pipeline`.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Attempts per retrying stage.
    pub retries: u32,
    /// Base temperature.
    pub temperature: f64,
    /// Also publish the champion remotely.
    pub publish: bool,
    /// Pipeline runs in a row.
    pub loops: u32,
    /// Experiments trained per loop.
    pub max_experiments: Option<u32>,
    /// Wall-clock budget over all loops.
    pub budget: Option<Duration>,
    /// SN50 asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// Epochs of the first successive-halving rung.
    pub min_epochs: u32,
    /// A JSON pipeline definition replacing the default.
    pub pipeline_file: Option<PathBuf>,
    /// Use the built-in planner even when an LLM is configured.
    pub force_builtin: bool,
    /// Base seed.
    pub seed: u64,
    /// The bot's wishes in words: the LLM planner reads them, the built-in planner acts on
    /// what it understands (assets, timeframes, model families to focus on or avoid).
    pub guidance: Option<String>,
    /// A stage list given inline (wins over `pipeline_file`); validated against the agents
    /// known (built-in and stored).
    pub pipeline: Option<PipelineDef>,
    /// Where stored agents, prompts and pipelines are (and who writes); built-in agents only
    /// when `None`.
    pub defs: Option<DefStore>,
    /// Announces promoted champions (Moltbook) when configured.
    pub announcer: Option<Announcer>,
}

impl Default for PipelineOptions {
    fn default() -> Self {
        Self {
            retries: 3,
            temperature: 0.1,
            publish: false,
            loops: 1,
            max_experiments: Some(4),
            budget: None,
            asset: "BTC".into(),
            timeframe: Timeframe::default().to_string(),
            min_epochs: 2,
            pipeline_file: None,
            force_builtin: false,
            seed: 0,
            guidance: None,
            pipeline: None,
            defs: None,
            announcer: None,
        }
    }
}

/// The brains to use: the LLM when configured (and not forced off), else the built-in planner.
pub fn choose_brains(force_builtin: bool) -> Result<(Arc<dyn Brains>, Option<UsageMeter>), String> {
    match LlmConfig::from_env().filter(|_| !force_builtin) {
        Some(cfg) => {
            let brains = LlmBrains::new(
                LlmClient::new(cfg, UsageMeter::default()).map_err(|e| e.to_string())?,
            );
            let meter = brains.meter();
            Ok((Arc::new(brains), Some(meter)))
        }
        None => Ok((Arc::new(BuiltinBrains), None)),
    }
}

/// A fresh pipeline run id: `YYYYMMDD-HHMMSS-<4 hex>`.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now();
    format!(
        "{}-{:04x}",
        now.format("%Y%m%d-%H%M%S"),
        now.timestamp_subsec_nanos() & 0xffff
    )
}

/// Runs `opts.loops` pipelines over `backend`, emitting on `bus`. Each loop gets a fresh session
/// (its own experiment budget) but shares the registry, so later loops build on earlier ones.
pub async fn run_pipeline(
    backend: SharedResearch,
    brains: Arc<dyn Brains>,
    meter: Option<UsageMeter>,
    opts: &PipelineOptions,
    bus: &EventBus,
) -> Result<Vec<PipelineReport>, String> {
    let book = match &opts.defs {
        Some(d) => d
            .book()
            .map_err(|e| format!("reading the stored agents: {e}"))?,
        None => AgentBook::builtin(),
    };
    let def = match (&opts.pipeline, &opts.pipeline_file) {
        (Some(d), _) => d.clone(),
        (None, Some(p)) => PipelineDef::load_with(p, &book)?,
        (None, None) => PipelineDef::default(),
    };
    def.validate_with(&book)?;
    let understood = opts
        .guidance
        .as_deref()
        .filter(|g| !g.trim().is_empty())
        .map(|g| {
            let catalog = backend.catalog().unwrap_or_default();
            let u = guidance::parse(g, &catalog);
            bus.emit(Event::Log {
                level: "info".into(),
                message: u.describe(),
            });
            u
        });
    let strategy = RetryStrategy {
        max_attempts: opts.retries.max(1),
        base_temperature: opts.temperature.clamp(0.0, 2.0),
        ..RetryStrategy::default()
    };
    // A budget too far away to represent is no deadline at all.
    let deadline = opts.budget.and_then(|d| Instant::now().checked_add(d));
    let mut reports = Vec::new();
    for l in 0..opts.loops.max(1) {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            bus.emit(Event::Log {
                level: "warn".into(),
                message: format!("time budget spent; stopping before loop {}", l + 1),
            });
            break;
        }
        let session = Session::with_announcer(
            backend.clone(),
            Some(bus.clone()),
            Budget {
                max_experiments: opts.max_experiments,
                deadline,
            },
            opts.announcer.clone(),
        );
        let orch = Orchestrator {
            def: def.clone(),
            strategy,
            brains: brains.clone(),
            tools: toolbox(session.clone(), opts.defs.clone()),
            bus: bus.clone(),
            meter: meter.clone(),
            book: book.clone(),
        };
        let mut state = TaskState::new();
        state.insert("asset".into(), json!(opts.asset));
        state.insert("timeframe".into(), json!(opts.timeframe));
        if let Some(m) = opts.max_experiments {
            state.insert("experiment_budget".into(), json!(m));
        }
        state.insert("min_epochs".into(), json!(opts.min_epochs.max(1)));
        state.insert("seed".into(), json!(opts.seed.wrapping_add(u64::from(l))));
        state.insert("publish_remote".into(), json!(opts.publish));
        if let Some(u) = &understood {
            state.insert("guidance".into(), json!(u.text));
            state.insert(
                "guidance_understood".into(),
                json!({"assets": u.assets, "timeframes": u.timeframes, "focus": u.focus,
                       "avoid": u.avoid, "summary": u.describe()}),
            );
        }
        if let Ok(Some(c)) = backend.champion(&opts.asset, &opts.timeframe) {
            state.insert(
                "champion".into(),
                json!({"run_id": c.run_id, "crps": c.crps, "spec": c.spec}),
            );
        }
        let report = orch.run(state).await;
        let record = json!({"report": report, "loop": l + 1, "experiments": session.runs()});
        if let Err(e) = backend.save_pipeline_run(&report.run_id, &record) {
            bus.emit(Event::Log {
                level: "warn".into(),
                message: format!("could not save the pipeline run: {e}"),
            });
        }
        reports.push(report);
    }
    Ok(reports)
}

/// A one-line-per-field summary of the reports, for the CLI and logs.
pub fn summarise(reports: &[PipelineReport]) -> Value {
    let loops: Vec<Value> = reports
        .iter()
        .map(|r| {
            json!({
                "run_id": r.run_id,
                "success": r.success,
                "stages": r.stages.iter().map(|s| json!({"name": s.name, "success": s.success, "attempts": s.attempts, "stopped": s.stopped})).collect::<Vec<_>>(),
                "best_run_id": r.state.get("best_run_id"),
                "best_crps": r.best_crps(),
                "champion": r.state.get("champion"),
                "usage": r.usage,
                "sources": r.sources_seen(),
            })
        })
        .collect();
    json!({"loops": loops})
}
