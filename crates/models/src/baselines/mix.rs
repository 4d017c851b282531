//! An equal-weight style ensemble: a share of the paths from GARCH(1,1)-t (flat), the rest from
//! the CRPS-calibrated bootstrap. A mixture of two volatility views widens the forecast where
//! they disagree, which is where the volatility is least certain.

use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::{check_request, CalibratedBootstrap, GarchT};
use crate::{ForecastRequest, Forecaster, ModelError};

/// Paths from [`GarchT`] and [`CalibratedBootstrap`] pooled.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BootGarchMix {
    /// The bootstrap member.
    pub bootstrap: CalibratedBootstrap,
    /// The GARCH member.
    pub garch: GarchT,
    /// Share of the paths drawn from the GARCH member, in [0, 1].
    pub garch_share: f64,
}

impl Default for BootGarchMix {
    fn default() -> Self {
        Self {
            bootstrap: CalibratedBootstrap::default(),
            garch: GarchT {
                intraday: false,
                ..GarchT::default()
            },
            garch_share: 0.5,
        }
    }
}

impl Forecaster for BootGarchMix {
    fn name(&self) -> String {
        "mix_cal".into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        pool(req, &self.bootstrap, &self.garch, self.garch_share)
    }
}

/// `req.num_simulations` paths: the first `1 - share` of them from `first`, the rest from
/// `second` (asked with a different seed). Errors when `share` is outside [0, 1].
pub(crate) fn pool(
    req: &ForecastRequest<'_>,
    first: &dyn Forecaster,
    second: &dyn Forecaster,
    share: f64,
) -> Result<PathSet, ModelError> {
    if !(0.0..=1.0).contains(&share) {
        return Err(ModelError::InvalidConfig(format!(
            "the share of the second member must be in [0, 1], got {share}"
        )));
    }
    let n = req.num_simulations;
    let n_second = ((n as f64) * share).round() as usize;
    let mut data = Vec::with_capacity(n * req.n_points());
    for (m, k, salt) in [
        (first, n - n_second, 0),
        (second, n_second, 0x9a7c_4000_0000_0001),
    ] {
        if k > 0 {
            let r = ForecastRequest {
                num_simulations: k,
                seed: req.seed ^ salt,
                ..req.clone()
            };
            data.extend_from_slice(m.forecast(&r)?.as_flat());
        }
    }
    PathSet::from_flat(n, req.n_points(), data).map_err(|e| ModelError::Data(e.to_string()))
}
