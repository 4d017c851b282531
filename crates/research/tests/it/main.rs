//! Integration tests of the research crate (one binary).

mod common;
mod models_runner;
mod promotion;
mod publish;
#[path = "../../../services/tests/it/hub_stub.rs"]
mod hub_stub;
mod registry;
mod s3;
mod snapshot;
mod session;
mod store;
