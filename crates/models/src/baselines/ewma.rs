//! EWMA (RiskMetrics-style) volatility: the exponentially weighted mean of squared step
//! returns, a flat forecast of it, Gaussian log returns.

use rand::RngExt;
use rand_distr::StandardNormal;
use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::{check_request, paths_from_log_returns, rng, step_returns, IntradayProfile};
use crate::{ForecastRequest, Forecaster, ModelError};

/// EWMA volatility baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    /// Half-life of the weights, in seconds of history.
    pub half_life_secs: f64,
    /// History used, in seconds.
    pub lookback_secs: i64,
    /// Scale by the intraday volatility pattern (fitted on the same history).
    pub intraday: bool,
}

impl Default for Ewma {
    fn default() -> Self {
        Self {
            half_life_secs: 86_400.0,
            lookback_secs: 14 * 86_400,
            intraday: false,
        }
    }
}

/// EWMA variance of `r` (each first divided by `scale(i)`) with per-observation decay
/// `lambda`, seeded with the mean square of the first returns; `None` when `r` is empty.
pub(crate) fn ewma_variance(r: &[f64], lambda: f64, scale: impl Fn(usize) -> f64) -> Option<f64> {
    let head = r.len().min(50);
    if head == 0 {
        return None;
    }
    let mut v = (0..head).map(|i| (r[i] / scale(i)).powi(2)).sum::<f64>() / head as f64;
    for (i, x) in r.iter().enumerate() {
        let y = x / scale(i);
        v = lambda * v + (1.0 - lambda) * y * y;
    }
    Some(v)
}

/// Decay per observation of `step_secs` for a half-life in seconds.
pub(crate) fn decay(step_secs: u32, half_life_secs: f64) -> f64 {
    0.5f64.powf(f64::from(step_secs) / half_life_secs.max(1.0))
}

impl Forecaster for Ewma {
    fn name(&self) -> String {
        if self.intraday {
            "ewma_intraday".into()
        } else {
            "ewma".into()
        }
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        let ret = step_returns(
            req.history,
            req.time_increment,
            req.start_time,
            self.lookback_secs,
        );
        if ret.len() < 30 {
            return Err(ModelError::Data(format!(
                "ewma needs at least 30 returns of {} s before the prompt, found {}",
                req.time_increment,
                ret.len()
            )));
        }
        let profile = if self.intraday {
            IntradayProfile::fit(&ret)
        } else {
            IntradayProfile::flat()
        };
        let lambda = decay(req.time_increment, self.half_life_secs);
        let var = ewma_variance(&ret.r, lambda, |i| profile.at(ret.start[i])).unwrap_or(0.0);
        let sd = var.sqrt();
        let inc = i64::from(req.time_increment);
        let scale: Vec<f64> = (0..req.n_points() - 1)
            .map(|k| sd * profile.at(req.start_time + k as i64 * inc))
            .collect();
        let mut g = rng(req.seed);
        paths_from_log_returns(req, |_, out| {
            for (o, s) in out.iter_mut().zip(&scale) {
                let z: f64 = g.sample(StandardNormal);
                *o = s * z - 0.5 * s * s;
            }
        })
    }
}
