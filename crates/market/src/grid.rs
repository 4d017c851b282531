//! The validator's real-price grid for a prompt (what the validator scores against): the close of the
//! candle opening exactly at each grid time `start, start + inc, …, start + length`; `NaN`
//! where there is none (no interpolation, no forward fill).
//!
//! The grid itself is `sn50::real_price_grid` (Python `range(start, start + length + increment,
//! increment)`, exact timestamp match, last duplicate wins); the §6.6 vectors in the tests pin it.

use crate::{Candles, MarketError};

/// Real prices on the prompt grid from candle open times `ts` and closes `close`: the sn50
/// crate's rule, re-exported so callers of `market` need not depend on `sn50` for it.
pub use sn50::real_price_grid;

/// True when a candle after the end of the prompt proves it settled: `max(ts) > start + length`.
pub fn is_settled(ts: &[i64], start: i64, length: i64) -> bool {
    ts.iter().max().is_some_and(|&m| m > start + length)
}

/// The real-price grid of a prompt from a candle series, as the validator scores it:
/// an error when the prompt has not settled or the last grid price is missing.
pub fn prompt_prices(
    c: &Candles,
    start: i64,
    increment: i64,
    length: i64,
) -> Result<Vec<f64>, MarketError> {
    if !is_settled(&c.ts, start, length) {
        return Err(MarketError::Invalid(format!(
            "realized path not yet settled: no {} candle after {}",
            c.asset,
            start + length
        )));
    }
    let window = c.slice_time(start, start + length + increment + 1);
    let prices = real_price_grid(&window.ts, &window.close, start, increment, length);
    if prices.last().is_none_or(|p| p.is_nan()) {
        return Err(MarketError::Invalid(format!(
            "missing price data for the last timestamp {} of {}",
            start + length,
            c.asset
        )));
    }
    Ok(prices)
}
