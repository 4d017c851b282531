//! synth-city `autopilot`: one restartable service that mines and improves what it mines.
//!
//! - the miner's axon ([`miner`]) serving validators, its history kept fresh by the miner's
//!   auto-sync, also run on a schedule ([`sync_task`]);
//! - research rounds within a daily budget: the agents' pipeline with the built-in planner or
//!   an LLM, or statistical baselines re-run on fresh data ([`research_task`]);
//! - promotion by the paired comparison of `research::promotion` against the current champion,
//!   then the hot swap of the registry's champion into the miner ([`promote_task`]);
//! - the schedule ([`schedule`]) and the state ([`state`]) that make a restart resume, the
//!   Prometheus metrics ([`metrics`]) and the status report ([`status`]); [`service`] ties
//!   them together.

pub mod config;
pub mod metrics;
pub mod promote_task;
pub mod research_task;
pub mod schedule;
pub mod service;
pub mod state;
pub mod status;
pub mod sync_task;

pub use config::{AutopilotConfig, PromoteConfig, ResearchConfig, ResearchMode};
pub use metrics::AutopilotMetrics;
pub use service::{Autopilot, AutopilotError};
pub use state::AutopilotState;
pub use status::Status;
