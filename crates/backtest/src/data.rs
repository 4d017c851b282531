//! Real price history per asset: 1-minute candles (the realised prices, and HIGH's inputs) and
//! 5-minute candles (LOW's inputs: the 5-minute file, completed by 5-minute buckets of the
//! 1-minute series where the file has a gap). Only real data; never the synthetic market.

use std::collections::BTreeMap;

use market::{resample, BucketRule, Candles};
use models::data::{load_history, DataPolicy};

use crate::schedule::Competition;
use crate::BacktestError;

/// One asset's series.
#[derive(Debug, Clone)]
pub struct AssetData {
    /// 1-minute candles.
    pub one_min: Candles,
    /// 5-minute candles.
    pub five_min: Candles,
}

/// Loaded assets by SN50 name.
pub type MarketData = BTreeMap<String, AssetData>;

impl AssetData {
    /// Builds the 5-minute series from `five_min_file` (may be empty) and `one_min`.
    pub fn new(one_min: Candles, five_min_file: Candles) -> Self {
        let from_one = resample(&one_min, 300, BucketRule::CompleteOnly)
            .unwrap_or_else(|_| Candles::empty(one_min.asset.clone(), 300, one_min.provenance));
        let five_min = merge_prefer(&five_min_file, &from_one);
        Self { one_min, five_min }
    }

    /// The input series of `competition` (5 m for LOW, 1 m for HIGH).
    pub fn inputs(&self, competition: Competition) -> &Candles {
        match competition {
            Competition::Low => &self.five_min,
            Competition::High => &self.one_min,
        }
    }

    /// What a miner may know at `request_time`: the candles of the competition's input series
    /// that opened within `lookback_secs` before it and *closed* at or before it.
    pub fn history_at(
        &self,
        competition: Competition,
        request_time: i64,
        lookback_secs: i64,
    ) -> Candles {
        let c = self.inputs(competition);
        let res = i64::from(c.resolution_secs);
        c.slice_time(request_time - lookback_secs, request_time - res + 1)
    }

    /// The finer context beside [`history_at`](Self::history_at): at LOW the 1-minute candles
    /// cut the same way (opened within `lookback_secs`, closed by `request_time`); `None` at
    /// HIGH, whose inputs are already 1-minute.
    pub fn fine_at(
        &self,
        competition: Competition,
        request_time: i64,
        lookback_secs: i64,
    ) -> Option<Candles> {
        (competition == Competition::Low).then(|| {
            let res = i64::from(self.one_min.resolution_secs);
            self.one_min
                .slice_time(request_time - lookback_secs, request_time - res + 1)
        })
    }

    /// 1-minute candles from `start` up to a few minutes past the horizon (the settlement
    /// witness the validator needs).
    pub fn truth(&self, start: i64, time_length: i64) -> Candles {
        self.one_min.slice_time(start, start + time_length + 3 * 60)
    }
}

/// The market-wide volatility factor at `request_time` for a LOW prompt
/// (`models::baselines::market_vol_ratio` over every loaded asset's 5-minute history closed by
/// then); `None` at HIGH or with fewer than three assets that have enough history.
pub fn market_vol_at(
    data: &MarketData,
    competition: Competition,
    request_time: i64,
) -> Option<f64> {
    if competition != Competition::Low {
        return None;
    }
    let lookback = 31 * 86_400;
    let h: Vec<Candles> = data
        .values()
        .map(|a| a.history_at(Competition::Low, request_time, lookback))
        .collect();
    models::baselines::market_vol_ratio(h.iter(), request_time)
}

/// Union of two series on their time grid; `a` wins where both have a candle.
pub fn merge_prefer(a: &Candles, b: &Candles) -> Candles {
    let mut out = Candles::empty(
        a.asset.clone(),
        a.resolution_secs.max(b.resolution_secs),
        a.provenance,
    );
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && a.ts[i] <= b.ts[j]);
        let (c, k) = if take_a { (a, i) } else { (b, j) };
        if take_a {
            if j < b.len() && b.ts[j] == a.ts[i] {
                j += 1;
            }
            i += 1;
        } else {
            j += 1;
        }
        out.ts.push(c.ts[k]);
        out.open.push(c.open[k]);
        out.high.push(c.high[k]);
        out.low.push(c.low[k]);
        out.close.push(c.close[k]);
    }
    out
}

