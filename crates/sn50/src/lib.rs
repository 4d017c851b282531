//! Bittensor SN50 (Synth) rules as a library: prompt configs, the response format and its
//! validation, and a bit-exact replica of the validator's scoring.

pub mod paths;

pub use paths::{PathSet, PathSetError};
