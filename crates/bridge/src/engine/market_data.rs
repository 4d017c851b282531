//! Market price and daily history from the real data the models use: the market cache
//! (`synth-city data …`), else the shared price files. Never synthetic. Series are kept in
//! memory for a few minutes so repeated reads stay cheap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{ApiError, ApiResult};
use crate::types::{DailyCandle, DailyHistory, Price};
use market::Candles;
use models::data::{load_history, DataPolicy};

/// How long a loaded series is reused before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(300);

type Entry = (Instant, Arc<Candles>, &'static str);

/// Real price series, cached briefly.
#[derive(Default)]
pub(super) struct MarketData {
    cache: Mutex<HashMap<(String, u32), Entry>>,
}

impl MarketData {
    fn series(&self, asset: &str, res: u32) -> ApiResult<(Arc<Candles>, &'static str)> {
        let key = (asset.to_ascii_uppercase(), res);
        if let Some((at, c, src)) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if at.elapsed() < FRESH_FOR {
                return Ok((c.clone(), *src));
            }
        }
        let loaded = load_history(&key.0, res, DataPolicy::RealOnly, 0)
            .map_err(|e| ApiError::not_found(format!("no real price data: {e}")))?;
        if loaded.candles.is_empty() {
            return Err(ApiError::not_found(format!("no {} price data", key.0)));
        }
        let src = match loaded.source {
            models::data::DataSource::Cache => "market cache",
            _ => "shared price files",
        };
        let c = Arc::new(loaded.candles);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (Instant::now(), c.clone(), src));
        Ok((c, src))
    }

    /// The last known close (1-minute data, else 5-minute).
    pub(super) fn price(&self, asset: &str) -> ApiResult<Price> {
        let (s, src) = self
            .series(asset, 60)
            .or_else(|_| self.series(asset, 300))?;
        let i = s.len() - 1;
        Ok(Price {
            asset: asset.to_ascii_uppercase(),
            price: s.close[i],
            timestamp: s.ts[i],
            age_seconds: Some(chrono::Utc::now().timestamp() - s.ts[i]),
            resolution_secs: Some(s.resolution_secs),
            source: Some(src.into()),
            provenance: "real".into(),
        })
    }

    /// Daily OHLC candles (UTC days) of the last `days` days of 5-minute data.
    pub(super) fn history(&self, asset: &str, days: u32) -> ApiResult<DailyHistory> {
        let (s, src) = self.series(asset, 300)?;
        let last = *s.ts.last().unwrap_or(&0);
        let from = (last.div_euclid(86_400) - i64::from(days) + 1) * 86_400;
        let mut candles: Vec<DailyCandle> = Vec::new();
        for i in s.ts.partition_point(|t| *t < from)..s.ts.len() {
            let day = s.ts[i].div_euclid(86_400) * 86_400;
            match candles.last_mut() {
                Some(c) if c.t == day => {
                    c.h = c.h.max(s.high[i]);
                    c.l = c.l.min(s.low[i]);
                    c.c = s.close[i];
                }
                _ => candles.push(DailyCandle {
                    t: day,
                    o: s.open[i],
                    h: s.high[i],
                    l: s.low[i],
                    c: s.close[i],
                }),
            }
        }
        Ok(DailyHistory {
            asset: asset.to_ascii_uppercase(),
            days,
            resolution: "1d".into(),
            source: Some(src.into()),
            provenance: Some("real".into()),
            candles,
        })
    }
}
