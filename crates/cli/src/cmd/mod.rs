//! One module per area of the engine; each defines a `Cmd` enum of top-level subcommands
//! (flattened into the binary's command list) and a `run` function.

pub mod agents;
pub mod args;
pub mod autopilot;
pub mod backtest;
pub mod bridge;
pub mod compute;
pub mod env;
pub mod intel;
pub mod market;
pub mod miner;
pub mod models;
pub mod moltbook;
pub mod publish;
pub mod research;
pub mod sn50;
pub mod worker;
