//! The narrow research interface the tools and the built-in planner need. The `research` crate's
//! session and registry implement it (see `research_binding`); tests use an in-memory fake.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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

/// One registered run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Registry id.
    pub run_id: String,
    /// Human name.
    #[serde(default)]
    pub name: String,
    /// Fingerprint of the spec ([`fingerprint`]).
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

impl RunRecord {
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
    fn run(&self, name: &str, spec: &Value, progress: Progress<'_>)
        -> Result<RunRecord, ToolError>;
    /// Past runs for `asset` × `timeframe` (all assets when `None`), any order.
    fn history(
        &self,
        asset: Option<&str>,
        timeframe: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, ToolError>;
    /// The current champion for `asset` × `timeframe`.
    fn champion(&self, asset: &str, timeframe: &str) -> Result<Option<RunRecord>, ToolError>;
    /// Makes `run_id` the champion of its asset × timeframe; returns it.
    fn promote(&self, run_id: &str) -> Result<RunRecord, ToolError>;
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

/// A shared backend.
pub type Backend = Arc<dyn ResearchBackend>;

/// A stable 16-hex-digit fingerprint of a spec: keys sorted recursively, `name` ignored.
pub fn fingerprint(spec: &Value) -> String {
    let mut canon = canonical(spec);
    if let Value::Object(m) = &mut canon {
        m.remove("name");
    }
    let text = canon.to_string();
    // FNV-1a 64: stable across builds and platforms, unlike std's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprint_ignores_key_order_and_name() {
        let a = json!({"blocks":["lstm"],"head":"gbm","d_model":32,"name":"x"});
        let b = json!({"d_model":32,"head":"gbm","blocks":["lstm"]});
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(
            fingerprint(&a),
            fingerprint(&json!({"blocks":["gru"],"head":"gbm","d_model":32}))
        );
        assert_eq!(fingerprint(&a).len(), 16);
    }
}
