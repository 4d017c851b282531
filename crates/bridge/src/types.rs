//! The typed bodies of the [`crate::Backend`] seam: what each engine call takes and answers.
//! Handlers turn them into JSON only at the HTTP boundary (axum's `Json`), and the OpenAPI
//! document's schemas are generated from these same types ([`crate::openapi`]), so the two
//! cannot drift apart.
//!
//! Two things stay JSON on purpose: an experiment spec (the models crate's spec document, which
//! the engine parses and validates field by field) and the engine-specific detail of a run
//! record (kept whole under [`RunView::detail`]); the fields the bridge reads are typed.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What engine serves the bridge (`backend` of `GET /health`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct EngineInfo {
    /// Short name, e.g. `engine`.
    pub name: String,
    /// One line on what it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Where results are recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry: Option<String>,
    /// Whether a remote artifact store is configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<bool>,
}

/// A model component (block or head) a spec may name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Component {
    /// The name specs use.
    pub name: String,
    /// Everything else the engine says about it (description, parameters, defaults, …).
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

/// `GET /components/blocks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct BlockList {
    /// Backbone blocks.
    pub blocks: Vec<Component>,
}

/// `GET /components/heads`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HeadList {
    /// Output heads.
    pub heads: Vec<Component>,
}

/// A named, ready-made spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Preset {
    /// Preset name (what `{"preset": …}` takes).
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Tags (`neural`, `baseline`, head family, …).
    #[serde(default)]
    pub tags: Vec<String>,
    /// The spec.
    pub spec: Value,
}

/// `GET /components/presets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PresetList {
    /// Presets.
    pub presets: Vec<Preset>,
}

/// Body of `POST /experiments/create`: a preset, a baseline, or blocks and a head, with
/// `overrides` merged on top.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Start from this preset.
    #[serde(default)]
    pub preset: Option<String>,
    /// A statistical baseline (e.g. `gbm`).
    #[serde(default)]
    pub baseline: Option<Value>,
    /// Backbone block names, in order.
    #[serde(default)]
    pub blocks: Option<Value>,
    /// Head name.
    #[serde(default)]
    pub head: Option<Value>,
    /// `5m` (default) or `1m`.
    #[serde(default)]
    pub timeframe: Option<String>,
    /// Fields merged on top of the built spec.
    #[serde(default)]
    pub overrides: Option<Value>,
}

/// Body of `POST /experiments/validate` and `/experiments/run`: the experiment, a spec object
/// (or a JSON string holding one) with its run settings (`asset`, `seed`, …) inside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentRequest {
    /// The experiment.
    pub experiment: Value,
}

/// A model's size, from its spec alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Estimate {
    /// Trainable parameters.
    pub params: u64,
    /// Bytes to train it (weights, gradients, optimiser state, activations).
    pub train_bytes: u64,
}

impl From<crate::limits::ModelSize> for Estimate {
    fn from(s: crate::limits::ModelSize) -> Self {
        Self {
            params: s.params,
            train_bytes: s.bytes,
        }
    }
}

/// Answer of `POST /experiments/validate` (an invalid spec is still a 200).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ValidationReport {
    /// True when the spec can run.
    pub valid: bool,
    /// What is wrong, each naming the field.
    pub errors: Vec<String>,
    /// What is suspicious but allowed.
    pub warnings: Vec<String>,
    /// Trainable parameters, when the model could be built.
    pub param_count: Option<u64>,
    /// The spec with every default filled in (valid specs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<Value>,
    /// The model's size (neural specs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
}

/// Answer of `POST /experiments/create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CreatedExperiment {
    /// The full spec, ready for `/experiments/run`.
    pub experiment: Value,
    /// Its validation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<ValidationReport>,
    /// The model's size (neural specs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
}

/// Body of `POST /experiments/sweep`: `{presets, base?}` runs presets; `{base, grid}` runs every
/// combination of the grid's values (dotted fields reach nested settings, e.g. `training.lr`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SweepRequest {
    /// Preset names to run.
    #[serde(default)]
    pub presets: Option<Value>,
    /// Settings every combination starts from.
    #[serde(default)]
    pub base: Option<Value>,
    /// Field → values to try.
    #[serde(default)]
    pub grid: Option<BTreeMap<String, Value>>,
}

