//! The one interface every model implements, neural or statistical: history in, price paths out.

use market::Candles;
use sn50::PathSet;

/// A prompt as a forecaster sees it: history up to the start time, and what to produce.
#[derive(Debug, Clone)]
pub struct ForecastRequest<'a> {
    /// SN50 asset name.
    pub asset: &'a str,
    /// Candles strictly usable at prompt time: every candle's close is known at or before
    /// `start_time` (callers slice it; forecasters must not look past its end).
    pub history: &'a Candles,
    /// The start price (the first point of every path).
    pub start_price: f64,
    /// Prompt start, UTC unix seconds.
    pub start_time: i64,
    /// Seconds between path points (300 for LOW, 60 for HIGH).
    pub time_increment: u32,
    /// Horizon in seconds (86,400 for LOW, 3,600 for HIGH).
    pub time_length: u32,
    /// Number of paths to sample (1,000 on SN50).
    pub num_simulations: usize,
    /// Seed: the same request and seed give the same paths.
    pub seed: u64,
    /// Optional context beyond the asset's own history ([`ForecastContext`]); models must give
    /// valid paths without it (`ForecastContext::default()`: none).
    pub context: ForecastContext<'a>,
}

/// What a caller may know at prompt time beyond `history`. Each part is `None` where the caller
/// has none; a model may sharpen its volatility level with it and falls back without it.
#[derive(Debug, Clone, Copy, Default)]
pub struct ForecastContext<'a> {
    /// A finer series of the same asset, cut like `history` (every candle closed at or before
    /// `start_time`): at LOW the 1-minute candles beside the 5-minute `history` (the backtest
    /// engine and the miner fill it); `None` at HIGH, whose history is already 1-minute.
    pub fine: Option<&'a Candles>,
    /// A market-wide volatility factor at the start time: the median over the SN50 assets of
    /// their last day's deseasonalised realised variance over their 30-day one
    /// ([`market_vol_ratio`](crate::baselines::market_vol_ratio)); 1 is a usual day.
    pub market_vol: Option<f64>,
}

impl ForecastRequest<'_> {
    /// Points per path, the start price included: `time_length / time_increment + 1`.
    pub fn n_points(&self) -> usize {
        (self.time_length / self.time_increment) as usize + 1
    }
}

/// Anything that turns history into SN50 price paths.
pub trait Forecaster: Send + Sync {
    /// A short name for tables and the registry (e.g. `gbm`, `garch_t`, `lstm+mixture`).
    fn name(&self) -> String;

    /// Samples `req.num_simulations` paths of `req.n_points()` points, each starting at
    /// `req.start_price`, all positive and finite.
    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, crate::ModelError>;
}
