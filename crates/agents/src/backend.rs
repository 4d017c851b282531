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
use sn50::Timeframe;

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

/// An experiment as the planner and the research tools describe it. Tool calls carry it as the
/// JSON `experiment` argument; it is parsed into this at that edge ([`PlannerSpec::parse`]), so
/// a misspelt field is an error there rather than a silently ignored setting. The research
/// binding turns it into a models spec. Unset fields are left out of its JSON (and so of its
/// [`PlannerSpec::fingerprint`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannerSpec {
    /// SN50 asset (default BTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset: Option<String>,
    /// `5m` (default) or `1m`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeframe: Option<String>,
    /// Backbone block names, in order.
    #[serde(default)]
    pub blocks: Vec<String>,
    /// Head name (required to run).
    #[serde(default)]
    pub head: String,
    /// Model width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_model: Option<u64>,
    /// Learning rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Training epochs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epochs: Option<u64>,
    /// Training seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// A statistical model instead of blocks + head: a baseline (`garch_t`, `gbm`, …) or a
    /// stored script (`script:<name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<String>,
    /// Global gradient-norm clip (the models' default, 1.0, when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip_norm: Option<f64>,
    /// Most recent training windows (0 = the whole history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_windows: Option<u64>,
    /// A label; not part of the experiment (the fingerprint leaves it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl PlannerSpec {
    /// Parses a tool call's `experiment` argument (400-style `invalid` error naming the field).
    pub fn parse(v: &Value) -> Result<Self, ToolError> {
        if !v.is_object() {
            return Err(ToolError::invalid("`experiment` must be a JSON object"));
        }
        serde_json::from_value(v.clone())
            .map_err(|e| ToolError::invalid(format!("experiment: {e}")))
    }

    /// The spec as JSON (what tools answer and the registry keeps for the planner).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// `research::fingerprint::spec_fingerprint` of [`PlannerSpec::to_json`].
    pub fn fingerprint(&self) -> String {
        research::fingerprint::spec_fingerprint(&self.to_json())
    }

    /// The asset, BTC when unset.
    pub fn asset_or_default(&self) -> &str {
        self.asset.as_deref().unwrap_or("BTC")
    }

    /// The timeframe, `5m` when unset.
    pub fn timeframe_or_default(&self) -> &str {
        self.timeframe
            .as_deref()
            .unwrap_or(Timeframe::default().as_str())
    }
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
    /// [`PlannerSpec::fingerprint`] of `spec`.
    pub fingerprint: String,
    /// The spec that ran.
    pub spec: PlannerSpec,
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

/// Progress callback of a batch: `(index in the batch, epoch, epochs, validation CRPS)`.
pub type BatchProgress<'a> = &'a (dyn Fn(usize, u32, u32, Option<f64>) + Sync);

/// What the pipeline needs from research.
pub trait ResearchBackend: Send + Sync {
    /// Blocks, heads and presets.
    fn catalog(&self) -> Result<Catalog, ToolError>;
    /// Checks a spec without training.
    fn validate(&self, spec: &PlannerSpec) -> Result<Validation, ToolError>;
    /// Trains and evaluates `spec`, registers the run (weights included) and returns it.
    /// Failures of the experiment itself come back as a record with status `error`.
    fn run(
        &self,
        name: &str,
        spec: &PlannerSpec,
        progress: Progress<'_>,
    ) -> Result<PlannerRun, ToolError>;
    /// How many experiments [`ResearchBackend::run_batch`] trains at once (the remote
    /// workers' slots; 1 when everything trains on this machine).
    fn slots(&self) -> usize {
        1
    }
    /// Trains several `(name, spec)` experiments as [`ResearchBackend::run`] does each, up to
    /// [`ResearchBackend::slots`] at once, each registered once; outcomes in the order given.
    /// `progress` gets the index of the experiment with its `(epoch, epochs, CRPS)`.
    fn run_batch(
        &self,
        items: &[(String, PlannerSpec)],
        progress: BatchProgress<'_>,
    ) -> Vec<Result<PlannerRun, ToolError>> {
        items
            .iter()
            .enumerate()
            .map(|(i, (name, spec))| self.run(name, spec, &|e, n, c| progress(i, e, n, c)))
            .collect()
    }
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
    /// One run by id (searched in the history unless the backend knows better).
    fn get_run(&self, run_id: &str) -> Result<Option<PlannerRun>, ToolError> {
        Ok(self
            .history(None, None, 100_000)?
            .into_iter()
            .find(|r| r.run_id == run_id))
    }
    /// A paired comparison of `candidate` against `incumbent` (each a run id or a statistical
    /// model's name such as `gbm` or `default`) on the same prompts of `asset` × `timeframe`.
    fn paired(
        &self,
        candidate: &str,
        incumbent: &str,
        asset: &str,
        timeframe: &str,
    ) -> Result<Value, ToolError> {
        let _ = (candidate, incumbent, asset, timeframe);
        Err(ToolError::environment(
            "paired comparisons need the research backend",
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn planner_spec_refuses_a_misspelt_field_and_names_it() {
        let e = PlannerSpec::parse(&json!({"head": "gbm", "d_modle": 32})).unwrap_err();
        assert!(e.message.contains("d_modle"), "{}", e.message);
        assert!(PlannerSpec::parse(&json!(["gbm"])).is_err());
    }

    #[test]
    fn planner_spec_fingerprint_is_the_research_one_of_its_json() {
        let raw =
            json!({"asset": "BTC", "blocks": ["lstm"], "head": "gbm", "d_model": 32, "lr": 0.001});
        let spec = PlannerSpec::parse(&raw).unwrap();
        assert_eq!(spec.to_json(), raw);
        assert_eq!(
            spec.fingerprint(),
            research::fingerprint::spec_fingerprint(&raw)
        );
        let named = PlannerSpec {
            name: Some("x".into()),
            ..spec.clone()
        };
        assert_eq!(named.fingerprint(), spec.fingerprint());
    }
}
