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
        if !(0.0..=1.0).contains(&self.garch_share) {
            return Err(ModelError::InvalidConfig(format!(
                "mix_cal: garch_share must be in [0, 1], got {}",
                self.garch_share
            )));
        }
        let n = req.num_simulations;
        let n_garch = ((n as f64) * self.garch_share).round() as usize;
        let n_boot = n - n_garch;
        let mut data = Vec::with_capacity(n * req.n_points());
        if n_boot > 0 {
            let r = ForecastRequest {
                num_simulations: n_boot,
                ..req.clone()
            };
            data.extend_from_slice(self.bootstrap.forecast(&r)?.as_flat());
        }
        if n_garch > 0 {
            let r = ForecastRequest {
                num_simulations: n_garch,
                seed: req.seed ^ 0x9a7c_4000_0000_0001,
                ..req.clone()
            };
            data.extend_from_slice(self.garch.forecast(&r)?.as_flat());
        }
        PathSet::from_flat(n, req.n_points(), data).map_err(|e| ModelError::Data(e.to_string()))
    }
}
