//! The filtered block bootstrap with its spread calibrated, at every prompt, by the SN50 CRPS
//! of the model's own forecasts over past pseudo-prompts.
//!
//! The engine is that of [`BlockBootstrap`](super::BlockBootstrap): intraday-deseasonalised
//! returns standardised by their EWMA volatility, resampled in blocks and multiplied back by the
//! current volatility (reverting to its long-run level) and the intraday pattern. Before
//! answering, the model places `calib_prompts` pseudo-prompts in the history it was given
//! (every half horizon, the latest ending at the prompt's start, so every outcome is known),
//! forecasts each from the filter state of its own start with `calib_paths` paths, and scores
//! them with the validator's intervals (changes in basis points, `_gaps` and `_abs` included).
//! The volatility multiplier that minimises that summed CRPS over a grid is applied to the real
//! forecast. Only history before the prompt enters, so the calibration never sees the test span.

use rand::RngExt;
use serde::{Deserialize, Serialize};
use sn50::{PathSet, PromptConfig};

use super::ewma::decay;
use super::{check_request, paths_from_log_returns, rng, step_returns, BaseRng, IntradayProfile};
use crate::{ForecastRequest, Forecaster, ModelError};

/// Block bootstrap with a CRPS-calibrated volatility multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CalibratedBootstrap {
    /// History used, in seconds.
    pub lookback_secs: i64,
    /// Block length in steps.
    pub block_len: usize,
    /// Half-life of the EWMA volatility filter, seconds.
    pub ewma_half_life_secs: f64,
    /// Half-life of the current volatility's reversion to the long-run level, seconds.
    pub reversion_half_life_secs: f64,
    /// Pseudo-prompts scored for the calibration (spaced half a horizon apart).
    pub calib_prompts: usize,
    /// Paths per pseudo-prompt.
    pub calib_paths: usize,
    /// Smallest multiplier tried.
    pub scale_min: f64,
    /// Largest multiplier tried.
    pub scale_max: f64,
    /// Grid points between them (at least 2).
    pub scale_steps: usize,
}

impl Default for CalibratedBootstrap {
    fn default() -> Self {
        Self {
            lookback_secs: 30 * 86_400,
            block_len: 12,
            ewma_half_life_secs: 6.0 * 3600.0,
            reversion_half_life_secs: 12.0 * 3600.0,
            calib_prompts: 32,
            calib_paths: 64,
            scale_min: 0.6,
            scale_max: 1.4,
            scale_steps: 33,
        }
    }
}

/// What the fitted engine needs to forecast from any start in its history.
struct Engine {
    profile: IntradayProfile,
    /// Standardised residuals (zero mean, unit variance).
    z: Vec<f64>,
    /// Long-run variance of the deseasonalised returns.
    long_var: f64,
    /// Per-step reversion factor of the variance.
    phi: f64,
    block: usize,
    inc: i64,
}

impl Engine {
    /// Per-step standard deviations of `steps` steps from `t0` when the filter variance is `v`.
    fn sd(&self, v: f64, t0: i64, steps: usize, out: &mut Vec<f64>) {
        out.clear();
        let mut d = v - self.long_var;
        for k in 0..steps {
            let var = (self.long_var + d).max(0.0);
            out.push(var.sqrt() * self.profile.at(t0 + k as i64 * self.inc));
            d *= self.phi;
        }
    }

    /// Fills `out` with standardised residuals in random blocks.
    fn fill_z(&self, g: &mut BaseRng, out: &mut [f64]) {
        let starts = self.z.len() - self.block + 1;
        let mut k = 0;
        while k < out.len() {
            let s = g.random_range(0..starts);
            for &zi in &self.z[s..s + self.block] {
                if k == out.len() {
                    break;
                }
                out[k] = zi;
                k += 1;
            }
        }
    }
}

/// Sample CRPS `mean|x − y| − ½·mean|x − x'|` of the sorted sample `xs` (with prefix sums
/// `pre`, `pre[i] = Σ xs[..i]`, and the precomputed spread term) at `y`.
fn crps_sorted(xs: &[f64], pre: &[f64], spread: f64, y: f64) -> f64 {
    let m = xs.len();
    let k = xs.partition_point(|&x| x <= y);
    let total = pre[m];
    let below = k as f64 * y - pre[k];
    let above = (total - pre[k]) - (m - k) as f64 * y;
    (below + above) / m as f64 - spread
}

