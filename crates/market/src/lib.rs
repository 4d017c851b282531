//! Market data for synth-city: candle series, Pyth history, a local Parquet cache, CSV import,
//! resampling and returns, and a clearly-labelled synthetic market.

pub mod home;
pub mod series;

pub use series::{Candles, Provenance};
