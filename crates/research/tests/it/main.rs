//! Integration tests of the research crate (one binary).

mod common;
#[path = "../../../services/tests/it/hub_stub.rs"]
mod hub_stub;
mod models_runner;
mod promotion;
mod publish;
mod registry;
mod s3;
mod session;
mod snapshot;
mod store;
#[path = "../../../services/tests/it/wandb_stub.rs"]
mod wandb_stub;
