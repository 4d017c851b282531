//! Composable probabilistic forecasting for SN50: input features → backbone blocks over
//! (batch, seq, d_model) → a head that emits a stochastic process → a sampler of price paths;
//! statistical baselines beside the neural models; training by the validators' CRPS.

pub mod aliases;
pub mod alloc;
pub mod baselines;
pub mod blocks;
pub mod checkpoint;
pub mod components;
pub mod data;
pub mod device;
pub mod error;
pub mod estimate;
pub mod eval;
pub mod experiment;
pub mod features;
pub mod forecaster;
pub mod fpenv;
pub mod graph;
pub mod heads;
pub mod loss;
pub mod neural;
pub mod nn;
pub mod oracle;
pub mod presets;
pub mod registry;
pub mod rng;
pub mod sampler;
pub mod script;
pub mod spec;
pub mod split;
pub mod train;
pub mod trained;

pub use error::ModelError;

/// The revision of the models' behaviour, bumped whenever the paths of a model for the same
/// spec, data and seed change (sampler or noise RNG, a baseline's defaults, the numerics of
/// an op). Research experiment ids include it: runs of an earlier revision are kept, and
/// shown, but not reused as current results. 2: fused CPU ops and AVX2 elementwise
/// passes, xoshiro256++ noise, session-aware baselines (2026-12-01). 3: TCN, WaveNet and
/// TimesNet convolutions as products of shifted inputs (`nn::conv_taps`; candle's batched
/// `Conv1d` had given the TCN and WaveNet wrong gradients), fused TCN gate (2026-12-06).
/// 4: TimesNet's aggregation weights from the chosen frequencies' own DFT product and its
/// branches added onto the input one at a time (`nn::scaled_add`), the tap convolutions as
/// one op (`nn::conv_taps`; 2026-12-06 night). 5: attention divides its (T, hd) output rows
/// by the weights' row sums instead of the (T, T) weights, and each half of a Transformer
/// encoder layer is one op (`nn::sdpa`, `nn::encoder_op`; Transformer numbers change in the
/// last bits; 2026-12-07).
pub const REVISION: u32 = 5;
pub use forecaster::{ForecastRequest, Forecaster};
