//! Training objectives.
//!
//! [`path_crps`] is the validators' score made differentiable: for every scoring interval of
//! the prompt (sn50's `calculate_crps_for_miner`, the validator's scoring function) it takes the paths'
//! points every `s` steps, their changes in basis points `(p[j+s] − p[j]) / p[j] · 10⁴`
//! (only the first change for `_gaps` intervals; for `_abs`, the prices themselves divided by
//! the last real price ·10⁴), and sums the ensemble CRPS `E|X − y| − ½E|X − X'|` over all
//! points, exactly like sn50 (standard, not "fair", estimator; sorted O(N log N) form). Inputs
//! are price factors (start = 1), which leaves changes unchanged and scales `_abs` terms
//! consistently. [`gaussian_crps`] is the closed-form alternative on per-step returns.

use candle_core::{DType, Result, Tensor, D};

use crate::spec::Timeframe;

/// How an interval turns path points into scored values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalKind {
    /// Changes between consecutive sampled points, in bps.
    Change,
    /// Only the change from the start to the first sampled point, in bps.
    Gap,
    /// The sampled prices themselves, scored after dividing by the last real price ·10⁴.
    Abs,
}

/// One scoring interval in steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    /// sn50 name.
    pub name: &'static str,
    /// Steps between sampled points.
    pub steps: usize,
    /// How it is scored.
    pub kind: IntervalKind,
}

const fn iv(name: &'static str, steps: usize, kind: IntervalKind) -> Interval {
    Interval { name, steps, kind }
}

use IntervalKind::{Abs, Change, Gap};

/// sn50's LOW intervals (5-minute steps). Mirrors `sn50::config::LOW.scoring_intervals`.
pub const LOW_INTERVALS: &[Interval] = &[
    iv("5min", 1, Change),
    iv("30min", 6, Change),
    iv("3hour", 36, Change),
    iv("24hour_abs", 288, Abs),
];

/// sn50's HIGH intervals (1-minute steps). Mirrors `sn50::config::HIGH.scoring_intervals`.
pub const HIGH_INTERVALS: &[Interval] = &[
    iv("1min", 1, Change),
    iv("2min", 2, Change),
    iv("5min", 5, Change),
    iv("15min", 15, Change),
    iv("30min", 30, Change),
    iv("60min_abs", 60, Abs),
    iv("0_5min_gaps", 5, Gap),
    iv("0_10min_gaps", 10, Gap),
    iv("0_15min_gaps", 15, Gap),
    iv("0_20min_gaps", 20, Gap),
    iv("0_25min_gaps", 25, Gap),
    iv("0_30min_gaps", 30, Gap),
    iv("0_35min_gaps", 35, Gap),
    iv("0_40min_gaps", 40, Gap),
    iv("0_45min_gaps", 45, Gap),
    iv("0_50min_gaps", 50, Gap),
    iv("0_55min_gaps", 55, Gap),
    iv("0_60min_gaps", 60, Gap),
];

/// The intervals scored for a timeframe.
pub fn intervals(tf: Timeframe) -> &'static [Interval] {
    match tf {
        Timeframe::Low5m => LOW_INTERVALS,
        Timeframe::High1m => HIGH_INTERVALS,
    }
}

/// Number of scored values per prompt for `horizon` steps (350 − 2 = 345 for LOW… computed).
pub fn n_terms(ivs: &[Interval], horizon: usize) -> usize {
    ivs.iter()
        .map(|i| match i.kind {
            Change => horizon / i.steps,
            Gap => 1,
            Abs => horizon / i.steps,
        })
        .sum()
}

/// Ensemble CRPS of each column: forecasts (B, K, N) against observations (B, K) → (B, K).
/// `mean|x − y| − (1/N²) Σ_i (2i − N + 1) x_(i)` (0-based ranks; gradient through the sort).
pub fn crps_ensemble(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let n = x.dim(D::Minus1)?;
    let x = x.contiguous()?;
    let t1 = x
        .broadcast_sub(&y.unsqueeze(D::Minus1)?)?
        .abs()?
        .mean(D::Minus1)?;
    let idx = x.arg_sort_last_dim(true)?;
    let sorted = x.gather(&idx, D::Minus1)?;
    let nf = n as f64;
    let w: Vec<f32> = (0..n)
        .map(|i| ((2 * i) as f64 - nf + 1.0) / (nf * nf))
        .map(|v| v as f32)
        .collect();
    let w = Tensor::from_vec(w, n, x.device())?.to_dtype(x.dtype())?;
    let t2 = sorted.broadcast_mul(&w)?.sum(D::Minus1)?;
    t1 - t2
}

