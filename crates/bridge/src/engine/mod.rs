//! The real engine behind the bridge: experiments through `research::ResearchSession` over the
//! models crate, results in the research registry (SQLite, each run tagged with the bot that
//! asked), pipelines through the `agents` orchestrator, market data from the `market` crate.

mod components;
mod definitions;
mod experiments;
mod fan;
mod market_data;
mod pipeline;
mod publish;
mod records;

use std::sync::Arc;

use research::{Archive, ExperimentRunner, ModelsRunner, Requester, ResearchSession};
use serde_json::Value;

use crate::backend::{Backend, HistoryQuery, Job, PipelineRequest};
use crate::error::{ApiError, ApiResult};
use crate::types::{
    AgentCatalogue, BlockList, ChampionList, Component, CreateRequest, CreatedExperiment,
    DailyHistory, EngineInfo, Fan, HeadList, PipelineOutcome, Preset, PresetList, Price,
    PublishRequest, Published, RunList, RunView, SweepOutcome, SweepRequest, ValidationReport,
};

pub use records::{bot_of, run_view, PIPELINE_BOT_PREFIX};

/// Settings of an [`EngineBackend`].
#[derive(Debug, Clone, Default)]
pub struct EngineOptions {
    /// Use the built-in (non-LLM) planner even when an LLM is configured.
    pub builtin_planner: bool,
    /// Epochs of the first successive-halving rung of pipeline experiments (default 2).
    pub min_epochs: Option<u32>,
    /// Most recent training windows per pipeline experiment whose spec sets none (default
    /// `agents::research_binding::DEFAULT_MAX_WINDOWS`; 0 = the whole history).
    pub max_windows: Option<usize>,
}

/// [`Backend`] over the research, agents and market crates. See the module docs.
pub struct EngineBackend {
    archive: Arc<Archive>,
    runner: Arc<dyn ExperimentRunner>,
    market: market_data::MarketData,
    options: EngineOptions,
}

impl EngineBackend {
    /// An engine storing into `archive`.
    pub fn new(archive: Arc<Archive>, options: EngineOptions) -> Self {
        Self {
            archive,
            runner: Arc::new(ModelsRunner::new()),
            market: market_data::MarketData::default(),
            options,
        }
    }

    /// Experiments (single runs, sweeps, pipelines) trained by `runner` instead of this
    /// machine's `ModelsRunner`: the worker pool of `SYNTH_CITY_WORKERS`
    /// (`worker::runner_from_env`). Results are recorded in this engine's archive, once.
    pub fn with_runner(mut self, runner: Arc<dyn ExperimentRunner>) -> Self {
        self.runner = runner;
        self
    }

    /// An engine on the default archive: registry and artifacts under `SYNTH_CITY_HOME` (or
    /// `~/.local/share/synth-city`), the remote from the `HIPPIUS_*` settings.
    pub fn open_default(options: EngineOptions) -> ApiResult<Self> {
        let archive = Archive::open_default().map_err(|e| {
            ApiError::unavailable(format!("opening the research archive: {}", e.message))
        })?;
        Ok(Self::new(Arc::new(archive), options))
    }

    /// The archive (registry + artifacts).
    pub fn archive(&self) -> &Arc<Archive> {
        &self.archive
    }

    /// A research session acting for `bot_id`: its runs are recorded as `Requester::Bot`.
    fn session(&self, bot_id: &str) -> ResearchSession {
        let mut s = ResearchSession::new(
            self.archive.clone(),
            self.runner.clone(),
            Requester::Bot(bot_id.to_string()),
        );
        s.set_sync_after_run(self.archive.remote.is_some());
        s
    }

    /// A session for catalogue calls (no run is made through it).
    fn catalogue(&self) -> ResearchSession {
        self.session("bridge")
    }
}

/// A research error as an HTTP error of the matching kind.
pub(crate) fn api_err(e: research::ResearchError) -> ApiError {
    use research::ErrorKind as K;
    match e.kind {
        K::InvalidConfig => ApiError::invalid(e.message),
        K::NotFound => ApiError::not_found(e.message),
        K::DataMissing => ApiError::unavailable(format!("data missing: {}", e.message)),
        K::TrainingDiverged => ApiError::failed(format!("training diverged: {}", e.message)),
        K::Environment => ApiError::failed(e.message),
    }
}

fn components(list: Vec<Value>) -> Vec<Component> {
    list.into_iter()
        .filter_map(|c| match c {
            Value::Object(mut m) => {
                let name = m.remove("name")?.as_str()?.to_string();
                Some(Component { name, detail: m })
            }
            _ => None,
        })
        .collect()
}

