//! `mix_rev`: [`SessionMix`] whose GARCH members cannot hold a volatility spike for long: the
//! simulated variance reverts to the long-run level with a half-life of at most 12 h at 5-minute
//! steps (the bootstrap member's own reversion half-life) and 1 h at 1-minute steps
//! ([`GarchT::max_half_life_secs`]). A candidate against GARCH's overreaction after spikes
//! (a persistent fitted α + β keeps a spike's variance over the whole 24 h).

use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::{GarchT, SessionMix};
use crate::{ForecastRequest, Forecaster, ModelError};

/// `mix_sess` with the GARCH members' reversion half-life capped.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RevertingMix {
    /// The pooled members (their GARCH caps set).
    pub mix: SessionMix,
}

impl Default for RevertingMix {
    fn default() -> Self {
        let base = SessionMix::default();
        let cap = |g: GarchT, secs: f64| GarchT {
            max_half_life_secs: secs,
            ..g
        };
        let mut mix = base;
        mix.low.garch = cap(base.low.garch, 12.0 * 3600.0);
        mix.high.garch = cap(base.high.garch, 3600.0);
        Self { mix }
    }
}

impl Forecaster for RevertingMix {
    fn name(&self) -> String {
        "mix_rev".into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        self.mix.forecast(req)
    }
}
