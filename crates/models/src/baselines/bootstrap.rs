//! A filtered block bootstrap of historical returns with the intraday volatility pattern.
//!
//! Past step returns are divided by the intraday pattern and by their EWMA volatility (known
//! before each return), giving standardised residuals with the market's own tails and
//! short-range dependence. A path concatenates random blocks of consecutive residuals and
//! multiplies them back by the current volatility, which reverts towards its long-run level
//! with the given half-life, and by the intraday pattern at the forecast times.

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::ewma::decay;
use super::{
    check_request, paths_from_log_returns, range_level, rng, step_returns, IntradayProfile,
    SessionGaps, StepReturns,
};
use crate::{ForecastRequest, Forecaster, ModelError};

/// Block bootstrap baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BlockBootstrap {
    /// History used, in seconds.
    pub lookback_secs: i64,
    /// Block length in steps.
    pub block_len: usize,
    /// Half-life of the EWMA volatility filter, seconds.
    pub ewma_half_life_secs: f64,
    /// Half-life of the current volatility's reversion to the long-run level, seconds.
    pub reversion_half_life_secs: f64,
    /// Give steps in the market's closed hours (learnt from the history's candle times) the
    /// variance of its overnight / break gaps instead of the in-session volatility
    /// ([`SessionGaps`]); no effect on markets that trade around the clock. `bootstrap_sess`
    /// sets it; settings stored without it read as `false`.
    #[serde(default)]
    pub sessions: bool,
    /// Weight (0–1, in log variance) of the candle-range volatility level ([`range_level`])
    /// against the close-to-close EWMA in the forecast's starting variance; 0 ignores ranges.
    #[serde(default)]
    pub range_weight: f64,
    /// Half-life of the range EWMA, seconds.
    #[serde(default = "default_range_half_life")]
    pub range_half_life_secs: f64,
    /// Read the range level from the request's finer candles (`ForecastContext::fine`, the
    /// 1-minute series at LOW) when it has one; from `history` otherwise.
    #[serde(default)]
    pub range_fine: bool,
}

fn default_range_half_life() -> f64 {
    3600.0
}

impl Default for BlockBootstrap {
    fn default() -> Self {
        Self {
            lookback_secs: 30 * 86_400,
            block_len: 12,
            ewma_half_life_secs: 6.0 * 3600.0,
            reversion_half_life_secs: 12.0 * 3600.0,
            sessions: false,
            range_weight: 0.0,
            range_half_life_secs: default_range_half_life(),
            range_fine: false,
        }
    }
}

impl BlockBootstrap {
    /// The default bootstrap with market closures modelled (`bootstrap_sess`).
    pub fn with_sessions() -> Self {
        Self {
            sessions: true,
            ..Self::default()
        }
    }
}

impl Forecaster for BlockBootstrap {
    fn name(&self) -> String {
        if self.sessions {
            "bootstrap_sess".into()
        } else {
            "bootstrap".into()
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
        if ret.len() < 200 || self.block_len == 0 {
            return Err(ModelError::Data(format!(
                "bootstrap needs at least 200 returns of {} s before the prompt (found {}) and \
                 block_len >= 1",
                req.time_increment,
                ret.len()
            )));
        }
        let (profile, x, long_var) = deseasonalise(&ret, "bootstrap")?;
        // Residuals standardised by the EWMA variance known before each return.
        let lambda = decay(req.time_increment, self.ewma_half_life_secs);
        let mut v = long_var;
        let mut z = Vec::with_capacity(x.len());
        for &xi in &x {
            z.push(xi / v.sqrt());
            v = lambda * v + (1.0 - lambda) * xi * xi;
        }
        // Demeaned (a past trend is not a forecast) and rescaled to unit variance.
        let z_mean = z.iter().sum::<f64>() / z.len() as f64;
        let z_sd = (z.iter().map(|a| (a - z_mean).powi(2)).sum::<f64>() / z.len() as f64).sqrt();
        z.iter_mut().for_each(|a| *a = (*a - z_mean) / z_sd);
        // The starting variance: the EWMA, blended in logs with the candle-range level.
        if self.range_weight > 0.0 {
            let ranges = match req.context.fine {
                Some(f) if self.range_fine => f,
                _ => req.history,
            };
            if let Some(r) = range_level(
                ranges,
                req.start_time,
                self.lookback_secs,
                &profile,
                self.range_half_life_secs,
            ) {
                let w = self.range_weight.min(1.0);
                v = (v.ln() * (1.0 - w) + (long_var * r).ln() * w).exp();
            }
        }
        // Forecast volatility per step: current EWMA reverting to the long-run level.
        let phi = decay(req.time_increment, self.reversion_half_life_secs);
        let inc = i64::from(req.time_increment);
        let level = |k: usize| (long_var + (v - long_var) * phi.powi(k as i32)) / long_var;
        let mut sd: Vec<f64> = (0..req.n_points() - 1)
            .map(|k| (level(k) * long_var).sqrt() * profile.at(req.start_time + k as i64 * inc))
            .collect();
        if self.sessions {
            SessionGaps::fit_and_apply(req, self.lookback_secs, &mut sd, level);
        }
        let block = self.block_len.min(z.len());
        let starts = z.len() - block + 1;
        let mut g = rng(req.seed);
        paths_from_log_returns(req, |_, out| {
            let mut k = 0;
            while k < out.len() {
                let s = g.random_range(0..starts);
                for &zi in &z[s..s + block] {
                    if k == out.len() {
                        break;
                    }
                    out[k] = zi * sd[k] - 0.5 * sd[k] * sd[k];
                    k += 1;
                }
            }
        })
    }
}

/// The intraday pattern fitted on `ret`, the returns divided by it, and their mean square (the
/// long-run variance): the deseasonalised series the bootstraps resample. `who` names the model
/// in the error for a series of zero variance.
pub(crate) fn deseasonalise(
    ret: &StepReturns,
    who: &str,
) -> Result<(IntradayProfile, Vec<f64>, f64), ModelError> {
    let profile = IntradayProfile::fit(ret);
    let x: Vec<f64> = ret
        .r
        .iter()
        .zip(&ret.start)
        .map(|(r, t)| r / profile.at(*t))
        .collect();
    let long_var = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    if !(long_var.is_finite() && long_var > 0.0) {
        return Err(ModelError::Data(format!(
            "{who}: history has zero variance"
        )));
    }
    Ok((profile, x, long_var))
}
