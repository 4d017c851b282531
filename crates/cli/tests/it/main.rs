//! End-to-end tests of the `synth-city` binary, one module per area.

mod agents;
mod autopilot;
mod backtest;
mod bridge;
mod champion_workers;
mod components;
mod compute;
mod edge;
mod env;
mod intel;
mod market;
mod miner;
mod models;
mod openclaw;
mod research;
mod sn50;

/// Path of the built `synth-city` binary.
pub fn bin() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_BIN_EXE_synth-city"))
}
