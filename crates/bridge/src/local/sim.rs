//! The stand-in's statistical models and an SN50-style CRPS: paths of log returns drawn from
//! a normal (GBM), a Student-t, or the empirical returns (bootstrap), scored on price changes
//! in basis points over the SN50 scoring intervals.

use models::rng::{SplitMix64, GAMMA};

/// SplitMix64 ([`models::rng`]): small, seedable, good enough for Monte Carlo here.
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(SplitMix64::new(seed ^ GAMMA))
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The models the stand-in can run.
pub const MODELS: [(&str, &str); 3] = [
    (
        "gbm",
        "Geometric Brownian motion: normal log returns, volatility from the lookback window",
    ),
    (
        "student_t",
        "Student-t (4 degrees of freedom) log returns scaled to the window's volatility",
    ),
    (
        "bootstrap",
        "Log returns resampled from the lookback window (empirical distribution)",
    ),
];

/// Samples `n_paths` price paths of `steps` steps from `start`, using `returns` (the window's
/// log returns) to fit `model`. Path-major: `steps + 1` prices per path.
pub fn simulate(
    model: &str,
    returns: &[f64],
    start: f64,
    steps: usize,
    n_paths: usize,
    rng: &mut Rng,
) -> Vec<f64> {
    let n = returns.len().max(1) as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let sd = (returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut out = Vec::with_capacity(n_paths * (steps + 1));
    for _ in 0..n_paths {
        let mut p = start;
        out.push(p);
        for _ in 0..steps {
            let r = match model {
                "student_t" => {
                    let df = 4.0;
                    let chi2: f64 = (0..4).map(|_| rng.normal().powi(2)).sum();
                    // Var of t(4) is 2; scale to unit variance.
                    sd * rng.normal() / (chi2 / df).sqrt() / 2f64.sqrt()
                }
                "bootstrap" if !returns.is_empty() => {
                    returns[(rng.next_u64() % returns.len() as u64) as usize]
                }
                _ => sd * rng.normal(),
            };
            p *= r.exp();
            out.push(p);
        }
    }
    out
}

/// CRPS of an ensemble against one observation (exact for the empirical distribution).
pub fn crps(samples: &mut [f64], obs: f64) -> f64 {
    let n = samples.len() as f64;
    if samples.is_empty() {
        return f64::NAN;
    }
    samples.sort_by(f64::total_cmp);
    let abs: f64 = samples.iter().map(|x| (x - obs).abs()).sum::<f64>() / n;
    let spread: f64 = samples
        .iter()
        .enumerate()
        .map(|(i, x)| (2.0 * i as f64 + 1.0 - n) * x)
        .sum::<f64>()
        / (n * n);
    abs - spread
}

/// Scoring intervals in steps: 5m, 30m, 3h, 24h for `5m`; 1, 2, 5, 15, 30, 60 min for `1m`.
pub fn intervals(tf: &str) -> &'static [usize] {
    if tf == "1m" {
        &[1, 2, 5, 15, 30, 60]
    } else {
        &[1, 6, 36, 288]
    }
}

/// SN50-style score: for each interval, the CRPS of the paths' price changes in basis points
/// over consecutive blocks of that length against the realised change, summed.
pub fn score(paths: &[f64], n_paths: usize, realised: &[f64], tf: &str) -> f64 {
    let len = realised.len();
    let mut total = 0.0;
    for &k in intervals(tf) {
        let mut t = 0;
        while t + k < len {
            let obs = (realised[t + k] / realised[t] - 1.0) * 1e4;
            let mut xs: Vec<f64> = (0..n_paths)
                .map(|i| (paths[i * len + t + k] / paths[i * len + t] - 1.0) * 1e4)
                .collect();
            total += crps(&mut xs, obs);
            t += k;
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crps_matches_closed_forms() {
        // One sample: CRPS is the absolute error.
        assert!((crps(&mut [3.0], 1.0) - 2.0).abs() < 1e-12);
        // Two samples {0, 2}, obs 1: mean|x-y| = 1, E|X-X'|/2 = 0.5.
        assert!((crps(&mut [2.0, 0.0], 1.0) - 0.5).abs() < 1e-12);
        let mut rng = Rng::new(7);
        let p = simulate("gbm", &[0.01, -0.01], 100.0, 4, 3, &mut rng);
        assert_eq!(p.len(), 15);
        assert!(p.iter().all(|x| x.is_finite() && *x > 0.0));
        assert_eq!(p[0], 100.0);
    }
}
