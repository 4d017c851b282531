//! synth-city `bridge`: the HTTP API through which many OpenClaw bots steer research at once.
//!
//! Each bot has its own API key (stored hashed); its id comes from the key. Each bot gets a
//! session (pipeline state, results, a workspace no path can leave) that survives being
//! reaped from memory. Long jobs share a fixed number of compute slots, queued fairly.
//! Handlers talk to the engine only through the [`Backend`] trait: [`EngineBackend`] is the real
//! engine (research sessions, the research registry, the agents orchestrator, market data). It
//! is the only engine: the HTTP tests use a small double of it (`tests/it/double.rs`).

pub mod api;
pub mod backend;
pub mod client;
pub mod engine;
pub mod error;
pub mod events;
pub mod http;
pub mod keys;
pub mod limits;
pub mod openapi;
pub mod openclaw_state;
pub mod server;
pub mod sessions;
pub mod skill;
pub mod slots;
pub mod types;
pub mod workspace;

pub use backend::{Backend, HistoryQuery, Job, PipelineRequest};
pub use engine::{EngineBackend, EngineOptions};
pub use error::{ApiError, ApiResult, ErrorKind};
pub use keys::KeyStore;
pub use limits::{ModelLimits, ModelSize, WorkspaceQuota};
pub use server::{serve_blocking, serve_forever, start, BridgeConfig, Running, ServeError};
pub use slots::SlotLimits;
pub use types::RunView;

/// The default backend: [`EngineBackend`] on the default research archive (registry and
/// artifacts under `SYNTH_CITY_HOME`, default `~/.local/share/synth-city`).
pub fn default_backend(options: EngineOptions) -> ApiResult<std::sync::Arc<dyn Backend>> {
    Ok(std::sync::Arc::new(EngineBackend::open_default(options)?))
}
