//! Integration tests of the research crate (one binary).

mod common;
mod registry;
mod s3;
mod session;
