//! Shared neural layers: seeded parameter creation, dense / norm layers, attention.

pub mod attention;
pub mod cpu;
pub mod cumsum;
pub mod gelu;
pub mod gemm;
pub mod gru_scan;
pub mod init;
pub mod layernorm;
pub mod layers;
pub mod lstm_scan;
pub mod scalar;
pub mod selective_scan;
pub mod softmax;

pub use init::ParamStore;
pub use layers::{Act, LayerNorm, Linear, Mlp};
