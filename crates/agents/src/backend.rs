//! The narrow research interface the tools and the built-in planner need. The `research` crate's
//! session and registry implement it ([`crate::research_binding`]); tests use an in-memory fake.
//!
//! Runs come back as [`PlannerRun`]s: a registry run (`research::RunRecord`) as the planner sees
//! it, with its spec in the planner's terms (`asset`, `timeframe`, `blocks`, `head`, `d_model`,
//! `lr`, `epochs`, `seed`) so that specs tell apart by `research::fingerprint::spec_fingerprint`
//! across loops. The registry's own record stays in `research`.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::tools::ToolError;

/// A named model component (block or head) the backend can build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// Registry name (what specs use).
    pub name: String,
    /// One line on what it is.
    #[serde(default)]
    pub description: String,
}

/// What the backend can build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Backbone blocks.
    pub blocks: Vec<Component>,
    /// Heads.
    pub heads: Vec<Component>,
    /// Named presets (name → spec).
    #[serde(default)]
    pub presets: Vec<Value>,
}

/// Result of validating a spec without training it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// True when the spec builds.
    pub valid: bool,
    /// Errors, each naming the field.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Warnings.
    #[serde(default)]
    pub warnings: Vec<String>,
    /// Parameter count when it builds.
    #[serde(default)]
    pub param_count: Option<u64>,
}

/// One registered run as the planner sees it (see the module docs; the registry's full record is
/// `research::RunRecord`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannerRun {
    /// Registry id.
    pub run_id: String,
    /// Human name.
    #[serde(default)]
    pub name: String,
    /// `research::fingerprint::spec_fingerprint` of `spec`.
    pub fingerprint: String,
    /// The spec that ran.
    pub spec: Value,
    /// `ok` or `error`.
    pub status: String,
    /// Held-out CRPS (lower is better).
    #[serde(default)]
    pub crps: Option<f64>,
    /// The GBM baseline's CRPS on the same prompts.
    #[serde(default)]
    pub baseline_crps: Option<f64>,
    /// Parameter count.
    #[serde(default)]
    pub param_count: Option<u64>,
    /// Training seconds.
    #[serde(default)]
    pub train_secs: Option<f64>,
    /// Error message when it failed.
    #[serde(default)]
    pub error: Option<String>,
    /// Where the trained weights are, when kept.
    #[serde(default)]
    pub weights: Option<String>,
    /// True when the data was synthetic.
    #[serde(default)]
    pub synthetic_data: bool,
}

impl PlannerRun {
    /// True when the run succeeded with a finite CRPS.
    pub fn is_ok(&self) -> bool {
        self.status == "ok" && self.crps.is_some_and(f64::is_finite)
    }
}

/// Progress callback of a training run: `(epoch, epochs, validation CRPS)`.
pub type Progress<'a> = &'a (dyn Fn(u32, u32, Option<f64>) + Sync);

/// What the pipeline needs from research.
pub trait ResearchBackend: Send + Sync {
    /// Blocks, heads and presets.
    fn catalog(&self) -> Result<Catalog, ToolError>;
    /// Checks a spec without training.
    fn validate(&self, spec: &Value) -> Result<Validation, ToolError>;
    /// Trains and evaluates `spec`, registers the run (weights included) and returns it.
    /// Failures of the experiment itself come back as a record with status `error`.
    fn run(
        &self,
        name: &str,
        spec: &Value,
        progress: Progress<'_>,
    ) -> Result<PlannerRun, ToolError>;
    /// Past runs for `asset` × `timeframe` (all assets when `None`), any order.
    fn history(
        &self,
        asset: Option<&str>,
        timeframe: Option<&str>,
        limit: usize,
    ) -> Result<Vec<PlannerRun>, ToolError>;
    /// The current champion for `asset` × `timeframe`.
    fn champion(&self, asset: &str, timeframe: &str) -> Result<Option<PlannerRun>, ToolError>;
    /// Makes `run_id` the champion of its asset × timeframe; returns it.
    fn promote(&self, run_id: &str) -> Result<PlannerRun, ToolError>;
    /// Pushes the champion to remote storage (`--publish`); returns where it went.
    fn publish_remote(&self, run_id: &str) -> Result<Value, ToolError> {
        let _ = run_id;
        Err(ToolError::environment(
            "no remote publishing target is configured",
        ))
    }
    /// Stores a pipeline run's summary and agent transcripts with the registry.
    fn save_pipeline_run(&self, run_id: &str, summary: &Value) -> Result<(), ToolError> {
        let _ = (run_id, summary);
        Ok(())
    }
}

/// The research backend the pipeline's agents and tools share (one per pipeline run). Not the
/// bridge's `Backend`, which is the HTTP layer's seam to the whole engine.
pub type SharedResearch = Arc<dyn ResearchBackend>;