/// One registry run as the bridge shows it: the fields rankings, sessions and the dashboard
/// read, typed, and the rest of the engine's record as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunView {
    /// Run id.
    pub id: String,
    /// The bot that produced it (`null` for runs made outside the bridge).
    #[serde(default)]
    pub bot_id: Option<String>,
    /// `experiment`, `sweep`, `pipeline` or `cli`.
    #[serde(default)]
    pub source: String,
    /// Asset(s), comma-separated.
    #[serde(default)]
    pub asset: String,
    /// `5m` or `1m`.
    #[serde(default)]
    pub timeframe: String,
    /// Blocks and head (`lstm+gbm`), or the head alone.
    #[serde(default)]
    pub model: String,
    /// Outcome (`ok`, `failed`, …).
    #[serde(default)]
    pub status: String,
    /// Held-out CRPS (lower is better); `null` when it failed.
    #[serde(default)]
    pub crps: Option<f64>,
    /// CRPS over the reference GBM's on the same prompts (below 1 beats it).
    #[serde(default)]
    pub baseline_ratio: Option<f64>,
    /// The baseline's CRPS (champions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_crps: Option<f64>,
    /// When it started (RFC 3339).
    #[serde(default)]
    pub created_at: String,
    /// True when an identical earlier run was returned instead of training again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reused: Option<bool>,
    /// The rest of the engine's record (spec, data range, scores, timings, artifacts, …).
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

impl RunView {
    /// The CRPS, infinite when there is none (for "lowest first" orders).
    pub fn crps_or_inf(&self) -> f64 {
        self.crps.filter(|c| c.is_finite()).unwrap_or(f64::INFINITY)
    }
}

/// The lowest-CRPS run of `runs` (infinite or missing scores last).
pub fn best_run(runs: &[RunView]) -> Option<RunView> {
    runs.iter()
        .min_by(|a, b| a.crps_or_inf().total_cmp(&b.crps_or_inf()))
        .cloned()
}

/// Answer of `POST /experiments/sweep`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SweepOutcome {
    /// Every run, in order.
    pub results: Vec<RunView>,
    /// The best successful run.
    pub best: Option<RunView>,
    /// Combinations the sweep had.
    pub combinations: usize,
    /// True when the bot asked to stop before the end.
    #[serde(default)]
    pub stopped: bool,
}

/// `result` of a finished pipeline (`GET /pipeline/status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineOutcome {
    /// True when the last loop succeeded.
    pub success: bool,
    /// The best run of the pipeline.
    pub best: Option<RunView>,
    /// Its CRPS.
    #[serde(default)]
    pub best_crps: Option<f64>,
    /// Experiments the pipeline ran, when the engine counts them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiments: Option<usize>,
    /// The pipeline's own summary (loops, stages, agents' reports).
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub summary: Value,
}

/// `GET /history`: registry runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RunList {
    /// Runs returned.
    pub total: usize,
    /// The runs.
    pub runs: Vec<RunView>,
}

/// `GET /champion`: the best run per asset and timeframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChampionList {
    /// Champions (their `asset`, `timeframe` and `crps` are the champion's score there).
    pub champions: Vec<RunView>,
}

/// The 5/25/50/75/95 % quantiles of the sampled price per point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Bands {
    /// 5 %.
    pub p5: Vec<Option<f64>>,
    /// 25 %.
    pub p25: Vec<Option<f64>>,
    /// 50 %.
    pub p50: Vec<Option<f64>>,
    /// 75 %.
    pub p75: Vec<Option<f64>>,
    /// 95 %.
    pub p95: Vec<Option<f64>>,
}

