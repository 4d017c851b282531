//! Composable probabilistic forecasting for SN50: input features → backbone blocks over
//! (batch, seq, d_model) → a head that emits a stochastic process → a sampler of price paths;
//! statistical baselines beside the neural models; training by the validators' CRPS.

pub mod error;
pub mod forecaster;
pub mod presets;
pub mod experiment;
pub mod eval;
pub mod data;
pub mod baselines;
pub mod blocks;
pub mod checkpoint;
pub mod features;
pub mod heads;
pub mod loss;
pub mod neural;
pub mod nn;
pub mod registry;
pub mod sampler;
pub mod spec;
pub mod train;
pub mod split;

pub use error::ModelError;
pub use forecaster::{ForecastRequest, Forecaster};
