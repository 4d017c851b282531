//! A market-wide volatility factor (issue 19's cross-asset direction, "BTC leads"): how hot
//! the last day was against the last 30 days, per asset, and its median over the assets.
//!
//! Per asset: the mean squared return of the last day over that of the look-back, each return
//! at the history's own step divided by the asset's intraday profile (so a window is compared
//! by level, not by time of day). The median over assets is robust to one asset's own news.

use market::Candles;

use super::{step_returns, IntradayProfile};

/// Look-back of the long-run level, seconds (30 days).
const LOOKBACK_SECS: i64 = 30 * 86_400;
/// The recent window, seconds (a day).
const RECENT_SECS: i64 = 86_400;
/// Returns needed over the look-back.
const MIN_RETURNS: usize = 1000;
/// Returns needed in the recent window.
const MIN_RECENT: usize = 48;
/// Assets needed for a market factor.
const MIN_ASSETS: usize = 3;

/// The last day's deseasonalised realised variance of `history` over its 30-day one, from the
/// returns that end by `end`; `None` with too little history or zero variance.
pub fn own_vol_ratio(history: &Candles, end: i64) -> Option<f64> {
    let step = history.resolution_secs.max(1);
    let ret = step_returns(history, step, end, LOOKBACK_SECS);
    if ret.len() < MIN_RETURNS {
        return None;
    }
    let profile = IntradayProfile::fit(&ret);
    let (mut all, mut recent, mut n_recent) = (0.0, 0.0, 0usize);
    for (t, r) in ret.start.iter().zip(&ret.r) {
        let m = profile.at(*t);
        let x = r * r / (m * m);
        all += x;
        if *t >= end - RECENT_SECS {
            recent += x;
            n_recent += 1;
        }
    }
    let all = all / ret.len() as f64;
    if n_recent < MIN_RECENT || !(all > 0.0 && all.is_finite()) {
        return None;
    }
    let v = recent / n_recent as f64 / all;
    v.is_finite().then_some(v)
}

/// The median of [`own_vol_ratio`] over `histories` (one per asset) at `end`; `None` with
/// fewer than three assets that have one.
pub fn market_vol_ratio<'a>(
    histories: impl IntoIterator<Item = &'a Candles>,
    end: i64,
) -> Option<f64> {
    let mut v: Vec<f64> = histories
        .into_iter()
        .filter_map(|h| own_vol_ratio(h, end))
        .collect();
    if v.len() < MIN_ASSETS {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_data::candles_5m;

    #[test]
    fn a_hot_last_day_raises_the_ratio_and_the_median_ignores_one_asset() {
        let calm = candles_5m(31, |_| 0.002);
        let hot = candles_5m(31, |d| if d >= 29 { 0.006 } else { 0.002 });
        let end = 30 * 86_400;
        let c = own_vol_ratio(&calm, end).unwrap();
        let h = own_vol_ratio(&hot, end).unwrap();
        assert!((c - 1.0).abs() < 0.25, "{c}");
        // 9x the variance on one day (the day-of-week profile absorbs part of it).
        assert!(h > 3.0, "{h}");
        // No look-ahead: the day after `end` (hot in both) does not count.
        let later = candles_5m(31, |d| if d >= 30 { 0.02 } else { 0.002 });
        assert_eq!(own_vol_ratio(&later, end), Some(c));
        // One hot asset among three calm ones leaves the median calm; three of five move it.
        let m1 = market_vol_ratio([&calm, &calm, &calm, &hot], end).unwrap();
        assert!(m1 < 1.3, "{m1}");
        let m3 = market_vol_ratio([&calm, &calm, &hot, &hot, &hot], end).unwrap();
        assert_eq!(m3, h);
        // Too few assets or too little history: none.
        assert!(market_vol_ratio([&calm, &hot], end).is_none());
        let short = calm.slice_time(end - 2 * 86_400, end);
        assert!(own_vol_ratio(&short, end).is_none());
    }
}