/// Fan chart of one held-out prompt of a run, from its stored sampled paths (computed
/// server-side; prices to 8 significant digits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Fan {
    /// Run id.
    pub run_id: String,
    /// The bot that produced it.
    pub bot_id: Option<String>,
    /// Run name.
    pub name: String,
    /// Blocks and head.
    pub model: String,
    /// The run's CRPS.
    pub crps: Option<f64>,
    /// Asset of the sample.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// Prompt start, UTC unix seconds.
    pub start_time: i64,
    /// Price at the start.
    pub start_price: f64,
    /// Seconds between points.
    pub time_increment: u32,
    /// Horizon, seconds.
    pub time_length: u32,
    /// Paths the prompt asked for.
    pub num_simulations: usize,
    /// Stored paths the bands come from.
    pub paths_used: usize,
    /// 0.05, 0.25, 0.5, 0.75, 0.95.
    pub levels: Vec<f64>,
    /// Minutes from the start of each point.
    pub minutes: Vec<f64>,
    /// Quantiles of the sampled price per point.
    pub bands: Bands,
    /// Realised price per point; `null` where unknown.
    pub realised: Vec<Option<f64>>,
}

/// `GET /market/price/{asset}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Price {
    /// Asset.
    pub asset: String,
    /// Last known close.
    pub price: f64,
    /// Its candle's open time, UTC unix seconds.
    pub timestamp: i64,
    /// Seconds since then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_seconds: Option<i64>,
    /// Candle length, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution_secs: Option<u32>,
    /// Where the price came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `real`.
    pub provenance: String,
}

/// One UTC day of prices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DailyCandle {
    /// Day start, UTC unix seconds.
    pub t: i64,
    /// Open.
    pub o: f64,
    /// High.
    pub h: f64,
    /// Low.
    pub l: f64,
    /// Close.
    pub c: f64,
}

/// `GET /market/history/{asset}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DailyHistory {
    /// Asset.
    pub asset: String,
    /// Days asked for.
    pub days: u32,
    /// `1d`.
    pub resolution: String,
    /// Where the prices came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// `real`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
    /// Oldest first.
    pub candles: Vec<DailyCandle>,
}

/// Body of `POST /publish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    /// A run this bot produced.
    pub run_id: String,
    /// Also push the archive's pending artifacts to the remote store.
    #[serde(default)]
    pub remote: Option<bool>,
}

/// An asset × timeframe a published run is champion of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChampionOf {
    /// Asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// The run's CRPS there.
    pub crps: f64,
}

/// Answer of `POST /publish`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Published {
    /// `published`.
    pub status: String,
    /// Run id.
    pub id: String,
    /// When (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// Where the run is champion.
    #[serde(default)]
    pub champion_of: Vec<ChampionOf>,
    /// True when it is champion somewhere.
    #[serde(default)]
    pub is_champion: bool,
    /// `real` or `synthetic` data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<String>,
    /// `local` or `local+remote`.
    pub target: String,
    /// The remote sync's report (`null` unless `remote`).
    #[serde(default)]
    pub remote_sync: Option<Value>,
}

/// One pipeline agent (read-only description).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentInfo {
    /// Role name.
    pub name: String,
    /// What it is for.
    pub purpose: String,
    /// Tools it may call.
    pub tools: Vec<String>,
    /// Task-state keys it reads.
    pub reads: Vec<String>,
    /// Task-state keys it writes.
    pub writes: Vec<String>,
    /// Most turns per attempt.
    pub max_turns: u32,
}

/// One stage of the pipeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StageInfo {
    /// Stage name.
    pub name: String,
    /// The rest of the stage's definition (agent, retries, …).
    #[serde(flatten)]
    pub detail: Map<String, Value>,
}

/// `GET /agents`: the pipeline's agents and stages (read-only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentCatalogue {
    /// Agents.
    #[serde(default)]
    pub agents: Vec<AgentInfo>,
    /// Stages, in order.
    pub stages: Vec<StageInfo>,
    /// Which brain a pipeline would use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brain: Option<String>,
    /// The bridge never accepts agent, prompt or component code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One entry of `GET /ranking`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ranked {
    /// 1 for the best (within its asset × timeframe unless both were given).
    pub rank: u64,
    /// The bot that produced the run.
    pub bot_id: Option<String>,
    /// Run id.
    pub id: String,
    /// Held-out CRPS.
    pub crps: Option<f64>,
    /// CRPS over the reference GBM's on the same prompts (below 1 beats it).
    pub baseline_ratio: Option<f64>,
    /// Asset(s).
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// Blocks and head.
    pub model: String,
    /// When it started (RFC 3339).
    pub created_at: String,
}

