//! Integration tests of the market crate (one test binary).

mod cache;
mod embedded;
mod grid;
mod import;
mod pyth;
mod shared_data;
mod synthetic;
