//! The hourly-volatility oracle's arithmetic, for evaluation only: a Gaussian forecaster that is
//! *told* the realised volatility of each block of steps of the prompt it answers — the ceiling
//! a volatility forecast can reach. It reads the prompt's realised prices, so it is never a
//! model: no `Forecaster`, no preset or baseline name, nothing a miner, a backtest or a
//! promotion can serve. `synth-city evaluate`'s `oracle_hourly_vol` competitor
//! (`backtest::walk_forward::oracle`) and the `forecast_quality_oracle_bound` test use it.

use rand_distr::{Distribution, StandardNormal};
use sn50::PathSet;

use crate::{ForecastRequest, ModelError};

/// Per-step standard deviations knowing the realised prices (`NaN` where missing): the RMS of
/// the realised one-step log changes over blocks of `block` steps; a run of missing prices (a
/// closed market) gets the variance of the realised move across it, spread evenly; blocks
/// without a realised change fall back to the whole horizon's RMS.
pub fn oracle_sd(real: &[f64], block: usize) -> Vec<f64> {
    let steps = real.len().saturating_sub(1);
    let ok = |x: f64| x.is_finite() && x > 0.0;
    let lr = |a: usize, b: usize| (real[b] / real[a]).ln();
    let mut sd = vec![f64::NAN; steps];
    let (mut sq, mut n) = (0.0, 0usize);
    for b0 in (0..steps).step_by(block.max(1)) {
        let b1 = (b0 + block.max(1)).min(steps);
        let obs: Vec<f64> = (b0..b1)
            .filter(|&k| ok(real[k]) && ok(real[k + 1]))
            .map(|k| lr(k, k + 1))
            .collect();
        if !obs.is_empty() {
            let s: f64 = obs.iter().map(|x| x * x).sum();
            sq += s;
            n += obs.len();
            let v = s / obs.len() as f64;
            sd[b0..b1].iter_mut().for_each(|x| *x = v.sqrt());
        }
    }
    let all = if n > 0 { (sq / n as f64).sqrt() } else { 0.0 };
    sd.iter_mut().filter(|s| s.is_nan()).for_each(|s| *s = all);
    // Closed runs: between present prices a < b with missing prices inside.
    let mut a = 0;
    while a < steps {
        if !ok(real[a]) {
            a += 1;
            continue;
        }
        match (a + 1..=steps).find(|&b| ok(real[b])) {
            Some(b) if b > a + 1 => {
                let v = lr(a, b).powi(2) / (b - a) as f64;
                sd[a..b].iter_mut().for_each(|s| *s = v.sqrt());
                a = b;
            }
            Some(b) => a = b,
            None => break,
        }
    }
    sd
}

/// `req.num_simulations` Gaussian paths with per-step log-return standard deviations `sd`
/// (one per step: `req.n_points() - 1`), drift `-sd²/2`, built by the baselines' path builder
/// (`paths_from_log_returns`: the log clamped to ±50); seeded by `req.seed` (the baselines'
/// generator).
pub fn oracle_paths(req: &ForecastRequest<'_>, sd: &[f64]) -> Result<PathSet, ModelError> {
    let t = req.n_points();
    if sd.len() + 1 != t {
        return Err(ModelError::InvalidConfig(format!(
            "oracle: {} step deviations for {t} points",
            sd.len()
        )));
    }
    let mut g = crate::baselines::rng(req.seed);
    crate::baselines::paths_from_log_returns(req, |_, steps| {
        for (r, s) in steps.iter_mut().zip(sd) {
            let z: f64 = StandardNormal.sample(&mut g);
            *r = s * z - 0.5 * s * s;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::{Candles, Provenance};

    #[test]
    fn the_sd_knows_each_blocks_volatility_and_the_paths_stay_finite() {
        let mut real = vec![100.0];
        for k in 0..24 {
            let r: f64 = if k < 12 { 0.001 } else { 0.01 };
            let s = if k % 2 == 0 { 1.0 } else { -1.0 };
            real.push(real[k] * (s * r).exp());
        }
        let sd = oracle_sd(&real, 12);
        assert!((sd[0] - 0.001).abs() < 1e-12 && (sd[23] - 0.01).abs() < 1e-12);
        // A closed run of 4 steps (3 missing prices): the realised move across it, spread evenly.
        let mut gap = real.clone();
        for x in &mut gap[3..6] {
            *x = f64::NAN;
        }
        let g = oracle_sd(&gap, 12);
        let want = ((gap[6] / gap[2]).ln().powi(2) / 4.0).sqrt();
        assert!((g[3] - want).abs() < 1e-15 && (g[2] - want).abs() < 1e-15);
        let h = Candles::empty("BTC", 300, Provenance::Synthetic);
        let req = ForecastRequest {
            asset: "BTC",
            history: &h,
            start_price: 100.0,
            start_time: 0,
            time_increment: 300,
            time_length: 7200,
            num_simulations: 20,
            seed: 7,
            context: Default::default(),
        };
        // A huge deviation: the log clamp keeps every price finite and positive.
        let wild = vec![40.0; 24];
        let p = oracle_paths(&req, &wild).unwrap();
        assert!(p.as_flat().iter().all(|x| x.is_finite() && *x > 0.0));
        assert_eq!(p, oracle_paths(&req, &wild).unwrap());
        assert!(oracle_paths(&req, &sd[..10]).is_err());
    }
}
