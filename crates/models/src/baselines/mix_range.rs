//! `mix_range`: [`SessionMix`] whose LOW bootstrap member starts from a volatility level
//! blended (half and half, in log variance) with the 5-minute candles' range level
//! ([`range_level`](super::range_level), Parkinson, 1 h EWMA); HIGH as `mix_sess`.
//!
//! The default model (`DEFAULT_MODEL`) since the walk-forward of 2026-12-07: LOW 0.9546 against
//! `mix_sess`'s 0.9551 over every block, no third worse (docs/models.md, "Finer, range and
//! cross-asset information at LOW"). `mix_range_1m(_w1)` read the 1-minute candles' ranges
//! instead (`ForecastContext::fine`): no better.

use serde::{Deserialize, Serialize};
use sn50::PathSet;

use super::{check_request, SessionMix};
use crate::{ForecastRequest, Forecaster, ModelError};

/// `mix_sess` with a range-weighted LOW bootstrap.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RangeMix {
    /// The pooled members (the LOW bootstrap's `range_weight` set).
    pub mix: SessionMix,
}

impl Default for RangeMix {
    fn default() -> Self {
        Self::new(0.5, false)
    }
}

impl RangeMix {
    /// `mix_sess` whose LOW bootstrap blends `weight` of the range level into its starting
    /// level, read from the request's 1-minute candles when `fine` (and it has them).
    pub fn new(weight: f64, fine: bool) -> Self {
        let mut mix = SessionMix::default();
        mix.low.bootstrap.range_weight = weight;
        mix.low.bootstrap.range_fine = fine;
        Self { mix }
    }
}

impl Forecaster for RangeMix {
    fn name(&self) -> String {
        let b = &self.mix.low.bootstrap;
        match (b.range_fine, b.range_weight >= 1.0) {
            (false, _) => "mix_range",
            (true, false) => "mix_range_1m",
            (true, true) => "mix_range_1m_w1",
        }
        .into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        self.mix.forecast(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::test_data::{candles_5m, candles_at, low_request, valid_and_seeded};

    #[test]
    fn valid_seeded_and_the_ranges_move_the_low_level() {
        let h = candles_5m(20, |d| 0.003 * (1.0 + (d % 3) as f64));
        let req = low_request(&h, 17 * 86_400, 3);
        let p = valid_and_seeded(&RangeMix::default(), &req);
        assert_ne!(p, SessionMix::default().forecast(&req).unwrap());
        // HIGH steps: mix_sess's HIGH members, unchanged.
        let high = ForecastRequest {
            time_increment: 60,
            time_length: 3600,
            ..req.clone()
        };
        for m in [RangeMix::default(), RangeMix::new(1.0, true)] {
            assert_eq!(
                m.forecast(&high).unwrap(),
                SessionMix::default().forecast(&high).unwrap()
            );
        }
    }

    #[test]
    fn the_one_minute_ranges_are_read_without_look_ahead_and_fall_back() {
        let fine_of = |wide_from: i64, wide_to: i64| {
            let mut f = candles_at(60, 21, |_| 0.002);
            for i in 0..f.len() {
                if (wide_from..wide_to).contains(&f.ts[i]) {
                    f.high[i] = f.close[i] * 1.003;
                    f.low[i] = f.close[i] * 0.997;
                }
            }
            f
        };
        let start = 20 * 86_400;
        let h = market::resample(
            &candles_at(60, 21, |_| 0.002),
            300,
            market::BucketRule::CompleteOnly,
        )
        .unwrap();
        let m = RangeMix::new(0.5, true);
        assert_eq!(m.name(), "mix_range_1m");
        let with = |f| ForecastRequest {
            context: crate::forecaster::ForecastContext {
                fine: Some(f),
                market_vol: None,
            },
            ..low_request(&h, start, 3)
        };
        // Wider 1-minute ranges over the last hours before the start widen the paths.
        let wide = fine_of(start - 6 * 3600, start);
        let p = valid_and_seeded(&m, &with(&wide));
        let plain = fine_of(0, 0);
        let q = m.forecast(&with(&plain)).unwrap();
        let spread = |x: &PathSet| {
            let ends: Vec<f64> = x.paths().map(|r| r[r.len() - 1].ln()).collect();
            let mean = ends.iter().sum::<f64>() / ends.len() as f64;
            ends.iter().map(|e| (e - mean).powi(2)).sum::<f64>()
        };
        assert!(
            spread(&p) > 1.2 * spread(&q),
            "{} vs {}",
            spread(&p),
            spread(&q)
        );
        // No look-ahead: wide ranges from the start on change nothing.
        let later = fine_of(start, start + 86_400);
        assert_eq!(m.forecast(&with(&later)).unwrap(), q);
        // Without the fine series: the 5-minute ranges (mix_range's answer).
        let none = low_request(&h, start, 3);
        assert_eq!(
            m.forecast(&none).unwrap(),
            RangeMix::default().forecast(&none).unwrap()
        );
    }
}
