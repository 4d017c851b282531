//! Spread scaling of sampled paths: every path's log move from the start price multiplied by
//! a factor, so the forecast widens (> 1) or narrows (< 1) at every horizon while its shape
//! (tails, term structure, closures) stays. Used by `mix_har` (a volatility level from a HAR
//! regression) and by `synth-city evaluate`'s `<model>*<k>` calibration diagnostic
//! ([`Scaled`]).

use rand_distr::{Distribution, StandardNormal};
use sn50::PathSet;

use crate::{ForecastRequest, Forecaster, ModelError};

/// `paths` with each point's log distance from `s0` times `k` (clamped to ±50 in logs, as
/// every baseline's path builder). Errors when `k` is not positive and finite.
pub fn scale_spread(paths: PathSet, s0: f64, k: f64) -> Result<PathSet, ModelError> {
    if k == 1.0 {
        return Ok(paths);
    }
    scale_each(paths, s0, |_| k)
}

/// `paths` with path `i`'s log moves from `s0` times `k · exp(dispersion · z_i)`, `z_i`
/// standard normal drawn from `seed`: a scale mixture (the volatility level is uncertain),
/// which narrows the core and widens the tails of the pooled distribution around the median
/// factor `k`. `dispersion` 0 is [`scale_spread`].
pub fn scale_spread_mixed(
    paths: PathSet,
    s0: f64,
    k: f64,
    dispersion: f64,
    seed: u64,
) -> Result<PathSet, ModelError> {
    if !(dispersion.is_finite() && (0.0..=2.0).contains(&dispersion)) {
        return Err(ModelError::InvalidConfig(format!(
            "the spread dispersion must be in [0, 2], got {dispersion}"
        )));
    }
    if dispersion == 0.0 {
        return scale_spread(paths, s0, k);
    }
    let mut g = super::rng(seed ^ 0x5ca1_e000_0000_0001);
    let f: Vec<f64> = (0..paths.n_paths())
        .map(|_| {
            let z: f64 = StandardNormal.sample(&mut g);
            k * (dispersion * z).exp()
        })
        .collect();
    scale_each(paths, s0, |i| f[i])
}

fn scale_each(paths: PathSet, s0: f64, k: impl Fn(usize) -> f64) -> Result<PathSet, ModelError> {
    let (n, t) = (paths.n_paths(), paths.n_points());
    let mut data = Vec::with_capacity(n * t);
    for (i, p) in paths.paths().enumerate() {
        let k = k(i);
        if !(k.is_finite() && k > 0.0) {
            return Err(ModelError::InvalidConfig(format!(
                "the spread factor must be positive and finite, got {k}"
            )));
        }
        data.extend(
            p.iter()
                .map(|&x| s0 * ((x / s0).ln() * k).clamp(-50.0, 50.0).exp()),
        );
    }
    PathSet::from_flat(n, t, data).map_err(|e| ModelError::Data(e.to_string()))
}

/// The spread factor that moves a forecast's variance part of the way toward a target:
/// `(target / own)^(weight / 2)` for the variance ratio `ratio = target / own`, clamped to
/// `[1 / max_factor, max_factor]`; 1 when it is not finite (a zero or missing level).
pub fn leaned_factor(ratio: f64, weight: f64, max_factor: f64) -> f64 {
    let k = (0.5 * weight * ratio.ln()).exp();
    let lim = max_factor.max(1.0);
    if k.is_finite() {
        k.clamp(1.0 / lim, lim)
    } else {
        1.0
    }
}

/// Per step `k` of the paths: the mean over paths of the squared log increment from point `k`
/// to `k + 1` (the paths' variance per step, drift included: it is tiny at these horizons).
pub fn step_variances(paths: &PathSet) -> Vec<f64> {
    let t = paths.n_points();
    let mut v = vec![0.0; t.saturating_sub(1)];
    for p in paths.paths() {
        for (k, w) in p.windows(2).enumerate() {
            v[k] += (w[1] / w[0]).ln().powi(2);
        }
    }
    let n = paths.n_paths().max(1) as f64;
    v.iter_mut().for_each(|x| *x /= n);
    v
}

/// A model whose paths are spread by a fixed factor, optionally a scale mixture around it
/// (evaluation diagnostic: is the model's spread, or its shape, biased?). Not a preset:
/// `synth-city evaluate` builds it from `<baseline>*<k>` or `<baseline>*<k>~<dispersion>`.
pub struct Scaled {
    /// The model whose paths are scaled.
    pub inner: Box<dyn Forecaster>,
    /// The (median) factor on every log move from the start price.
    pub k: f64,
    /// Standard deviation of the per-path log factor (0: every path scaled by `k`).
    pub dispersion: f64,
}

impl Forecaster for Scaled {
    fn name(&self) -> String {
        format!("{}*{}~{}", self.inner.name(), self.k, self.dispersion)
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        let p = self.inner.forecast(req)?;
        scale_spread_mixed(p, req.start_price, self.k, self.dispersion, req.seed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leaned_factor_moves_part_way_and_is_clamped() {
        // Weight 1: the whole way (variance ratio 4 → spread × 2); weight 0.5: a quarter power.
        assert!((leaned_factor(4.0, 1.0, 3.0) - 2.0).abs() < 1e-12);
        assert!((leaned_factor(4.0, 0.5, 3.0) - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(leaned_factor(100.0, 1.0, 1.3), 1.3);
        assert_eq!(leaned_factor(0.01, 1.0, 1.3), 1.0 / 1.3);
        // A zero or missing level: no change.
        assert_eq!(leaned_factor(f64::NAN, 1.0, 1.3), 1.0);
        assert_eq!(leaned_factor(f64::INFINITY, 1.0, 0.5), 1.0);
    }

    #[test]
    fn scaling_multiplies_log_moves_and_step_variances() {
        let p = PathSet::from_flat(2, 3, vec![100.0, 110.0, 99.0, 100.0, 90.0, 95.0]).unwrap();
        let v0 = step_variances(&p);
        let s = scale_spread(p.clone(), 100.0, 1.5).unwrap();
        assert_eq!(s.path(0)[0], 100.0);
        assert!((s.path(0)[1] - 100.0 * (1.5 * 1.1f64.ln()).exp()).abs() < 1e-9);
        let v1 = step_variances(&s);
        for (a, b) in v0.iter().zip(&v1) {
            assert!((b / a - 2.25).abs() < 1e-9);
        }
        assert_eq!(scale_spread(p.clone(), 100.0, 1.0).unwrap(), p);
        assert!(scale_spread(p.clone(), 100.0, 0.0).is_err());
        assert!(scale_spread(p.clone(), 100.0, f64::NAN).is_err());
        // A scale mixture: each path its own factor, seeded; the start stays.
        let m = scale_spread_mixed(p.clone(), 100.0, 1.0, 0.3, 5).unwrap();
        assert_eq!(
            m,
            scale_spread_mixed(p.clone(), 100.0, 1.0, 0.3, 5).unwrap()
        );
        assert_eq!((m.path(0)[0], m.path(1)[0]), (100.0, 100.0));
        let f0 = (m.path(0)[1] / 100.0).ln() / 1.1f64.ln();
        let f1 = (m.path(1)[1] / 100.0).ln() / 0.9f64.ln();
        assert!(f0 > 0.0 && f1 > 0.0 && (f0 - f1).abs() > 1e-6);
        assert!(scale_spread_mixed(p.clone(), 100.0, 1.0, -0.1, 5).is_err());
        assert_eq!(
            scale_spread_mixed(p.clone(), 100.0, 1.0, 0.0, 5).unwrap(),
            p
        );
    }
}
