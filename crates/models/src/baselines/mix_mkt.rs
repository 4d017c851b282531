//! `mix_mkt`: [`SessionMix`] whose LOW spread leans toward the market-wide volatility factor
//! (`ForecastContext::market_vol`): every path's log move × `(market / own)^(weight/2)`, `own`
//! the asset's own last-day-over-30-days ratio ([`own_vol_ratio`]), clamped. Without the
//! factor (or the asset's own ratio), and at HIGH, `mix_sess` unchanged.
//!
//! Walk-forward result: docs/models.md, "What did not help".

use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::{check_request, leaned_factor, own_vol_ratio, scale_spread, SessionMix};
use crate::{ForecastRequest, Forecaster, ModelError};

/// `mix_sess` scaled toward the market's volatility.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MarketMix {
    /// The pooled members.
    pub mix: SessionMix,
    /// Weight (in log variance) of the market's ratio against the asset's own.
    pub weight: f64,
    /// Largest spread factor (its inverse the smallest).
    pub max_factor: f64,
}

impl Default for MarketMix {
    fn default() -> Self {
        Self::with_weight(0.5)
    }
}

impl MarketMix {
    /// The default with `weight`.
    pub fn with_weight(weight: f64) -> Self {
        Self {
            mix: SessionMix::default(),
            weight,
            max_factor: 1.3,
        }
    }

    /// The spread factor for `req` (1 without a market factor or the asset's own ratio).
    pub fn factor(&self, req: &ForecastRequest<'_>) -> f64 {
        if req.time_increment < 300 {
            return 1.0;
        }
        let (Some(m), Some(own)) = (
            req.context.market_vol,
            own_vol_ratio(req.history, req.start_time),
        ) else {
            return 1.0;
        };
        leaned_factor(m / own, self.weight, self.max_factor)
    }
}

impl Forecaster for MarketMix {
    fn name(&self) -> String {
        if self.weight < 0.5 {
            "mix_mkt_w25".into()
        } else {
            "mix_mkt".into()
        }
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        let paths = self.mix.forecast(req)?;
        let k = self.factor(req);
        if k == 1.0 {
            return Ok(paths);
        }
        scale_spread(paths, req.start_price, k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_data::{candles_5m, low_request, valid_and_seeded};
    use crate::forecaster::ForecastContext;

    #[test]
    fn a_hotter_market_widens_a_calm_asset_and_none_changes_nothing() {
        let h = candles_5m(31, |_| 0.002);
        let start = 30 * 86_400;
        let m = MarketMix::default();
        let with = |v| ForecastRequest {
            context: ForecastContext {
                market_vol: Some(v),
                fine: None,
            },
            ..low_request(&h, start, 3)
        };
        let p = valid_and_seeded(&m, &with(2.0));
        let none = low_request(&h, start, 3);
        let base = SessionMix::default().forecast(&none).unwrap();
        assert_eq!(m.forecast(&none).unwrap(), base);
        // The own ratio is about 1: a market at 2 gives 2^(0.25) ≈ 1.19.
        let k = m.factor(&with(2.0));
        assert!((1.1..1.3).contains(&k), "{k}");
        assert_ne!(p, base);
        assert!(m.factor(&with(100.0)) <= 1.3);
        // HIGH: unchanged.
        let high = ForecastRequest {
            time_increment: 60,
            time_length: 3600,
            ..with(2.0)
        };
        assert_eq!(
            m.forecast(&high).unwrap(),
            SessionMix::default().forecast(&high).unwrap()
        );
    }
}
