//! Integration tests of the `models` crate, one module per area.

mod split;
