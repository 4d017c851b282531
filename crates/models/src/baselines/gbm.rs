//! The reference miner's model: a driftless multiplicative random walk
//! `S0 · cumprod(1 + r_k)`, `r_k ~ N(0, σ·sqrt(Δt/1h))` (synth-subnet `simulate_single_price_path`),
//! with σ either the reference miner's fixed per-asset constant or historical volatility.
//!
//! This is the one GBM of the workspace: the evaluation's and the backtest's `gbm`
//! competitor and the miner's no-champion fallback (`miner::ReferenceGbm`) all draw these
//! paths. Two choices are made here, once:
//! - **Asset lookup** ([`reference_sigma`]): the subnet's reference miner does
//!   `SIGMA_MAP.get(asset, 0.005)`, an exact match. Here the match ignores case and also
//!   accepts the equity tickers without the `X` suffix (`SPY` for `SPYX`); for the names the
//!   validators send the σ is the same, and other assets get the same 0.005.
//! - **Positivity floor**: the reference has none (`1 + r_k` may in principle be ≤ 0).
//!   Each step factor is floored at `1e-6`, which needs a ~300σ draw to matter, so the paths
//!   equal the reference's model wherever it gives a positive price.
//!
//! Draws come from the baselines' seeded generator, so a seed gives the same paths everywhere.

use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::{check_request, rng, step_returns};
use crate::{ForecastRequest, Forecaster, ModelError};

/// The reference miner's `SIGMA_MAP`: per-hour return standard deviations by SN50 asset.
pub const SIGMA_MAP: [(&str, f64); 12] = [
    ("BTC", 0.00541),
    ("ETH", 0.00766),
    ("XAU", 0.00312),
    ("SOL", 0.00858),
    ("SPYX", 0.00157),
    ("NVDAX", 0.00338),
    ("TSLAX", 0.00337),
    ("AAPLX", 0.00259),
    ("GOOGLX", 0.00322),
    ("XRP", 0.00956),
    ("HYPE", 0.01131),
    ("WTIOIL", 0.00639),
];

/// The reference miner's hourly σ for `asset` (0.005 when unknown, as in the reference).
/// Names are parsed as [`sn50::Asset`]: any case, and `SPY`-style aliases name their asset.
pub fn reference_sigma(asset: &str) -> f64 {
    let Ok(asset) = asset.parse::<sn50::Asset>() else {
        return 0.005;
    };
    SIGMA_MAP
        .iter()
        .find(|(a, _)| *a == asset.name())
        .map_or(0.005, |(_, s)| *s)
}

/// Where the GBM's volatility comes from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GbmSigma {
    /// The reference miner's fixed `SIGMA_MAP` constant.
    Reference,
    /// Root mean square of step log returns over the last `lookback_secs` of history
    /// (the reference constant when there are fewer than 30 returns).
    Historical {
        /// Lookback in seconds.
        lookback_secs: i64,
    },
}

/// The reference miner's GBM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Gbm {
    /// Volatility source.
    pub sigma: GbmSigma,
}

impl Gbm {
    /// Exactly the reference miner (fixed σ per asset).
    pub fn reference() -> Self {
        Self {
            sigma: GbmSigma::Reference,
        }
    }

    /// The same process with σ from the last 3 days of returns.
    pub fn historical() -> Self {
        Self {
            sigma: GbmSigma::Historical {
                lookback_secs: 3 * 86_400,
            },
        }
    }

    /// The per-step standard deviation this model uses for `req`.
    pub fn step_std(&self, req: &ForecastRequest<'_>) -> f64 {
        let dt_hours = f64::from(req.time_increment) / 3600.0;
        let reference = reference_sigma(req.asset) * dt_hours.sqrt();
        match self.sigma {
            GbmSigma::Reference => reference,
            GbmSigma::Historical { lookback_secs } => {
                let r = step_returns(
                    req.history,
                    req.time_increment,
                    req.start_time,
                    lookback_secs,
                );
                if r.len() < 30 {
                    reference
                } else {
                    r.rms()
                }
            }
        }
    }
}

impl Forecaster for Gbm {
    fn name(&self) -> String {
        match self.sigma {
            GbmSigma::Reference => "gbm".into(),
            GbmSigma::Historical { .. } => "gbm_hist".into(),
        }
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        let std = self.step_std(req);
        let (n, t) = (req.num_simulations, req.n_points());
        let mut g = rng(req.seed);
        let mut data = Vec::with_capacity(n * t);
        for _ in 0..n {
            let mut p = req.start_price;
            data.push(p);
            for _ in 1..t {
                let z: f64 = g.sample(StandardNormal);
                // 1 + r <= 0 needs a 300-sigma draw; the floor only guards positivity.
                p *= (1.0 + std * z).max(1e-6);
                data.push(p);
            }
        }
        PathSet::from_flat(n, t, data).map_err(|e| ModelError::Data(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_sigma_matches_the_map_and_aliases() {
        assert_eq!(reference_sigma("BTC"), 0.00541);
        assert_eq!(reference_sigma("SPY"), 0.00157);
        assert_eq!(reference_sigma("NVDAX"), 0.00338);
        assert_eq!(reference_sigma("DOGE"), 0.005);
    }
}
