//! The validator's real-price grid for a prompt (`synth-subnet.md` §5.2): the close of the
//! candle opening exactly at each grid time `start, start + inc, …, start + length`; `NaN`
//! where there is none (no interpolation, no forward fill).
//!
//! This is a local copy of the sn50 rule: `sn50::real_price_grid` did not exist when this crate
//! was written. Switch to it once it does; the §6.6 vectors in the tests pin the behaviour.

use std::collections::HashMap;

use crate::{Candles, MarketError};

/// Real prices on the prompt grid from candle open times `ts` and closes `close`.
/// The grid is Python's `range(start, start + length + increment, increment)`: `length /
/// increment + 1` values when `increment` divides `length`, one more past `start + length`
/// otherwise. Empty when `ts` is empty (as the validator does).
pub fn real_price_grid(
    ts: &[i64],
    close: &[f64],
    start: i64,
    increment: i64,
    length: i64,
) -> Vec<f64> {
    if ts.is_empty() || increment <= 0 || length < 0 {
        return Vec::new();
    }
    // like Python's dict(zip(t, c)): a repeated time keeps its last close
    let close_by_t: HashMap<i64, f64> = ts.iter().copied().zip(close.iter().copied()).collect();
    let n = (length + 2 * increment - 1) / increment;
    (0..n)
        .map(|k| {
            close_by_t
                .get(&(start + k * increment))
                .copied()
                .unwrap_or(f64::NAN)
        })
        .collect()
}

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
