//! synth-city `bridge`: the HTTP API through which many OpenClaw bots steer research at once.
//!
//! Each bot has its own API key (stored hashed); its id comes from the key. Each bot gets a
//! session (pipeline state, results, a workspace no path can leave) that survives being
//! reaped from memory. Long jobs share a fixed number of compute slots, queued fairly.
//! Handlers talk to the engine only through the [`Backend`] trait; [`LocalBackend`] is the
//! built-in implementation.

pub mod api;
pub mod backend;
pub mod client;
pub mod error;
pub mod events;
pub mod keys;
pub mod local;
pub mod openapi;
pub mod server;
pub mod sessions;
pub mod skill;
pub mod slots;
pub mod workspace;

pub use backend::{Backend, HistoryQuery, Job, PipelineRequest};
pub use error::{ApiError, ApiResult, ErrorKind};
pub use keys::KeyStore;
pub use local::LocalBackend;
pub use server::{serve_blocking, serve_forever, start, BridgeConfig, Running, ServeError};
pub use slots::SlotLimits;

/// The default backend: [`LocalBackend`] with its registry under `state_dir/stand-in` and price
/// history from `<data dir>/data`, then `../shared/data`.
pub fn default_backend(state_dir: &std::path::Path) -> ApiResult<std::sync::Arc<dyn Backend>> {
    let mut dirs = vec![market::home::data_dir().join("data")];
    if let Some(shared) = market::home::shared_dir() {
        dirs.push(shared.join("data"));
    }
    Ok(std::sync::Arc::new(LocalBackend::new(
        state_dir.join("stand-in"),
        dirs,
    )?))
}