impl CalibratedBootstrap {
    fn check(&self) -> Result<(), ModelError> {
        if self.block_len == 0
            || self.scale_steps < 2
            || !(self.scale_min > 0.0 && self.scale_max > self.scale_min)
        {
            return Err(ModelError::InvalidConfig(
                "bootstrap_cal needs block_len >= 1, scale_steps >= 2 and 0 < scale_min < \
                 scale_max"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The multiplier grid.
    fn grid(&self) -> Vec<f64> {
        let n = self.scale_steps;
        (0..n)
            .map(|i| self.scale_min + (self.scale_max - self.scale_min) * i as f64 / (n - 1) as f64)
            .collect()
    }

    /// The CRPS-minimising multiplier over pseudo-prompts in the history (1 when too few can
    /// be scored).
    fn calibrate(
        &self,
        req: &ForecastRequest<'_>,
        eng: &Engine,
        starts: &[i64],
        vbefore: &[f64],
    ) -> f64 {
        let h = req.history;
        let inc = eng.inc;
        let steps = req.n_points() - 1;
        let horizon = steps as i64 * inc;
        let res = i64::from(h.resolution_secs.max(1));
        let intervals = PromptConfig::intervals_for_time_length(i64::from(req.time_length));
        let grid = self.grid();
        let mut obj = vec![0.0; grid.len()];
        let mut terms = 0usize;
        let m = self.calib_paths.max(8);
        let mut g = rng(req.seed ^ 0x5eed_ca11_b4a7_e000);
        // Log price at time `t` (the close of the candle ending at `t`), NaN when missing.
        let log_at = |t: i64| -> f64 {
            match h.ts.binary_search(&(t - res)) {
                Ok(i) if h.close[i] > 0.0 && h.close[i].is_finite() => h.close[i].ln(),
                _ => f64::NAN,
            }
        };
        let (mut sd, mut zbuf) = (Vec::new(), vec![0.0; steps]);
        let mut cum = vec![0.0; m * (steps + 1)];
        let (mut col, mut pre) = (vec![0.0; m], vec![0.0; m + 1]);
        // A day of filter warm-up before the first pseudo-prompt.
        let first_ok = starts
            .first()
            .copied()
            .unwrap_or(i64::MAX)
            .saturating_add(86_400);
        let step_grid = (horizon / 2).max(inc);
        let last = (req.start_time - horizon).div_euclid(inc) * inc;
        for j in 0..self.calib_prompts {
            let s = last - j as i64 * step_grid;
            if s < first_ok {
                break;
            }
            let real: Vec<f64> = (0..=steps).map(|k| log_at(s + k as i64 * inc)).collect();
            if !real[0].is_finite() || !real[steps].is_finite() {
                continue;
            }
            // Filter state: the variance after every return known by `s`.
            let idx = starts.partition_point(|&t| t + inc <= s);
            let v = vbefore[idx];
            eng.sd(v, s, steps, &mut sd);
            for p in 0..m {
                eng.fill_z(&mut g, &mut zbuf);
                let row = &mut cum[p * (steps + 1)..(p + 1) * (steps + 1)];
                row[0] = 0.0;
                for k in 0..steps {
                    row[k + 1] = row[k] + zbuf[k] * sd[k];
                }
            }
            for iv in intervals {
                let st = ((iv.seconds / inc).max(1) as usize).min(steps);
                let is_abs = iv.name.ends_with("_abs");
                let is_gap = iv.name.ends_with("_gaps");
                let pairs: Vec<(usize, usize)> = if is_gap {
                    vec![(0, st)]
                } else if is_abs {
                    (1..=steps / st).map(|i| (0, i * st)).collect()
                } else {
                    (0..steps / st).map(|i| (i * st, (i + 1) * st)).collect()
                };
                for (a, b) in pairs {
                    let y = (real[b] - real[a]) * 1e4;
                    if !y.is_finite() {
                        continue;
                    }
                    for (p, c) in col.iter_mut().enumerate() {
                        let row = &cum[p * (steps + 1)..];
                        *c = (row[b] - row[a]) * 1e4;
                    }
                    col.sort_unstable_by(f64::total_cmp);
                    let mut spread = 0.0;
                    for (i, x) in col.iter().enumerate() {
                        pre[i + 1] = pre[i] + x;
                        spread += (2.0 * i as f64 - (m as f64 - 1.0)) * x;
                    }
                    spread /= (m * m) as f64;
                    for (o, &c) in obj.iter_mut().zip(&grid) {
                        *o += c * crps_sorted(&col, &pre, spread, y / c);
                    }
                    terms += 1;
                }
            }
        }
        if terms < 4 * intervals.len() {
            return 1.0;
        }
        let best = obj
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map_or(0, |(i, _)| i);
        grid[best]
    }
}

impl Forecaster for CalibratedBootstrap {
    fn name(&self) -> String {
        "bootstrap_cal".into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        check_request(req)?;
        self.check()?;
        let ret = step_returns(
            req.history,
            req.time_increment,
            req.start_time,
            self.lookback_secs,
        );
        if ret.len() < 200 {
            return Err(ModelError::Data(format!(
                "bootstrap_cal needs at least 200 returns of {} s before the prompt (found {})",
                req.time_increment,
                ret.len()
            )));
        }
        let (profile, x, long_var) = super::bootstrap::deseasonalise(&ret, "bootstrap_cal")?;
        let lambda = decay(req.time_increment, self.ewma_half_life_secs);
        let mut v = long_var;
        let mut z = Vec::with_capacity(x.len());
        // vbefore[i]: the filter variance before return i; vbefore[n]: after all of them.
        let mut vbefore = Vec::with_capacity(x.len() + 1);
        for &xi in &x {
            vbefore.push(v);
            z.push(xi / v.sqrt());
            v = lambda * v + (1.0 - lambda) * xi * xi;
        }
        vbefore.push(v);
        let z_mean = z.iter().sum::<f64>() / z.len() as f64;
        let z_sd = (z.iter().map(|a| (a - z_mean).powi(2)).sum::<f64>() / z.len() as f64).sqrt();
        if !(z_sd.is_finite() && z_sd > 0.0) {
            return Err(ModelError::Data(
                "bootstrap_cal: degenerate residuals".into(),
            ));
        }
        z.iter_mut().for_each(|a| *a = (*a - z_mean) / z_sd);
        let eng = Engine {
            profile,
            block: self.block_len.min(z.len()),
            z,
            long_var,
            phi: decay(req.time_increment, self.reversion_half_life_secs),
            inc: i64::from(req.time_increment),
        };
        let c = self.calibrate(req, &eng, &ret.start, &vbefore);
        let mut sd = Vec::new();
        eng.sd(v, req.start_time, req.n_points() - 1, &mut sd);
        sd.iter_mut().for_each(|s| *s *= c);
        let mut g = rng(req.seed);
        paths_from_log_returns(req, |_, out| {
            eng.fill_z(&mut g, out);
            for (o, s) in out.iter_mut().zip(&sd) {
                *o = *o * s - 0.5 * s * s;
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_crps_matches_the_pairwise_definition() {
        let xs = [-1.5, -0.2, 0.1, 0.7, 2.0];
        let mut pre = vec![0.0];
        let mut spread = 0.0;
        for (i, x) in xs.iter().enumerate() {
            pre.push(pre[i] + x);
            spread += (2.0 * i as f64 - 4.0) * x;
        }
        spread /= 25.0;
        for y in [-3.0, -0.2, 0.4, 5.0] {
            let direct = xs.iter().map(|x| (x - y).abs()).sum::<f64>() / 5.0
                - xs.iter()
                    .flat_map(|a| xs.iter().map(move |b| (a - b).abs()))
                    .sum::<f64>()
                    / 50.0;
            assert!((crps_sorted(&xs, &pre, spread, y) - direct).abs() < 1e-12);
        }
    }
}
