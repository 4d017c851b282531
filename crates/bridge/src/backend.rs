//! The narrow interface between the HTTP layer and the engine. Handlers only ever call a
//! [`Backend`]: [`crate::EngineBackend`] in the binary, a small double in the tests.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiResult;
use crate::events::EventBus;
use crate::types::{
    AgentCatalogue, BlockList, ChampionList, ComponentCatalogue, ComponentView, CreateRequest,
    CreatedExperiment, DailyHistory, EngineInfo, Fan, HeadList, PipelineOutcome, PresetList, Price,
    PublishRequest, Published, RegistryWriteRequest, RunList, RunView, SweepOutcome, SweepRequest,
    ValidationReport,
};

/// Who a long operation runs for, where it may write, how to stop it and where to report.
#[derive(Clone)]
pub struct Job {
    /// The bot that asked (from its key).
    pub bot_id: String,
    /// The bot's workspace directory; the only place the job may write bot files.
    pub workspace: PathBuf,
    /// Set when the bot asks to stop; long operations check it between steps.
    pub cancel: Arc<AtomicBool>,
    /// The event bus; events are tagged with `bot_id`.
    pub events: EventBus,
    /// The last `pipeline.stage` reported (shown by `/pipeline/status`).
    pub stage: Arc<Mutex<Option<String>>>,
    /// The largest model (training-memory estimate, bytes) this job may build.
    pub max_model_bytes: u64,
}

impl Job {
    /// True once a stop was requested.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
    /// Publishes an event of `kind` for this job's bot.
    pub fn emit(&self, kind: &str, data: Value) {
        if kind == "pipeline.stage" {
            if let Some(stage) = data["stage"].as_str() {
                *self.stage.lock().unwrap_or_else(|p| p.into_inner()) = Some(stage.to_string());
            }
        }
        self.events.publish(Some(&self.bot_id), kind, data);
    }
}

/// Body of `POST /pipeline/run`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineRequest {
    /// Retries per stage (1-20, default 5).
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Base LLM temperature (0-2, default 0.1).
    #[serde(default = "default_temperature")]
    pub temperature: f64,
    /// Publish the champion when the run ends.
    #[serde(default)]
    pub publish: bool,
    /// Asset to research (default BTC).
    #[serde(default)]
    pub asset: Option<String>,
    /// `5m` (24h horizon) or `1m` (1h horizon); default `5m`.
    #[serde(default)]
    pub timeframe: Option<String>,
    /// At most this many experiments (1-200, default [`DEFAULT_MAX_EXPERIMENTS`] = 4).
    #[serde(default)]
    pub max_experiments: Option<u32>,
    /// What the bot wants, in words (at most 2,000 characters): the LLM planner reads it, the
    /// built-in planner acts on what it understands (assets, timeframes, model families to
    /// focus on or avoid) and says so in the run's events.
    #[serde(default)]
    pub guidance: Option<String>,
    /// A stage list replacing the default pipeline (`[{"agent": "planner", ...}, ...]`, the
    /// format of `synth-city pipeline --pipeline FILE`); checked against the built-in agents
    /// and the bot's stored ones.
    #[serde(default)]
    #[schemars(with = "Option<Vec<serde_json::Map<String, serde_json::Value>>>")]
    pub stages: Option<serde_json::Value>,
}

/// Longest `guidance` a pipeline request may carry, in characters.
pub const MAX_GUIDANCE_CHARS: usize = 2_000;

/// Experiments a pipeline trains when the request does not say (every backend).
pub const DEFAULT_MAX_EXPERIMENTS: u32 = 4;

fn default_retries() -> u32 {
    5
}
fn default_temperature() -> f64 {
    0.1
}

impl PipelineRequest {
    /// Checks ranges; the message names the field.
    pub fn check(&self) -> Result<(), String> {
        if !(1..=20).contains(&self.retries) {
            return Err(format!("retries must be 1-20, got {}", self.retries));
        }
        if !(self.temperature.is_finite() && (0.0..=2.0).contains(&self.temperature)) {
            return Err(format!("temperature must be 0-2, got {}", self.temperature));
        }
        if let Some(n) = self.max_experiments {
            if !(1..=200).contains(&n) {
                return Err(format!("max_experiments must be 1-200, got {n}"));
            }
        }
        if let Some(g) = &self.guidance {
            let n = g.chars().count();
            if n > MAX_GUIDANCE_CHARS {
                return Err(format!(
                    "guidance must be at most {MAX_GUIDANCE_CHARS} characters, got {n}"
                ));
            }
        }
        if let Some(st) = &self.stages {
            if !st.is_array() {
                return Err("stages must be an array of stage objects".into());
            }
            // The shape is checked here (400 before anything is queued); which agents exist is
            // checked when it runs, against the built-in agents and the bot's stored ones.
            serde_json::from_value::<agents::PipelineDef>(serde_json::json!({ "stages": st }))
                .map_err(|e| format!("stages: {e}"))?;
        }
        Ok(())
    }
}

/// Filters of registry queries (`/history`, `/ranking`).
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// At most this many records (default 50, at most 1000).
    pub limit: Option<usize>,
    /// `best` (lowest CRPS first), `recent` or `worst`.
    pub order: Option<String>,
    /// Only this asset.
    pub asset: Option<String>,
    /// Only this timeframe (`5m` / `1m`).
    pub timeframe: Option<String>,
    /// Only results of this bot.
    pub bot: Option<String>,
}