/// `GET /ranking`: the registry's best runs across bots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Ranking {
    /// Entries returned.
    pub total: usize,
    /// Bots among them.
    pub bots: Vec<String>,
    /// `crps`, or `baseline_ratio per asset and timeframe`.
    pub ranked_by: String,
    /// Best first.
    pub ranking: Vec<Ranked>,
}

/// Body of `POST /registry/write`: a user component (declarative block or head, or a script).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryWriteRequest {
    /// Name used in specs: `[a-z][a-z0-9_]*`, not a built-in's.
    pub name: String,
    /// `block`, `head` or `script`.
    pub kind: String,
    /// The definition: JSON or TOML text (blocks, heads; docs/models.md "User components"),
    /// or the Rhai source of a script (docs/scripts.md).
    pub definition: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Readable and usable by every bot (default: only by its owner).
    #[serde(default)]
    pub public: bool,
}

/// A component as `/registry/read` describes it: a user component with its definition, or a
/// built-in with its parameter schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComponentView {
    /// Name.
    pub name: String,
    /// `block`, `head` or `script`.
    pub kind: String,
    /// True for a built-in (then `schema` describes its parameters).
    pub builtin: bool,
    /// Owner of a user component (`bot:<id>` or `local`).
    pub owner: Option<String>,
    /// Version of a user component, from 1.
    pub version: Option<u32>,
    /// SHA-256 (hex) of the definition.
    pub hash: Option<String>,
    /// Readable by every bot.
    pub public: Option<bool>,
    /// What it is for.
    pub description: String,
    /// The definition text (user components; omitted in listings).
    pub definition: Option<String>,
    /// JSON schema of a built-in's `params`.
    pub schema: Option<Value>,
    /// When this version was stored (RFC 3339).
    pub created_at: Option<String>,
}

/// `GET /registry/read` without a name, and `POST /registry/reload`: the components the bot
/// may use (built-ins, its own, the public ones), without definitions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ComponentCatalogue {
    /// Components.
    pub components: Vec<ComponentView>,
    /// What this answer means (e.g. what a reload did).
    pub note: String,
}

/// Body of `POST /agents/write`: an agent as data (`name`, `purpose`, `system_prompt`,
/// `tools`, `model`, `temperature`, `max_turns`, `prompts`, `reads`, `writes`, `based_on`,
/// `default_message`; unknown fields refused). Checked against the tools and stored prompts
/// that exist; never code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(transparent)]
pub struct AgentWriteRequest(
    #[schemars(with = "serde_json::Map<String, serde_json::Value>")] pub Value,
);

/// Body of `POST /agents/prompts/write`: a prompt fragment agents may include by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PromptWriteRequest {
    /// Name (1-64 of `[A-Za-z0-9_.-]`).
    pub name: String,
    /// The text (at most 16,000 characters).
    pub text: String,
    /// One line on what it is for.
    #[serde(default)]
    pub description: String,
}

/// A stored agent, prompt or pipeline definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DefinitionView {
    /// `agent`, `prompt` or `pipeline`.
    pub kind: String,
    /// Name.
    pub name: String,
    /// Who wrote it (`bot:<id>` for a bot, `local` for the CLI).
    pub owner: String,
    /// Version, from 1 (every version is kept).
    pub version: u32,
    /// SHA-256 (hex) of the stored body.
    pub hash: String,
    /// When this version was stored (RFC 3339 UTC).
    pub created_at: String,
    /// The definition.
    pub body: Value,
}

/// `GET /agents/stored`: every stored agent and prompt (latest versions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DefinitionList {
    /// Stored agents.
    pub agents: Vec<DefinitionView>,
    /// Stored prompt fragments.
    pub prompts: Vec<DefinitionView>,
    /// Stored pipelines.
    pub pipelines: Vec<DefinitionView>,
}