/// Loads the real data of `assets` (cache, then the shared files) and keeps `[from, to)`.
/// Assets without 1-minute data are left out and named in the returned notes.
pub fn load_market(
    assets: &[String],
    from: i64,
    to: i64,
) -> Result<(MarketData, Vec<String>), BacktestError> {
    let mut out = MarketData::new();
    let mut notes = Vec::new();
    for asset in assets {
        let one = match load_history(asset, 60, DataPolicy::RealOnly, 0) {
            Ok(l) => l.candles.slice_time(from, to),
            Err(e) => {
                notes.push(format!("{asset}: skipped, {e}"));
                continue;
            }
        };
        let five = load_history(asset, 300, DataPolicy::RealOnly, 0)
            .map(|l| l.candles.slice_time(from, to))
            .unwrap_or_else(|_| Candles::empty(asset.clone(), 300, one.provenance));
        if one.is_empty() {
            notes.push(format!(
                "{asset}: skipped, no 1-minute candles in the range"
            ));
            continue;
        }
        out.insert(asset.clone(), AssetData::new(one, five));
    }
    if out.is_empty() {
        return Err(BacktestError::Invalid(format!(
            "no real 1-minute data for {} in the range ({})",
            assets.join(","),
            notes.join("; ")
        )));
    }
    Ok((out, notes))
}

/// The last 1-minute candle time common to `assets` (the latest time all of them cover).
pub fn common_end(assets: &[String]) -> Option<i64> {
    assets
        .iter()
        .filter_map(|a| load_history(a, 60, DataPolicy::RealOnly, 0).ok())
        .filter_map(|l| l.candles.ts.last().copied())
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Provenance;

    fn candles(res: u32, ts: &[i64], close: f64) -> Candles {
        let mut c = Candles::empty("BTC", res, Provenance::Real);
        for &t in ts {
            c.ts.push(t);
            c.open.push(close);
            c.high.push(close);
            c.low.push(close);
            c.close.push(close);
        }
        c
    }

    #[test]
    fn merge_prefers_the_first_series() {
        let a = candles(300, &[300, 900], 1.0);
        let b = candles(300, &[0, 300, 600], 2.0);
        let m = merge_prefer(&a, &b);
        assert_eq!(m.ts, [0, 300, 600, 900]);
        assert_eq!(m.close, [2.0, 1.0, 2.0, 1.0]);
    }

    #[test]
    fn history_ends_with_the_last_closed_candle() {
        let one = candles(60, &(0..100).map(|k| k * 60).collect::<Vec<_>>(), 1.0);
        let d = AssetData::new(one, Candles::empty("BTC", 300, Provenance::Real));
        let h = d.history_at(Competition::High, 3000, 86_400);
        assert_eq!(h.ts.last(), Some(&2940));
        let l = d.history_at(Competition::Low, 3000, 86_400);
        assert_eq!(l.ts.last(), Some(&2700));
        assert_eq!(d.five_min.len(), 20);
        // LOW's fine context: the 1-minute candles closed by the request, none after it.
        let f = d.fine_at(Competition::Low, 3000, 86_400).unwrap();
        assert_eq!((f.resolution_secs, f.ts.last()), (60, Some(&2940)));
        assert_eq!(f.ts.first(), Some(&0));
        assert!(d.fine_at(Competition::High, 3000, 86_400).is_none());
        // The market factor: none at HIGH, none with too little history (flat prices here).
        let m: MarketData = [("BTC".to_string(), d)].into_iter().collect();
        assert!(market_vol_at(&m, Competition::High, 3000).is_none());
        assert!(market_vol_at(&m, Competition::Low, 3000).is_none());
    }
}
