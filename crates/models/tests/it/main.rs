//! Integration tests of the `models` crate, one module per area.

mod baselines;
mod eval;
mod experiment_artifacts;
mod forecast_quality;
mod fpenv;
mod neural_blocks;
mod neural_device;
mod neural_features;
mod neural_loss;
mod neural_ops;
mod neural_registry;
mod neural_spec;
mod neural_support;
mod neural_train;
mod split;
mod user_components;
