//! Composable probabilistic forecasting for SN50: input features → backbone blocks over
//! (batch, seq, d_model) → a head that emits a stochastic process → a sampler of price paths;
//! statistical baselines beside the neural models; training by the validators' CRPS.

pub mod alloc;
pub mod baselines;
pub mod blocks;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod eval;
pub mod experiment;
pub mod features;
pub mod forecaster;
pub mod heads;
pub mod loss;
pub mod neural;
pub mod nn;
pub mod presets;
pub mod registry;
pub mod sampler;
pub mod spec;
pub mod split;
pub mod train;
pub mod trained;

pub use error::ModelError;
pub use forecaster::{ForecastRequest, Forecaster};
