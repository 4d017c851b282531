//! The walk-forward's ratios to the reference GBM and their 90 % intervals: a paired, stratified
//! circular block bootstrap of the prompts (every competitor and the reference on the same
//! resampled prompts; strata = assets, blocks as long as a horizon spans prompts, since
//! overlapping horizons make neighbouring prompts move together), with a fixed seed.

use models::rng::SplitMix64;
use serde::Serialize;
use sn50::numeric::percentile_linear;

/// Seed of the bootstrap (fixed: the same evaluation gives the same intervals).
pub const BOOTSTRAP_SEED: u64 = 0x5EED_C0DE;

/// One prompt's CRPS totals, competitors in input order (every one valid).
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// Prompt start, unix seconds.
    pub start: i64,
    /// CRPS total per competitor.
    pub crps: Vec<f64>,
}

/// One stratum (an asset): its prompts in time order and its weight (the SN50 coefficient
/// for a weighted pool, 1 alone).
#[derive(Debug, Clone, PartialEq)]
pub struct Stratum {
    /// Weight.
    pub weight: f64,
    /// Prompts, in start order.
    pub prompts: Vec<Scored>,
}

/// A value with its 90 % interval (5th–95th percentile of the bootstrap).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Point estimate (on all prompts).
    pub value: f64,
    /// 5th percentile.
    pub lo: f64,
    /// 95th percentile.
    pub hi: f64,
}

/// Per competitor: weighted mean-CRPS ratio to the reference, and the difference of that ratio
/// to `against`'s (negative: better than `against`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ratios {
    /// Prompts (all strata).
    pub prompts: usize,
    /// Per competitor: ratio to the reference.
    pub ratio: Vec<Estimate>,
    /// Per competitor: its ratio minus `against`'s (zero for `against` itself).
    pub minus_against: Vec<Estimate>,
}

/// Σ w·mean(crps_c) / Σ w·mean(crps_ref) per competitor, for index lists per stratum.
fn weighted(strata: &[Stratum], idx: &[Vec<usize>], n: usize, reference: usize) -> Vec<f64> {
    let mut num = vec![0.0; n];
    for (s, ix) in strata.iter().zip(idx) {
        if ix.is_empty() {
            continue;
        }
        for (c, v) in num.iter_mut().enumerate() {
            let sum: f64 = ix.iter().map(|&i| s.prompts[i].crps[c]).sum();
            *v += s.weight * sum / ix.len() as f64;
        }
    }
    let r = num[reference];
    num.iter().map(|x| x / r).collect()
}

/// Block length for a stratum: the prompts a horizon spans at their median spacing, at most a
/// quarter of the prompts.
fn block_len(s: &Stratum, horizon: i64) -> usize {
    let mut gaps: Vec<i64> = s
        .prompts
        .windows(2)
        .map(|w| w[1].start - w[0].start)
        .collect();
    gaps.sort_unstable();
    let spacing = gaps.get(gaps.len() / 2).copied().unwrap_or(60).max(60);
    ((horizon as f64 / spacing as f64).ceil() as usize).clamp(1, (s.prompts.len() / 4).max(1))
}

/// Ratios of `n` competitors to `reference` and differences to `against`, with intervals from
/// `resamples` paired circular block bootstraps (stratified: each stratum resampled on its own).
pub fn ratios(
    strata: &[Stratum],
    n: usize,
    reference: usize,
    against: usize,
    horizon: i64,
    resamples: usize,
) -> Ratios {
    let all: Vec<Vec<usize>> = strata
        .iter()
        .map(|s| (0..s.prompts.len()).collect())
        .collect();
    let point = weighted(strata, &all, n, reference);
    let blocks: Vec<usize> = strata.iter().map(|s| block_len(s, horizon)).collect();
    let mut rng = SplitMix64::new(BOOTSTRAP_SEED);
    let mut draws: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); n];
    let mut diffs: Vec<Vec<f64>> = vec![Vec::with_capacity(resamples); n];
    let mut idx: Vec<Vec<usize>> = vec![Vec::new(); strata.len()];
    for _ in 0..resamples {
        for ((s, ix), &b) in strata.iter().zip(idx.iter_mut()).zip(&blocks) {
            ix.clear();
            let len = s.prompts.len();
            while ix.len() < len {
                let start = rng.below(len);
                for j in 0..b.min(len - ix.len()) {
                    ix.push((start + j) % len);
                }
            }
        }
        let r = weighted(strata, &idx, n, reference);
        for ((d, f), &x) in draws.iter_mut().zip(diffs.iter_mut()).zip(&r) {
            d.push(x);
            f.push(x - r[against]);
        }
    }
    let est = |value: f64, v: &[f64]| Estimate {
        value,
        lo: percentile_linear(v, 5.0),
        hi: percentile_linear(v, 95.0),
    };
    Ratios {
        prompts: strata.iter().map(|s| s.prompts.len()).sum(),
        ratio: (0..n).map(|c| est(point[c], &draws[c])).collect(),
        minus_against: (0..n)
            .map(|c| est(point[c] - point[against], &diffs[c]))
            .collect(),
    }
}

/// Tercile boundaries (33⅓ and 66⅔ percentiles) of `v`.
pub fn terciles(v: &[f64]) -> (f64, f64) {
    (
        percentile_linear(v, 100.0 / 3.0),
        percentile_linear(v, 200.0 / 3.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stratum(w: f64, f: impl Fn(usize) -> Vec<f64>) -> Stratum {
        Stratum {
            weight: w,
            prompts: (0..120)
                .map(|i| Scored {
                    start: i as i64 * 3600,
                    crps: f(i),
                })
                .collect(),
        }
    }

    #[test]
    fn exact_ratios_have_point_intervals_and_noise_brackets_the_point() {
        // Competitor 1 is 0.9 × the reference on every prompt: the interval is that point.
        let s = stratum(1.0, |i| {
            vec![10.0 + (i % 7) as f64, 0.9 * (10.0 + (i % 7) as f64)]
        });
        let r = ratios(&[s], 2, 0, 0, 86_400, 500);
        assert!((r.ratio[1].lo - 0.9).abs() < 1e-12 && (r.ratio[1].hi - 0.9).abs() < 1e-12);
        assert!((r.minus_against[1].value + 0.1).abs() < 1e-12);
        assert_eq!(r.ratio[0].value, 1.0);
        // Noisy: the interval contains the point, and the same seed repeats it.
        let noisy = |w| stratum(w, |i| vec![10.0, if i % 3 == 0 { 12.0 } else { 8.0 }]);
        let a = ratios(&[noisy(1.0), noisy(2.0)], 2, 0, 0, 3600, 500);
        let b = ratios(&[noisy(1.0), noisy(2.0)], 2, 0, 0, 3600, 500);
        assert_eq!(a, b);
        assert!(a.ratio[1].lo < a.ratio[1].value && a.ratio[1].value < a.ratio[1].hi);
        assert_eq!(a.prompts, 240);
    }

    #[test]
    fn weights_follow_the_strata() {
        // Stratum A: ratio 0.8, weight 3; stratum B: ratio 1.0, weight 1; equal reference CRPS.
        let a = stratum(3.0, |_| vec![10.0, 8.0]);
        let b = stratum(1.0, |_| vec![10.0, 10.0]);
        let r = ratios(&[a, b], 2, 0, 1, 3600, 100);
        assert!((r.ratio[1].value - (3.0 * 8.0 + 10.0) / 40.0).abs() < 1e-12);
        assert!((r.minus_against[0].value - (1.0 - 0.85)).abs() < 1e-12);
    }
}
