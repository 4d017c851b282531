//! The realised-price grid the validator scores against (`price_data_provider.py`): the close of
//! the 1-minute candle that opens exactly at each grid time, NaN where there is none.

use std::collections::HashMap;

/// Why realised prices are not ready for scoring; the validator skips and retries later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GridError {
    /// No candle after the last grid time yet (the settlement witness is missing).
    #[error("realized path not yet settled: no candle after {last_grid_time} (latest {latest:?})")]
    NotSettled {
        /// `start + length`.
        last_grid_time: i64,
        /// Latest candle time, if any.
        latest: Option<i64>,
    },
    /// The grid is empty or its last point is missing.
    #[error("missing price data for the last timestamp {0}")]
    MissingLast(i64),
}

/// The grid `range(start, start + length + increment, increment)` mapped to the close of the candle whose
/// open time is exactly that timestamp (NaN where missing). Empty when there are no candles or
/// `increment <= 0`. With duplicate timestamps the last one wins, as in a Python dict.
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
    let by_t: HashMap<i64, f64> = ts.iter().copied().zip(close.iter().copied()).collect();
    // Python `range(start, start + length + increment, increment)`.
    let count = (length + increment + increment - 1) / increment;
    (0..count)
        .map(|k| {
            by_t.get(&(start + k * increment))
                .copied()
                .unwrap_or(f64::NAN)
        })
        .collect()
}

/// The settlement guard: some candle must open after `start + length`.
pub fn check_settled(ts: &[i64], start: i64, length: i64) -> Result<(), GridError> {
    let last_grid_time = start + length;
    let latest = ts.iter().copied().max();
    match latest {
        Some(t) if t > last_grid_time => Ok(()),
        _ => Err(GridError::NotSettled {
            last_grid_time,
            latest,
        }),
    }
}

/// The last-price check run after the grid is built: it must be non-empty with a real last point.
pub fn check_last_price(prices: &[f64], start: i64, length: i64) -> Result<(), GridError> {
    match prices.last() {
        Some(p) if !p.is_nan() => Ok(()),
        _ => Err(GridError::MissingLast(start + length)),
    }
}

/// Settlement guard, grid, last-price check: the realised prices the validator would score with.
pub fn realized_prices(
    ts: &[i64],
    close: &[f64],
    start: i64,
    increment: i64,
    length: i64,
) -> Result<Vec<f64>, GridError> {
    check_settled(ts, start, length)?;
    let prices = real_price_grid(ts, close, start, increment, length);
    check_last_price(&prices, start, length)?;
    Ok(prices)
}
