//! Shared neural layers: seeded parameter creation, dense / norm layers, attention.

#[macro_use]
pub mod simd;

pub mod affine;
pub mod attention;
pub mod causal_conv;
pub mod conv_taps;
pub mod cpu;
pub mod cumsum;
pub mod encoder_op;
pub mod gelu;
pub mod gemm;
pub mod gru_scan;
pub mod init;
pub mod layernorm;
pub mod layers;
pub mod linear_op;
pub mod lstm_scan;
pub mod mlp_op;
pub mod scalar;
pub mod scaled_add;
pub mod sdpa;
pub mod selective_scan;
pub mod softmax;
pub mod tanh_gate;

pub use init::ParamStore;
pub use layers::{Act, LayerNorm, Linear, Mlp};
