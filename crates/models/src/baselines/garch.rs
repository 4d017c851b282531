//! GARCH(1,1) with standardised Student-t innovations, fitted by maximum likelihood on the
//! history's step returns (optionally divided by the intraday volatility pattern first), then
//! simulated forward with the volatility recursion running inside every path.

use rand_distr::{Distribution, StudentT};
use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::optim::{ln_gamma, nelder_mead};
use super::{
    check_request, paths_from_log_returns, rng, step_returns, IntradayProfile, SessionGaps,
};
use crate::{ForecastRequest, Forecaster, ModelError};

/// GARCH(1,1)-t baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GarchT {
    /// History used, in seconds.
    pub lookback_secs: i64,
    /// At most this many of the latest returns enter the likelihood.
    pub max_returns: usize,
    /// Divide returns by the intraday volatility pattern before fitting, multiply after.
    pub intraday: bool,
    /// Give steps in the market's closed hours the variance of its overnight / break gaps
    /// ([`SessionGaps`], times the path's variance level) instead of the in-session
    /// volatility; no effect on markets that trade around the clock. Settings stored without
    /// it read as `false`.
    #[serde(default)]
    pub sessions: bool,
    /// When positive: the longest half-life, in seconds, of the simulated variance's
    /// reversion to the long-run level. A fit whose persistence α + β reverts slower has α
    /// and β scaled down together (their ratio kept, the long-run variance kept), so a recent
    /// spike fades at most this slowly. 0 (and settings stored without it): the fit as is.
    #[serde(default)]
    pub max_half_life_secs: f64,
}

impl Default for GarchT {
    fn default() -> Self {
        Self {
            lookback_secs: 30 * 86_400,
            max_returns: 4000,
            intraday: true,
            sessions: false,
            max_half_life_secs: 0.0,
        }
    }
}

/// A fitted GARCH(1,1)-t on returns scaled to unit variance:
/// `h_{t+1} = ω + α·y_t² + β·h_t`, `y_t = sqrt(h_t)·z_t`, `z_t` standardised Student-t(ν),
/// with variance targeting `ω = 1 − α − β`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GarchFit {
    /// Constant of the variance recursion.
    pub omega: f64,
    /// Weight of the last squared shock.
    pub alpha: f64,
    /// Weight of the last variance.
    pub beta: f64,
    /// Degrees of freedom of the innovations (> 2).
    pub nu: f64,
    /// Standard deviation the returns were divided by.
    pub scale: f64,
    /// Variance of the next step, in scaled units.
    pub h_next: f64,
    /// Mean log-likelihood per return at the optimum.
    pub mean_loglik: f64,
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Maps unconstrained optimiser coordinates to (α, β, ν).
fn params(u: &[f64]) -> (f64, f64, f64) {
    let p = 0.999 * sigmoid(u[0]);
    let alpha = p * sigmoid(u[1]);
    (alpha, p - alpha, 2.05 + u[2].exp().min(200.0))
}

/// Mean log-likelihood and the next-step variance of unit-variance returns `y`.
fn loglik(y: &[f64], alpha: f64, beta: f64, nu: f64) -> (f64, f64) {
    let omega = 1.0 - alpha - beta;
    let c = ln_gamma((nu + 1.0) / 2.0)
        - ln_gamma(nu / 2.0)
        - 0.5 * (std::f64::consts::PI * (nu - 2.0)).ln();
    let mut h: f64 = 1.0;
    let mut ll = 0.0;
    for &x in y {
        ll += c - 0.5 * h.ln() - 0.5 * (nu + 1.0) * (x * x / (h * (nu - 2.0))).ln_1p();
        h = omega + alpha * x * x + beta * h;
    }
    (ll / y.len().max(1) as f64, h)
}

impl GarchFit {
    /// Fits on `x` (at least 100 returns with non-zero variance), `None` otherwise.
    pub fn fit(x: &[f64]) -> Option<Self> {
        if x.len() < 100 {
            return None;
        }
        let scale = (x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64).sqrt();
        if !(scale.is_finite() && scale > 0.0) {
            return None;
        }
        let y: Vec<f64> = x.iter().map(|v| v / scale).collect();
        let logit = |p: f64| (p / (1.0 - p)).ln();
        let u0 = [logit(0.95 / 0.999), logit(0.1), 2.95f64.ln()];
        let (u, nll) = nelder_mead(
            |u| {
                let (a, b, nu) = params(u);
                -loglik(&y, a, b, nu).0
            },
            &u0,
            0.5,
            400,
            1e-10,
        );
        let (alpha, beta, nu) = params(&u);
        let (_, h_next) = loglik(&y, alpha, beta, nu);
        Some(Self {
            omega: 1.0 - alpha - beta,
            alpha,
            beta,
            nu,
            scale,
            h_next,
            mean_loglik: -nll,
        })
    }
}

