//! Shared neural layers: seeded parameter creation, dense / norm layers, attention.

pub mod attention;
pub mod cumsum;
pub mod init;
pub mod layers;

pub use init::ParamStore;
pub use layers::{Act, LayerNorm, Linear, Mlp};