/// What the bridge needs from the engine. Every method is synchronous and may block (the
/// bridge calls it on a blocking thread); errors carry their HTTP kind. Requests and answers are
/// the typed bodies of [`crate::types`]; the handlers turn them into JSON at the HTTP boundary.
/// An experiment is the one JSON document passed through: the engine's spec, parsed there.
pub trait Backend: Send + Sync + 'static {
    /// Name and version of the engine behind the bridge, for `/health`.
    fn describe(&self) -> EngineInfo;
    /// Model building blocks a spec may use.
    fn blocks(&self) -> ApiResult<BlockList>;
    /// Output heads a spec may use.
    fn heads(&self) -> ApiResult<HeadList>;
    /// Named, ready-made specs.
    fn presets(&self) -> ApiResult<PresetList>;
    /// Builds a full experiment spec from partial parameters (defaults filled in).
    fn create_experiment(&self, params: &CreateRequest) -> ApiResult<CreatedExperiment>;
    /// Checks an experiment (an invalid spec is still `Ok`, with `valid: false`). Must not build
    /// the model (the bridge checks [`Backend::estimate`] against its caps first).
    fn validate_experiment(&self, experiment: &Value) -> ApiResult<ValidationReport>;
    /// The size of an experiment's model, from its spec alone, without building anything;
    /// `None` when it has no trainable model (a baseline) or the spec does not parse (then
    /// validation says why). The bridge refuses models over its memory caps with it.
    fn estimate(&self, experiment: &Value) -> ApiResult<Option<crate::limits::ModelSize>> {
        let _ = experiment;
        Ok(None)
    }
    /// Trains/evaluates one experiment, records it in the registry as produced by `job.bot_id`.
    fn run_experiment(&self, job: &Job, experiment: &Value) -> ApiResult<RunView>;
    /// Runs presets or a grid of experiments.
    fn sweep(&self, job: &Job, req: &SweepRequest) -> ApiResult<SweepOutcome>;
    /// Runs the research pipeline to the end (or until `job.cancelled()`).
    fn run_pipeline(&self, job: &Job, req: &PipelineRequest) -> ApiResult<PipelineOutcome>;
    /// Registry records matching `q`, each with its `bot_id`.
    fn history(&self, q: &HistoryQuery) -> ApiResult<RunList>;
    /// One registry record.
    fn run_record(&self, id: &str) -> ApiResult<RunView>;
    /// Fan-chart data of a record's stored held-out sample for `asset` (`None`: its only
    /// asset). The default is 404: a backend that keeps no sampled paths.
    fn run_fan(&self, id: &str, asset: Option<&str>) -> ApiResult<Fan> {
        let _ = asset;
        Err(crate::error::ApiError::not_found(format!(
            "run {id} has no stored sample: this backend keeps no sampled paths"
        )))
    }
    /// The best record per asset and timeframe (optionally only one of each).
    fn champion(&self, asset: Option<&str>, timeframe: Option<&str>) -> ApiResult<ChampionList>;
    /// Latest known price of an asset.
    fn market_price(&self, asset: &str) -> ApiResult<Price>;
    /// Daily OHLC of the last `days` days.
    fn market_history(&self, asset: &str, days: u32) -> ApiResult<DailyHistory>;
    /// Publishes a registry record produced by `job.bot_id` (403 for another bot's record).
    fn publish(&self, job: &Job, req: &PublishRequest) -> ApiResult<Published>;
    /// The pipeline's agents and tools (read-only: the bridge never accepts code).
    fn agents(&self) -> ApiResult<AgentCatalogue>;
    /// A component as `bot_id` sees it (a built-in, its own, or a public one), or the list of
    /// them without a name. A backend without a component store answers 404.
    fn registry_read(&self, bot_id: &str, name: Option<&str>) -> ApiResult<RegistryRead> {
        let _ = (bot_id, name);
        Err(crate::error::ApiError::not_found(
            "this backend has no component registry",
        ))
    }
    /// `experiment` with the user components it names resolved for `bot_id` (their definitions
    /// embedded), so size checks, validation and the run see the whole model. The default
    /// leaves it as it is.
    fn resolve_components(&self, bot_id: &str, experiment: &Value) -> ApiResult<Value> {
        let _ = bot_id;
        Ok(experiment.clone())
    }
    /// Every stored agent, prompt and pipeline definition (everyone may read them; only the
    /// owner may change one). A backend without a definition store answers 404.
    fn definitions(&self) -> ApiResult<crate::types::DefinitionList> {
        Err(crate::error::ApiError::not_found(
            "this backend stores no agent definitions",
        ))
    }
    /// Checks and stores an agent definition as `bot_id`'s (403 for another owner's name).
    fn agent_write(
        &self,
        bot_id: &str,
        req: &crate::types::AgentWriteRequest,
    ) -> ApiResult<crate::types::DefinitionView> {
        let _ = (bot_id, req);
        Err(crate::error::ApiError::not_found(
            "this backend stores no agent definitions",
        ))
    }
    /// Checks and stores a prompt fragment as `bot_id`'s (403 for another owner's name).
    fn prompt_write(
        &self,
        bot_id: &str,
        req: &crate::types::PromptWriteRequest,
    ) -> ApiResult<crate::types::DefinitionView> {
        let _ = (bot_id, req);
        Err(crate::error::ApiError::not_found(
            "this backend stores no agent definitions",
        ))
    }
    /// Checks and stores a component as `bot_id`'s (403 for another owner's name).
    fn registry_write(&self, bot_id: &str, req: &RegistryWriteRequest) -> ApiResult<ComponentView> {
        let _ = (bot_id, req);
        Err(crate::error::ApiError::not_found(
            "this backend has no component registry",
        ))
    }
}

/// What `/registry/read` answers.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(untagged)]
pub enum RegistryRead {
    /// One component.
    One(Box<ComponentView>),
    /// The list.
    All(ComponentCatalogue),
}
