//! synth-city `research` layer: experiment sessions, the registry of every result (SQLite),
//! artifact storage (local files mirrored to Hippius S3 through a durable outbox) and plots.

pub mod error;
pub mod fingerprint;
pub mod record;
pub mod registry;

pub use error::{ErrorKind, ResearchError, Result};
pub use fingerprint::{experiment_id, fingerprint, DataRange};
pub use record::{
    ArtifactRef, AssetScore, DataProvenance, Requester, RunFailure, RunRecord, RunStatus, Timings,
};
pub use registry::{
    Champion, ComponentDraft, ComponentKind, HistoryOrder, HistoryQuery, Novelty, Registry,
    StoredComponent,
};
pub mod store;
pub use store::{Archive, Remote, RemoteConfig};
pub mod plot;
pub mod publish;
pub mod report;
pub mod runner;
pub mod session;
pub use runner::{DataRequest, ExperimentRunner, PresetInfo, ResolvedData, RunOutput, Validation};
pub use session::{RankEntry, Ranking, ResearchSession, RunOutcome, RunRequest, Summary};
pub mod models_runner;
pub use models_runner::{max_model_bytes, ModelsRunner};
pub mod model_store;
pub use model_store::{
    load_model, load_model_on, load_sample, LoadedModel, ModelManifest, StoredSample,
};
pub mod promotion;
pub use promotion::{
    CheckVerdict, Contender, PairedComparison, PromoteRequest, PromotionOutcome, PromptSet,
};
pub use registry::{Promotion, PromotionAction};
