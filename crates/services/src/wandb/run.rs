//! What one logged run carries: its id and names, config, history lines (per-epoch losses),
//! summary (final metrics) and files (the fan chart). Serialisable, so a run that could not be
//! sent can be kept and sent later exactly as built.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A file logged with a run (an image, a JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFile {
    /// Path in the run (`media/images/fan_chart.png`).
    pub name: String,
    /// Bytes.
    pub bytes: Vec<u8>,
}

/// A run to log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunLog {
    /// Run id in the project (stable: logging the same run again updates it).
    pub name: String,
    /// Display name.
    pub display_name: String,
    /// Group (e.g. the experiment id).
    pub group: Option<String>,
    /// Job type (`train`, `baseline`).
    pub job_type: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Config: key → value (sent as W&B's `{"key": {"value": …}}`).
    pub config: Map<String, Value>,
    /// History lines, in order (`_step` is added when absent).
    pub history: Vec<Map<String, Value>>,
    /// Final metrics.
    pub summary: Map<String, Value>,
    /// Files to upload.
    pub files: Vec<RunFile>,
    /// Notes.
    pub notes: Option<String>,
}

impl RunLog {
    /// The config in W&B's form: every key wrapped as `{"value": …}`.
    pub fn wandb_config(&self) -> Value {
        Value::Object(
            self.config
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::json!({ "value": v })))
                .collect(),
        )
    }

    /// History lines as the text `file_stream` appends (`_step` filled in).
    pub fn history_lines(&self) -> Vec<String> {
        self.history
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let mut row = row.clone();
                row.entry("_step").or_insert_with(|| Value::from(i as u64));
                Value::Object(row).to_string()
            })
            .collect()
    }
}