impl Backend for EngineBackend {
    fn describe(&self) -> EngineInfo {
        EngineInfo {
            name: "engine".into(),
            detail: Some(
                "research sessions over the models crate, the research registry, the agents orchestrator"
                    .into(),
            ),
            registry: Some("research registry (SYNTH_CITY_HOME)".into()),
            remote: Some(self.archive.remote.is_some()),
        }
    }

    fn blocks(&self) -> ApiResult<BlockList> {
        Ok(BlockList {
            blocks: components(self.catalogue().list_blocks()),
        })
    }

    fn heads(&self) -> ApiResult<HeadList> {
        Ok(HeadList {
            heads: components(self.catalogue().list_heads()),
        })
    }

    fn presets(&self) -> ApiResult<PresetList> {
        let presets = self
            .catalogue()
            .list_presets()
            .into_iter()
            .map(|p| Preset {
                name: p.name,
                description: p.description,
                tags: p.tags,
                spec: p.spec,
            })
            .collect();
        Ok(PresetList { presets })
    }

    fn create_experiment(&self, params: &CreateRequest) -> ApiResult<CreatedExperiment> {
        experiments::create(&self.catalogue(), params)
    }

    fn validate_experiment(&self, spec: &Value) -> ApiResult<ValidationReport> {
        Ok(experiments::validate(&self.catalogue(), spec))
    }

    fn estimate(&self, experiment: &Value) -> ApiResult<Option<crate::limits::ModelSize>> {
        Ok(experiments::size(&self.catalogue(), experiment))
    }

    fn run_experiment(&self, job: &Job, spec: &Value) -> ApiResult<RunView> {
        experiments::run(&mut self.session(&job.bot_id), job, spec, "experiment")
    }

    fn sweep(&self, job: &Job, req: &SweepRequest) -> ApiResult<SweepOutcome> {
        experiments::sweep(
            &mut self.session(&job.bot_id),
            job,
            req,
            self.runner.slots(),
        )
    }

    fn run_pipeline(&self, job: &Job, req: &PipelineRequest) -> ApiResult<PipelineOutcome> {
        pipeline::run(self, job, req)
    }

    fn history(&self, q: &HistoryQuery) -> ApiResult<RunList> {
        records::history(&self.archive.registry, q)
    }

    fn run_record(&self, id: &str) -> ApiResult<RunView> {
        let rec = self.archive.registry.get_run(id).map_err(api_err)?;
        Ok(run_view(&rec))
    }

    fn run_fan(&self, id: &str, asset: Option<&str>) -> ApiResult<Fan> {
        fan::fan(&self.archive, id, asset)
    }

    fn champion(&self, asset: Option<&str>, timeframe: Option<&str>) -> ApiResult<ChampionList> {
        records::champions(&self.archive.registry, asset, timeframe)
    }

    fn market_price(&self, asset: &str) -> ApiResult<Price> {
        self.market.price(asset)
    }

    fn market_history(&self, asset: &str, days: u32) -> ApiResult<DailyHistory> {
        self.market.history(asset, days)
    }

    fn publish(&self, job: &Job, req: &PublishRequest) -> ApiResult<Published> {
        publish::publish(&self.archive, self.runner.as_ref(), job, req)
    }

    fn agents(&self) -> ApiResult<AgentCatalogue> {
        Ok(pipeline::catalogue())
    }

    fn registry_read(
        &self,
        bot_id: &str,
        name: Option<&str>,
    ) -> ApiResult<crate::backend::RegistryRead> {
        components::read(&self.archive.registry, bot_id, name)
    }

    fn resolve_components(&self, bot_id: &str, experiment: &Value) -> ApiResult<Value> {
        self.session(bot_id)
            .embed_components(experiment)
            .map_err(api_err)
    }

    fn definitions(&self) -> ApiResult<crate::types::DefinitionList> {
        definitions::list(&self.archive)
    }

    fn agent_write(
        &self,
        bot_id: &str,
        req: &crate::types::AgentWriteRequest,
    ) -> ApiResult<crate::types::DefinitionView> {
        definitions::write_agent(&self.archive, bot_id, req)
    }

    fn prompt_write(
        &self,
        bot_id: &str,
        req: &crate::types::PromptWriteRequest,
    ) -> ApiResult<crate::types::DefinitionView> {
        definitions::write_prompt(&self.archive, bot_id, req)
    }

    fn registry_write(
        &self,
        bot_id: &str,
        req: &crate::types::RegistryWriteRequest,
    ) -> ApiResult<crate::types::ComponentView> {
        components::write(&self.archive.registry, bot_id, req)
    }
}