impl GarchFit {
    /// The fit with its persistence α + β capped so that the variance reverts with a
    /// half-life of at most `half_life_secs` at steps of `step_secs` (α and β scaled by the
    /// same factor, ω = 1 − α − β); unchanged when `half_life_secs` is not positive or the fit
    /// already reverts faster.
    pub fn with_max_half_life(mut self, half_life_secs: f64, step_secs: u32) -> Self {
        if half_life_secs.is_nan() || half_life_secs <= 0.0 {
            return self;
        }
        let cap = 0.5f64.powf(f64::from(step_secs) / half_life_secs);
        let p = self.alpha + self.beta;
        if p > cap && p > 0.0 {
            self.alpha *= cap / p;
            self.beta *= cap / p;
            self.omega = 1.0 - self.alpha - self.beta;
        }
        self
    }
}

impl Forecaster for GarchT {
    fn name(&self) -> String {
        match (self.intraday, self.sessions) {
            (true, false) => "garch_t".into(),
            (false, false) => "garch_t_flat".into(),
            (true, true) => "garch_t_sess".into(),
            (false, true) => "garch_t_flat_sess".into(),
        }
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        let mut ret = step_returns(
            req.history,
            req.time_increment,
            req.start_time,
            self.lookback_secs,
        );
        let profile = if self.intraday {
            IntradayProfile::fit(&ret)
        } else {
            IntradayProfile::flat()
        };
        let skip = ret.len().saturating_sub(self.max_returns);
        ret.r.drain(..skip);
        ret.start.drain(..skip);
        let x: Vec<f64> = ret
            .r
            .iter()
            .zip(&ret.start)
            .map(|(r, t)| r / profile.at(*t))
            .collect();
        let fit = GarchFit::fit(&x).ok_or_else(|| {
            ModelError::Data(format!(
                "garch_t needs at least 100 returns of {} s with non-zero variance before the \
                 prompt, found {}",
                req.time_increment,
                x.len()
            ))
        })?;
        let fit = fit.with_max_half_life(self.max_half_life_secs, req.time_increment);
        let inc = i64::from(req.time_increment);
        let mut season: Vec<f64> = (0..req.n_points() - 1)
            .map(|k| fit.scale * profile.at(req.start_time + k as i64 * inc))
            .collect();
        if self.sessions {
            // The path's variance h is in units of the long run, so the level is 1 here.
            SessionGaps::fit_and_apply(req, self.lookback_secs, &mut season, |_| 1.0);
        }
        let t = StudentT::new(fit.nu).map_err(|e| ModelError::Data(format!("student-t: {e}")))?;
        let z_scale = ((fit.nu - 2.0) / fit.nu).sqrt();
        let mut g = rng(req.seed);
        paths_from_log_returns(req, |_, out| {
            let mut h = fit.h_next;
            for (o, s) in out.iter_mut().zip(&season) {
                let y = h.sqrt() * z_scale * t.sample(&mut g);
                let sd = h.sqrt() * s;
                *o = y * s - 0.5 * sd * sd;
                h = (fit.omega + fit.alpha * y * y + fit.beta * h).min(1e4);
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_simulated_parameters() {
        let (alpha, beta, nu): (f64, f64, f64) = (0.08, 0.9, 5.0);
        let t = StudentT::new(nu).unwrap();
        let mut g = rng(7);
        let mut h: f64 = 1.0;
        let x: Vec<f64> = (0..20_000)
            .map(|_| {
                let y = h.sqrt() * ((nu - 2.0) / nu).sqrt() * t.sample(&mut g);
                h = (1.0 - alpha - beta) + alpha * y * y + beta * h;
                y * 0.002
            })
            .collect();
        let f = GarchFit::fit(&x).unwrap();
        assert!((f.alpha - alpha).abs() < 0.02, "{f:?}");
        assert!((f.beta - beta).abs() < 0.03, "{f:?}");
        assert!((f.nu - nu).abs() < 1.0, "{f:?}");
        assert!(GarchFit::fit(&x[..50]).is_none());
        // Persistence 0.98 at 5-min steps is a half-life of about 2.9 h: a 1 h cap scales it
        // down to 0.5^(1/12), a 6 h cap leaves it alone.
        let capped = f.with_max_half_life(3600.0, 300);
        assert!((capped.alpha + capped.beta - 0.5f64.powf(1.0 / 12.0)).abs() < 1e-12);
        assert!((capped.alpha / capped.beta - f.alpha / f.beta).abs() < 1e-9);
        assert!((capped.omega + capped.alpha + capped.beta - 1.0).abs() < 1e-12);
        assert_eq!(f.with_max_half_life(6.0 * 3600.0, 300), f);
        assert_eq!(f.with_max_half_life(0.0, 300), f);
    }
}