/// Total sn50 CRPS per sample (B,) of price-factor paths (B, N, H+1) against the realised
/// factor path (B, H+1) (both start at 1), over `ivs`.
pub fn path_crps_total(paths: &Tensor, real: &Tensor, ivs: &[Interval]) -> Result<Tensor> {
    let (b, _, p) = paths.dims3()?;
    let h = p - 1;
    let dev = paths.device();
    let mut total = Tensor::zeros(b, DType::F32, dev)?;
    let last = real.narrow(1, h, 1)?; // (B, 1)
    for iv in ivs {
        let s = iv.steps.min(h).max(1);
        let cols: Vec<u32> = (0..=h).step_by(s).map(|c| c as u32).collect();
        let cols = match iv.kind {
            Gap => cols[..2.min(cols.len())].to_vec(),
            _ => cols,
        };
        if cols.len() < 2 {
            continue;
        }
        let k = cols.len() - 1;
        let idx = Tensor::from_vec(cols, k + 1, dev)?;
        let q = paths.index_select(&idx, 2)?; // (B, N, K+1)
        let qy = real.index_select(&idx, 1)?; // (B, K+1)
        let (xs, ys) = match iv.kind {
            Abs => {
                let xs = q.narrow(2, 1, k)?.broadcast_div(&last.unsqueeze(2)?)? * 1e4;
                let ys = qy.narrow(1, 1, k)?.broadcast_div(&last)? * 1e4;
                (xs?, ys?)
            }
            Change | Gap => {
                let a = q.narrow(2, 0, k)?;
                let xs = ((q.narrow(2, 1, k)? - &a)? / a)? * 1e4;
                let ay = qy.narrow(1, 0, k)?;
                let ys = ((qy.narrow(1, 1, k)? - &ay)? / ay)? * 1e4;
                (xs?, ys?)
            }
        };
        let c = crps_ensemble(&xs.transpose(1, 2)?, &ys)?; // (B, K)
        total = (total + c.sum(1)?)?;
    }
    Ok(total)
}

/// Mean per-term sn50 CRPS (bps): the batch mean of [`path_crps_total`] divided by the number
/// of scored values per prompt (a well-scaled training loss; ×n_terms gives the sn50 sum).
pub fn path_crps(paths: &Tensor, real: &Tensor, ivs: &[Interval]) -> Result<Tensor> {
    let h = paths.dim(2)? - 1;
    let n = n_terms(ivs, h).max(1) as f64;
    path_crps_total(paths, real, ivs)?.mean_all()? / n
}

/// Closed-form CRPS of N(μ, σ) at y, elementwise:
/// σ·[z(2Φ(z) − 1) + 2φ(z) − 1/√π], z = (y − μ)/σ.
pub fn gaussian_crps_elem(mu: &Tensor, sigma: &Tensor, y: &Tensor) -> Result<Tensor> {
    let z = ((y - mu)? / sigma)?;
    let cdf = ((z.affine(std::f64::consts::FRAC_1_SQRT_2, 0.0)?.erf()? + 1.0)? * 0.5)?;
    let pdf = ((z.sqr()? * -0.5)?.exp()? * (1.0 / (2.0 * std::f64::consts::PI).sqrt()))?;
    let term =
        (((&z * ((cdf * 2.0)? - 1.0)?)? + (pdf * 2.0)?)? - 1.0 / std::f64::consts::PI.sqrt())?;
    sigma * term
}

/// Mean closed-form Gaussian CRPS of per-step log returns in bps: per-step marginals
/// (μ, σ) (B, H) against realised log returns (B, H), all ×10⁴.
pub fn gaussian_crps(mu: &Tensor, sigma: &Tensor, y: &Tensor) -> Result<Tensor> {
    gaussian_crps_elem(&(mu * 1e4)?, &(sigma * 1e4)?, &(y * 1e4)?)?.mean_all()
}

/// Realised factor path (B, H+1) from log returns (B, H): [1, exp(cumsum)].
pub fn real_factors(returns: &Tensor) -> Result<Tensor> {
    let b = returns.dim(0)?;
    let zero = Tensor::zeros((b, 1), returns.dtype(), returns.device())?;
    Tensor::cat(&[&zero, &crate::nn::cumsum::cumsum_last(returns)?], 1)?.exp()
}
