//! `mix_sess`: half the paths from the session-aware block bootstrap, half from GARCH(1,1)-t,
//! with members chosen per competition on the earlier walk-forward fold of the real data
//! (`forecast_quality_grid`): at 5-minute steps the default `bootstrap_sess` and `garch_t`
//! with market closures; at 1-minute steps a bootstrap with a 30-minute EWMA and 60-step
//! blocks, and `garch_t_flat`.

use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::mix::pool;
use super::{check_request, BlockBootstrap, GarchT};
use crate::{ForecastRequest, Forecaster, ModelError};

/// A bootstrap and a GARCH member and the GARCH share of the paths.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MixMembers {
    /// The bootstrap member.
    pub bootstrap: BlockBootstrap,
    /// The GARCH member.
    pub garch: GarchT,
    /// Share of the paths from the GARCH member, in [0, 1].
    pub garch_share: f64,
}

/// Pooled bootstrap + GARCH paths, members by prompt step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SessionMix {
    /// Members for steps of 5 minutes or more (LOW).
    pub low: MixMembers,
    /// Members for steps under 5 minutes (HIGH).
    pub high: MixMembers,
}

impl Default for SessionMix {
    fn default() -> Self {
        Self {
            low: MixMembers {
                bootstrap: BlockBootstrap::with_sessions(),
                garch: GarchT {
                    sessions: true,
                    ..GarchT::default()
                },
                garch_share: 0.5,
            },
            high: MixMembers {
                bootstrap: BlockBootstrap {
                    ewma_half_life_secs: 1800.0,
                    block_len: 60,
                    ..BlockBootstrap::with_sessions()
                },
                garch: GarchT {
                    intraday: false,
                    ..GarchT::default()
                },
                garch_share: 0.5,
            },
        }
    }
}

impl Forecaster for SessionMix {
    fn name(&self) -> String {
        "mix_sess".into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        let m = if req.time_increment >= 300 {
            &self.low
        } else {
            &self.high
        };
        pool(req, &m.bootstrap, &m.garch, m.garch_share)
    }
}
