//! Remote experiment workers.
//!
//! `synth-city worker --listen ADDR` serves [`server::router`]: a coordinator hands it an
//! experiment (spec, resolved data range, seed) and the candles it runs on (uploaded once per
//! worker, addressed by SHA-256), polls its progress, and fetches the result and every file
//! (weights, samples) back, each checked against the hash the worker reported. Jobs are
//! idempotent by id; a job can be cancelled; `/v1/health` says how many slots the worker has.
//! Every call but health needs the worker's bearer token.
//!
//! On the coordinator, [`pool::WorkerPool`] is a `research::ExperimentRunner`: a research
//! session (experiment, sweep, pipeline, the bridge) runs through it unchanged, its runs go to the workers
//! named in `SYNTH_CITY_WORKERS` (up to each one's slots at once), a worker that dies mid-run
//! has its experiment run again elsewhere (the local CPU when none is left), and the session
//! records every result in the coordinator's registry, once. [`dispatch::runner_from_env`] is
//! the one place a caller picks the local runner or the pool.

pub mod client;
pub mod config;
pub mod dispatch;
pub mod pool;
pub mod protocol;
pub mod server;

pub use config::{WorkerAddr, WORKERS_ENV, WORKER_TOKEN_ENV};
pub use dispatch::{runner_for, runner_from_env, Dispatch};
pub use pool::WorkerPool;
pub use server::{serve, WorkerOptions, WorkerState};
