//! CRPS of one miner's paths against the realised prices, as the validator computes it
//! (`synth/validator/crps_calculation.py::calculate_crps_for_miner`), bit for bit.

use serde::Serialize;

use crate::config::ScoringInterval;
use crate::numeric::{crps_kernel, numpy_sum};
use crate::paths::PathSet;
use crate::sort::EnsembleSorter;

/// The score of one interval: one CRPS per evaluated point (NaN real changes skipped) and their
/// total as the validator adds it up (numpy sum per block of observed points, blocks in order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntervalCrps {
    /// Interval name, e.g. `"5min"`.
    pub name: &'static str,
    /// CRPS per evaluated point, in basis points.
    pub points: Vec<f64>,
    /// The interval's contribution to the total.
    pub total: f64,
}

/// A miner's CRPS over all intervals of a prompt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinerCrps {
    /// Sum of the interval totals, added in interval order (may be NaN; see [`miner_score`]).
    pub total: f64,
    /// Intervals with at least one change (the validator lists no others).
    pub intervals: Vec<IntervalCrps>,
}

/// Why a miner cannot be scored; the validator gives it -1.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CrpsError {
    /// A zero price anywhere in the paths.
    #[error("Zero price encountered in simulation runs")]
    ZeroPrice,
    /// `int(seconds / time_increment)` is zero or negative (numpy raises on a zero slice step).
    #[error("interval {0} has a step of zero points at this time increment")]
    BadStep(&'static str),
    /// No paths, no points, or paths and real prices of different lengths.
    #[error("paths have {paths} points but there are {real} real prices (and {n} paths)")]
    Shape { paths: usize, real: usize, n: usize },
}

/// The CRPS of `sims` against `real` (NaN where a real price is missing) over `intervals`.
pub fn crps_for_miner(
    sims: &PathSet,
    real: &[f64],
    time_increment: i64,
    intervals: &[ScoringInterval],
) -> Result<MinerCrps, CrpsError> {
    let (n, p) = (sims.n_paths(), sims.n_points());
    if n == 0 || p == 0 || p != real.len() {
        return Err(CrpsError::Shape {
            paths: p,
            real: real.len(),
            n,
        });
    }
    if time_increment == 0 {
        return Err(CrpsError::BadStep(intervals.first().map_or("", |i| i.name)));
    }
    if !intervals.is_empty() && sims.as_flat().contains(&0.0) {
        return Err(CrpsError::ZeroPrice);
    }
    let cols = transpose(sims);
    let real_last = real[p - 1];
    let mut sorter = EnsembleSorter::new(n);
    let mut sum_all = 0.0f64;
    let mut out = Vec::with_capacity(intervals.len());
    for iv in intervals {
        // Python: int(seconds / time_increment), float division then truncation.
        let mut steps = (iv.seconds as f64 / time_increment as f64) as i64;
        if steps <= 0 {
            return Err(CrpsError::BadStep(iv.name));
        }
        let (is_abs, is_gap) = (iv.is_abs(), iv.is_gap());
        if is_abs {
            while (p as i64 + steps - 1) / steps == 1 && steps > 1 {
                steps -= 1;
            }
        }
        let s = steps as usize;
        let sampled = (p - 1) / s + 1;
        let k_count = if is_gap {
            sampled.min(2) - 1
        } else {
            sampled - 1
        };
        if k_count == 0 {
            continue;
        }
        let real_at = |k: usize| -> f64 {
            let b = real[(k + 1) * s];
            if is_abs {
                b
            } else {
                let a = real[k * s];
                ((b - a) / a) * 10000.0
            }
        };
        let mut points = Vec::new();
        let mut block = Vec::new();
        let mut acc = 0.0f64;
        for k in 0..=k_count {
            let obs = if k < k_count { real_at(k) } else { f64::NAN };
            if obs.is_nan() {
                // End of a block of observed points.
                if !block.is_empty() {
                    acc += numpy_sum(&block);
                    block.clear();
                }
                continue;
            }
            let column = |t: usize| &cols[t * n..(t + 1) * n];
            let hi = column((k + 1) * s);
            let v = if is_abs {
                crps_kernel(obs, sorter.sort(hi.iter().copied())) / real_last * 10000.0
            } else {
                let lo = column(k * s);
                let changes = lo.iter().zip(hi).map(|(&a, &b)| ((b - a) / a) * 10000.0);
                crps_kernel(obs, sorter.sort(changes))
            };
            block.push(v);
            points.push(v);
        }
        sum_all += acc;
        out.push(IntervalCrps {
            name: iv.name,
            points,
            total: acc,
        });
    }
    Ok(MinerCrps {
        total: sum_all,
        intervals: out,
    })
}

/// The validator's per-miner score: the CRPS total, or -1 on any error or a NaN total.
pub fn miner_score(
    sims: &PathSet,
    real: &[f64],
    time_increment: i64,
    intervals: &[ScoringInterval],
) -> f64 {
    match crps_for_miner(sims, real, time_increment, intervals) {
        Ok(c) if !c.total.is_nan() => c.total,
        _ => -1.0,
    }
}

/// Point-major copy of the paths: point `t` of path `i` at `t * n_paths + i`.
fn transpose(sims: &PathSet) -> Vec<f64> {
    let (n, p) = (sims.n_paths(), sims.n_points());
    let mut cols = vec![0.0f64; n * p];
    for (i, path) in sims.paths().enumerate() {
        for (t, &x) in path.iter().enumerate() {
            cols[t * n + i] = x;
        }
    }
    cols
}

/// The validator's `label_observed_blocks`: runs of non-NaN values get labels 0, 1, 2, …; NaN -1.
pub fn label_observed_blocks(x: &[f64]) -> Vec<i64> {
    let mut label = -1i64;
    let mut prev_nan = true;
    x.iter()
        .map(|v| {
            if v.is_nan() {
                prev_nan = true;
                -1
            } else {
                if prev_nan {
                    label += 1;
                }
                prev_nan = false;
                label
            }
        })
        .collect()
}
