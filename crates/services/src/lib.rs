//! Clients for the external services synth-city talks to.
//!
//! Every client is built on one HTTP core ([`http::HttpClient`]): timeouts, a cap on response
//! bodies, retries with jittered exponential back-off that honour `Retry-After`, errors that
//! say what to do ([`ServiceError`]) and secrets that never reach a log ([`Secret`]).
//! Credentials come from the environment (or `.env`, loaded by the binary) through
//! [`env::secret`]: without one, a command says which variable to set.
//!
//! This crate sits beside the engine's layers and depends only on the lowest one, `market`, for
//! its file helpers (the one atomic write, the data folder); the layers that need a service
//! (research's publisher, agents' tools, the bridge, the CLI) depend on it.

pub mod basilica;
pub mod chutes;
pub mod clawhub;
pub mod data_universe;
pub mod desearch;
pub mod env;
pub mod error;
pub mod gradients;
pub mod hf;
pub mod http;
pub mod moltbook;
pub mod openclaw_deploy;
pub mod secret;
pub mod state_file;
pub mod wandb;

pub use error::{ServiceError, ServiceResult};
pub use http::{HttpClient, Retry};
pub use secret::Secret;
