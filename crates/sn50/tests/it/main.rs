//! Integration tests of the `sn50` crate: the validator's test vectors (spec §6) and invariants.

mod crps_vectors;
mod grid_vectors;
mod properties;
