//! What coordinator and worker send each other (JSON on the wire; typed on both sides).

use std::collections::BTreeMap;

use research::record::{AssetScore, Timings};
use research::{ResearchError, ResolvedData};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Version of this protocol; a worker answers it in its health and refuses other versions.
pub const PROTOCOL: u32 = 1;

/// Longest job id accepted.
pub const MAX_ID_LEN: usize = 128;

/// SHA-256 of `bytes`, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// True for ids made of `[A-Za-z0-9_-]`, 1..=128 long (job ids and hashes in paths).
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The candles of one asset a job runs on, uploaded beforehand (`PUT /v1/data/{sha256}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRef {
    /// Asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// SHA-256 of the uploaded JSON of `models::experiment::PreparedData`.
    pub sha256: String,
}

/// One experiment for a worker (`PUT /v1/jobs/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// Protocol version.
    pub protocol: u32,
    /// The research spec (normalised by the coordinator).
    pub spec: Value,
    /// The resolved data range and provenance.
    pub data: ResolvedData,
    /// Seed.
    pub seed: u64,
    /// The candles, per asset.
    pub inputs: Vec<DataRef>,
}

impl JobSpec {
    /// Hash of the job's content: a second `PUT` of the same id must carry the same job.
    pub fn digest(&self) -> String {
        sha256_hex(&serde_json::to_vec(self).unwrap_or_default())
    }
}

/// State of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for a slot.
    Queued,
    /// Training or scoring.
    Running,
    /// Finished; `result` is set.
    Done,
    /// Failed; `error` is set.
    Failed,
    /// Cancelled by the coordinator.
    Cancelled,
}

impl JobState {
    /// True once the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }
}

/// One training epoch, as the worker reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgressEvent {
    /// Asset.
    pub asset: String,
    /// Walk-forward fold (0-based).
    pub fold: usize,
    /// Epoch (0-based).
    pub epoch: usize,
    /// Training loss.
    pub train_loss: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Mean gradient norm before clipping.
    pub grad_norm: f64,
}

/// A file a job produced, fetched with `GET /v1/jobs/{id}/files/{index}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Name under the run (`weights.safetensors`, `sample-btc.json`, …).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex: the coordinator refuses a file that does not match.
    pub sha256: String,
}

/// What a finished job produced (the files are fetched separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobResult {
    /// Scores per asset.
    pub scores: Vec<AssetScore>,
    /// Extra metrics.
    pub extra: BTreeMap<String, f64>,
    /// Timings on the worker.
    pub timings: Timings,
    /// The weights of the first asset (a neural model), as `files[weights]`.
    pub weights: Option<usize>,
    /// Every file: weights first when present.
    pub files: Vec<FileRef>,
    /// Fan-chart data.
    pub fan: Option<research::plot::FanData>,
    /// The device it trained on (`cpu`, `cuda:0`).
    pub device: String,
}

/// `GET /v1/jobs/{id}`: state, progress since `?since=N`, and the outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    /// Job id.
    pub id: String,
    /// State.
    pub state: JobState,
    /// Progress events from index `first_event` on.
    pub events: Vec<ProgressEvent>,
    /// Index of `events[0]` in the job's whole event list.
    pub first_event: usize,
    /// The result when done.
    pub result: Option<JobResult>,
    /// The error when failed (its kind, e.g. training diverged).
    pub error: Option<ResearchError>,
}

/// `GET /v1/health` (no token needed; says nothing private).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always true when it answers.
    pub ok: bool,
    /// Protocol version.
    pub protocol: u32,
    /// synth-city version.
    pub version: String,
    /// Experiments it runs at once.
    pub slots: usize,
    /// Jobs queued or running now.
    pub busy: usize,
    /// Training device (`cpu`, `cuda:0`).
    pub device: String,
}

/// An error answer: `{"error": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}
