//! What the registry stores about one run of an experiment.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::fingerprint::DataRange;
use crate::ErrorKind;

/// Who asked for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "id", rename_all = "snake_case")]
pub enum Requester {
    /// The `synth-city` command line.
    Cli,
    /// An agent pipeline run, by its id.
    Pipeline(String),
    /// A bot (bridge session), by its id.
    Bot(String),
}

impl Requester {
    /// `cli`, `pipeline:<id>` or `bot:<id>`.
    pub fn label(&self) -> String {
        match self {
            Requester::Cli => "cli".into(),
            Requester::Pipeline(id) => format!("pipeline:{id}"),
            Requester::Bot(id) => format!("bot:{id}"),
        }
    }

    /// Whose user components this requester reads (besides the public ones): a bot its own
    /// (owner `bot:<id>`, never `local` whatever the id), the command line and pipelines the
    /// local owner's (`local`).
    pub fn component_reader(&self) -> String {
        match self {
            Requester::Bot(_) => self.label(),
            Requester::Cli | Requester::Pipeline(_) => crate::registry::LOCAL_OWNER.to_string(),
        }
    }
}

/// Whether a run was trained/scored on real market data or the synthetic market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataProvenance {
    /// Real market data.
    Real,
    /// Synthetic data (never champion of a real asset).
    Synthetic,
}

impl From<market::Provenance> for DataProvenance {
    fn from(p: market::Provenance) -> Self {
        match p {
            market::Provenance::Real => DataProvenance::Real,
            market::Provenance::Synthetic => DataProvenance::Synthetic,
        }
    }
}

impl DataProvenance {
    /// `real` or `synthetic`.
    pub fn as_str(self) -> &'static str {
        match self {
            DataProvenance::Real => "real",
            DataProvenance::Synthetic => "synthetic",
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Trained and scored.
    Ok,
    /// Failed; see [`RunRecord::error`].
    Failed,
}

impl RunStatus {
    /// `ok` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
        }
    }
}

/// Scores of a run on one asset at one timeframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssetScore {
    /// SN50 asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// Mean SN50 CRPS (basis points, summed over the scoring intervals) over the eval prompts.
    pub crps: f64,
    /// The same score of the reference baseline on the same prompts, when computed.
    pub baseline_crps: Option<f64>,
    /// Mean CRPS per scoring interval (e.g. `5min`, `30min`, `3hour`, `24hour_abs`).
    #[serde(default)]
    pub per_interval: BTreeMap<String, f64>,
    /// Number of evaluation prompts.
    pub prompts: usize,
}

/// How long each phase took, in seconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// Training time.
    pub train_s: f64,
    /// Evaluation (sampling + scoring) time.
    pub eval_s: f64,
    /// Wall time of the whole run.
    pub total_s: f64,
}

/// A failure recorded with a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunFailure {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The message.
    pub message: String,
}

/// An artifact stored with a run (weights, spec, sample paths, plots).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactRef {
    /// File name within the run, e.g. `weights.safetensors`.
    pub name: String,
    /// Object key, e.g. `runs/<run_id>/weights.safetensors` (same locally and remotely).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, hex.
    pub sha256: String,
}

/// Everything the registry knows about one run. Serialises to JSON for tools and the remote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Unique run id: `<experiment id prefix>-<random>`.
    pub run_id: String,
    /// Content-addressed experiment id (64 hex digits).
    pub experiment_id: String,
    /// Free-form name (preset name, agent label).
    pub name: String,
    /// The experiment spec as run (JSON).
    pub spec: serde_json::Value,
    /// Backbone block names, in order (for filters and trends).
    pub blocks: Vec<String>,
    /// Head name.
    pub head: String,
    /// The data range.
    pub data: DataRange,
    /// The seed.
    pub seed: u64,
    /// Real or synthetic data.
    pub provenance: DataProvenance,
    /// Who asked.
    pub requested_by: Requester,
    /// Ok or failed.
    pub status: RunStatus,
    /// The failure, when `status` is failed.
    pub error: Option<RunFailure>,
    /// Headline score: mean CRPS over the assets (lower is better); `None` when failed.
    pub crps: Option<f64>,
    /// `crps / baseline crps` (below 1 beats the baseline), when a baseline was scored.
    pub baseline_ratio: Option<f64>,
    /// Scores per asset and timeframe.
    pub scores: Vec<AssetScore>,
    /// Extra metrics (final train loss, param count, epochs, …).
    #[serde(default)]
    pub extra: BTreeMap<String, f64>,
    /// Phase timings.
    pub timings: Timings,
    /// When the run started.
    pub started_at: DateTime<Utc>,
    /// When the run finished.
    pub finished_at: DateTime<Utc>,
    /// Stored artifacts.
    #[serde(default)]
    pub artifacts: Vec<ArtifactRef>,
    /// Where it ran (`local cpu`, `worker http://host:port cuda:0`); `None` for runs recorded
    /// before placements were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ran_on: Option<String>,
}

impl RunRecord {
    /// Fills `crps` and `baseline_ratio` from `scores` (means over assets).
    pub fn summarise_scores(&mut self) {
        if self.scores.is_empty() {
            return;
        }
        let n = self.scores.len() as f64;
        let crps = self.scores.iter().map(|s| s.crps).sum::<f64>() / n;
        self.crps = Some(crps);
        let base: Option<Vec<f64>> = self.scores.iter().map(|s| s.baseline_crps).collect();
        self.baseline_ratio = base
            .map(|b| b.iter().sum::<f64>() / n)
            .filter(|b| *b > 0.0)
            .map(|b| crps / b);
    }
}
