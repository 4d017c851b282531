//! `oracle_hourly_vol`: an evaluation-only competitor that is *told* the realised volatility of
//! each hour of the horizon in advance — the ceiling a volatility forecast can reach. Gaussian
//! log returns whose per-step standard deviation is the RMS of the realised one-step log changes
//! over each hour (12 steps at LOW, 60 at HIGH); a closed-market run (missing realised prices)
//! gets the variance of the realised move across it, spread evenly. It reads the prompt's
//! realised prices, so it is never a model: no `Forecaster`, no preset, nothing the miner or a
//! promotion can serve; only `synth-city evaluate` accepts its name. The arithmetic is
//! `models::oracle` (shared with the `forecast_quality_oracle_bound` test in `models`).

use sn50::PathSet;

use models::oracle::oracle_paths;
pub use models::oracle::oracle_sd;
use models::ForecastRequest;

/// The competitor's name in `synth-city evaluate`.
pub const ORACLE_HOURLY_VOL: &str = "oracle_hourly_vol";

/// Seconds per volatility block the oracle is told (one hour).
const BLOCK_SECS: u32 = 3600;

/// The hourly-volatility oracle (no settings: the realised prices are its input).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourlyVolOracle;

impl HourlyVolOracle {
    /// `req.num_simulations` paths knowing `real` (the prompt's realised prices at its
    /// increments, `NaN` where missing), seeded by `req.seed` (`models::oracle`).
    pub fn paths(&self, req: &ForecastRequest<'_>, real: &[f64]) -> Result<PathSet, String> {
        let t = req.n_points();
        if real.len() != t {
            return Err(format!(
                "oracle: {} realised prices for {t} points",
                real.len()
            ));
        }
        let block = (BLOCK_SECS / req.time_increment.max(1)).max(1) as usize;
        oracle_paths(req, &oracle_sd(real, block)).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::{Candles, Provenance};

    #[test]
    fn the_oracle_answers_from_the_realised_prices_and_needs_all_of_them() {
        // The per-hour sd and the path builder are tested in `models::oracle`; here the
        // competitor's wrapper: 2 hours at 5 minutes of realised prices.
        let real: Vec<f64> = (0..25)
            .map(|k| 100.0 * (0.001 * f64::from(k) * if k > 12 { 3.0 } else { 1.0 }).exp())
            .collect();
        let h = Candles::empty("BTC", 300, Provenance::Synthetic);
        let req = ForecastRequest {
            asset: "BTC",
            history: &h,
            start_price: 100.0,
            start_time: 0,
            time_increment: 300,
            time_length: 7200,
            num_simulations: 50,
            seed: 7,
            context: Default::default(),
        };
        let p = HourlyVolOracle.paths(&req, &real).unwrap();
        assert_eq!((p.n_paths(), p.n_points()), (50, 25));
        assert!(p.as_flat().iter().all(|x| x.is_finite() && *x > 0.0));
        assert_eq!(
            p.as_flat(),
            HourlyVolOracle.paths(&req, &real).unwrap().as_flat()
        );
        assert!(HourlyVolOracle.paths(&req, &real[..10]).is_err());
    }
}

#[cfg(test)]
mod resolve_tests {
    use crate::schedule::Competition;
    use crate::BacktestError;

    #[test]
    fn only_the_walk_forward_knows_the_oracle() {
        let names: Vec<String> = ["gbm", "oracle_hourly_vol", "mix_sess"]
            .map(String::from)
            .to_vec();
        let mut no_reg = || -> Result<research::Archive, BacktestError> {
            Err(BacktestError::Env("no registry".into()))
        };
        let (c, _) = super::super::resolve(
            &names,
            &["BTC".to_string()],
            &[Competition::Low],
            &mut no_reg,
        )
        .unwrap();
        let got: Vec<&str> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(got, ["gbm", "oracle_hourly_vol", "mix_sess"]);
        assert!(c[1].oracle().is_some() && c[1].model_for("BTC", Competition::Low).is_none());
        assert!(c[0].oracle().is_none());
        // The spread diagnostic: `<baseline>*<k>` in the order named; bad factors refused.
        let names: Vec<String> = ["gbm", "mix_sess*1.05", "mix_sess", "default*0.9"]
            .map(String::from)
            .to_vec();
        let (d, _) = super::super::resolve(
            &names,
            &["BTC".to_string()],
            &[Competition::Low],
            &mut no_reg,
        )
        .unwrap();
        let got: Vec<&str> = d.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(got, ["gbm", "mix_sess*1.05", "mix_sess", "default*0.9"]);
        assert!(super::super::scaled("mix_sess*0.95~0.2").is_ok());
        for bad in [
            "mix_sess*0",
            "mix_sess*x",
            "nope*1.1",
            "mix_sess*11",
            "mix_sess*1~3",
            "mix_sess*1~-1",
        ] {
            assert!(super::super::scaled(bad).is_err(), "{bad}");
        }
        // Not a model: a backtest, a miner or a promotion cannot name it.
        assert!(crate::competitor::classify(super::ORACLE_HOURLY_VOL).is_err());
        assert!(models::baselines::baseline(super::ORACLE_HOURLY_VOL).is_none());
        assert!(models::presets::preset(super::ORACLE_HOURLY_VOL).is_none());
    }
}
