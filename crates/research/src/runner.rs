//! The narrow interface a [`crate::ResearchSession`] needs from the model layer: discover
//! components, normalise and validate specs, resolve data, and train + score one experiment.
//! `crate::models_runner` implements it on the `models` crate; tests use small fakes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plot::FanData;
use crate::record::{AssetScore, DataProvenance, DataRange, Timings};
use crate::Result;

/// A named, documented experiment spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetInfo {
    /// Preset name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// Tags (`neural`, `baseline`, head family…).
    pub tags: Vec<String>,
    /// The spec.
    pub spec: Value,
}

/// A component of the model layer (block, head or baseline), as JSON for tools.
pub type ComponentJson = Value;

/// Outcome of validating a spec.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// True when the spec can be run.
    pub valid: bool,
    /// What is wrong (empty when valid).
    pub errors: Vec<String>,
    /// What is suspicious but allowed.
    pub warnings: Vec<String>,
    /// Trainable parameters, when the model could be built.
    pub param_count: Option<u64>,
}

/// Which data to train and score on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DataRequest {
    /// SN50 assets (default: `["BTC"]`).
    #[serde(default)]
    pub assets: Vec<String>,
    /// Only use candles up to this UTC unix second (default: all available).
    #[serde(default)]
    pub end: Option<i64>,
    /// How many days of history to use, counting back from `end` (default: runner's choice).
    #[serde(default)]
    pub days: Option<u32>,
    /// Allow the synthetic market when real data is missing (the run is then tagged synthetic
    /// and never becomes champion). Default false: missing data is an error.
    #[serde(default)]
    pub allow_synthetic: bool,
}

/// The data a run will use, resolved before it starts (it is part of the experiment id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResolvedData {
    /// Assets, timeframe and time range.
    pub range: DataRange,
    /// Real or synthetic.
    pub provenance: DataProvenance,
}

/// What training and scoring one experiment produced.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    /// Scores per asset (with baseline scores where computed).
    pub scores: Vec<AssetScore>,
    /// Extra metrics (param count, epochs run, final loss…).
    pub extra: BTreeMap<String, f64>,
    /// Phase timings.
    pub timings: Timings,
    /// Trained weights (safetensors bytes), for neural models.
    pub weights: Option<Vec<u8>>,
    /// Other files to store with the run (name → bytes), e.g. `sample_paths.json`.
    pub files: Vec<(String, Vec<u8>)>,
    /// Fan-chart data of one evaluation prompt.
    pub fan: Option<FanData>,
    /// Where it ran (`local cpu`, `worker http://10.0.0.5:7070 cuda:0`), recorded with the run.
    pub ran_on: Option<String>,
}

/// The model layer, as a research session sees it.
pub trait ExperimentRunner: Send + Sync {
    /// Backbone blocks.
    fn list_blocks(&self) -> Vec<ComponentJson>;
    /// Heads.
    fn list_heads(&self) -> Vec<ComponentJson>;
    /// Presets (neural and statistical baselines).
    fn list_presets(&self) -> Vec<PresetInfo>;
    /// Builds a spec from block and head names with default settings, then `overrides`
    /// (a JSON object merged on top).
    fn create(
        &self,
        blocks: &[String],
        head: &str,
        timeframe: &str,
        overrides: &Value,
    ) -> Result<Value>;
    /// The spec with every default filled in, in one canonical form (errors: invalid config).
    fn normalise(&self, spec: &Value) -> Result<Value>;
    /// Validation report (never an error for a bad spec: that is `valid: false`).
    fn validate(&self, spec: &Value) -> Validation;
    /// A description of the spec for people and tools.
    fn describe(&self, spec: &Value) -> Result<Value>;
    /// Block names and head name of a normalised spec.
    fn shape(&self, spec: &Value) -> (Vec<String>, String);
    /// `5m` or `1m`.
    fn timeframe(&self, spec: &Value) -> Result<String>;
    /// Resolves the data a run would use.
    fn resolve_data(&self, spec: &Value, data: &DataRequest) -> Result<ResolvedData>;
    /// Trains and scores. Errors carry their kind (diverged, data missing…).
    fn run(&self, spec: &Value, data: &ResolvedData, seed: u64) -> Result<RunOutput>;
    /// The revision of the models behind the runner (0: unversioned). It is part of every
    /// experiment id, so runs made by an earlier revision are kept but never reused as if
    /// the current code had produced them.
    fn revision(&self) -> u32 {
        0
    }
    /// How many [`ExperimentRunner::run`] calls may usefully run at once (a pool of remote
    /// workers: the sum of their slots). Sessions run a batch of experiments this wide.
    fn slots(&self) -> usize {
        1
    }
}
