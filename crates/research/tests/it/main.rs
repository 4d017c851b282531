//! Integration tests of the research crate (one binary).

mod common;
mod models_runner;
mod promotion;
mod registry;
mod s3;
mod snapshot;
mod session;
mod store;
