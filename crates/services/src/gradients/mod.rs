//! Gradients (Bittensor SN56): fine-tuning jobs on the subnet's miners.
//!
//! [`Gradients::submit`] creates a chat fine-tuning task (base model, dataset, hours, output
//! name) from a Hugging Face dataset repository or from a URL of a JSONL file (a custom
//! dataset); [`Gradients::task`] reads its status ([`TaskStatus`], walking `pending →
//! preparing_data → looking_for_nodes → ready → training → evaluating → success`);
//! [`Gradients::cancel`] deletes it. The trained model is a Hugging Face repository
//! (`trained_model_repository`), which Chutes can serve to synth-city's agents.
//! [`upload_dataset`] puts a JSONL training set in a Hugging Face Hub dataset repository (the
//! services' Hub client) and returns the repository and URL a task can train on.
//! [`JobStore`] keeps the jobs submitted from here (`<data>/gradients/jobs.json`), so that
//! `gradients list|status` still know them after a restart.
//!
//! Protocol (`shared/research/services.md` §7): REST JSON at `https://api.gradients.io`,
//! `Authorization: Bearer <key>`; errors carry `{detail}` or `{message}`.

mod client;
mod store;
mod types;
mod upload;

pub use client::Gradients;
pub use store::{JobRecord, JobStore};
pub use types::{DatasetSource, JobSpec, Task, TaskStatus, MAX_HOURS};
pub use upload::{check_jsonl, upload_dataset, UploadedDataset, MAX_DATASET_BYTES};

/// The variable holding the API key (gradients.io account).
pub const KEY_ENV: &str = "GRADIENTS_API_KEY";
/// The variable that overrides the base URL (the SDK's name).
pub const URL_ENV: &str = "GRADIENTS_API_URL";
/// The service's base URL.
pub const DEFAULT_URL: &str = "https://api.gradients.io";
/// The service's name in messages.
pub const SERVICE: &str = "Gradients";
