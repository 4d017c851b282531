//! Invariants of the scorer (proptest).

use proptest::prelude::*;
use sn50::crps::crps_for_miner;
use sn50::numeric::{crps_ensemble, numpy_sum};
use sn50::{PathSet, ScoringInterval, HIGH, LOW};

/// A positive random-walk price series of `n` points.
fn walk(n: usize) -> impl Strategy<Value = Vec<f64>> {
    (1.0f64..1e5, prop::collection::vec(-0.02f64..0.02, n - 1)).prop_map(|(s0, r)| {
        let mut p = vec![s0];
        for x in r {
            let last = *p.last().unwrap();
            p.push(last * (1.0 + x));
        }
        p
    })
}

fn paths_and_real(n: usize) -> impl Strategy<Value = (Vec<Vec<f64>>, Vec<f64>)> {
    (prop::collection::vec(walk(n), 1..12), walk(n))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn perfect_forecast_scores_zero(real in walk(61), copies in 1usize..5) {
        let sims = PathSet::from_rows(&vec![real.clone(); copies]).unwrap();
        let c = crps_for_miner(&sims, &real, 60, HIGH.scoring_intervals).unwrap();
        prop_assert_eq!(c.total, 0.0);
        prop_assert!(c.intervals.iter().all(|i| i.points.iter().all(|&p| p == 0.0)));
    }

    #[test]
    fn scores_are_finite_and_non_negative((rows, real) in paths_and_real(25)) {
        let sims = PathSet::from_rows(&rows).unwrap();
        let c = crps_for_miner(&sims, &real, 300, LOW.scoring_intervals).unwrap();
        prop_assert!(c.total.is_finite() && c.total >= 0.0, "total {}", c.total);
        for iv in &c.intervals {
            prop_assert!(iv.points.iter().all(|p| p.is_finite() && *p >= 0.0));
        }
    }

    #[test]
    fn scaling_prices_leaves_bp_scores_unchanged(
        (rows, real) in paths_and_real(61),
        exp in -8i32..8,
        c in 0.01f64..100.0,
    ) {
        let base = crps_for_miner(&PathSet::from_rows(&rows).unwrap(), &real, 60, HIGH.scoring_intervals)
            .unwrap();
        let scaled = |k: f64| {
            let r: Vec<Vec<f64>> = rows.iter().map(|p| p.iter().map(|x| x * k).collect()).collect();
            let re: Vec<f64> = real.iter().map(|x| x * k).collect();
            crps_for_miner(&PathSet::from_rows(&r).unwrap(), &re, 60, HIGH.scoring_intervals).unwrap()
        };
        // A power of two scales exactly, so every bit stays the same.
        prop_assert_eq!(&scaled(2f64.powi(exp)), &base);
        // Any other constant only moves the last bits.
        let other = scaled(c);
        for (a, b) in other.intervals.iter().zip(&base.intervals) {
            prop_assert!((a.total - b.total).abs() <= 1e-9 * b.total.abs().max(1.0));
        }
    }
}

/// The validator's loop (spec §4.3) written naively: one `crps_ensemble` per column, each on a
/// freshly sorted copy, summed per block with numpy's pairwise sum.
fn naive_crps(rows: &[Vec<f64>], real: &[f64], inc: i64, intervals: &[ScoringInterval]) -> f64 {
    let p = real.len();
    let mut sum_all = 0.0;
    for iv in intervals {
        let mut steps = (iv.seconds as f64 / inc as f64) as usize;
        if iv.is_abs() {
            while p.div_ceil(steps) == 1 && steps > 1 {
                steps -= 1;
            }
        }
        let mut cols: Vec<usize> = (0..p).step_by(steps).collect();
        if iv.is_gap() {
            cols.truncate(2);
        }
        let change = |path: &[f64], k: usize| {
            let (a, b) = (path[cols[k]], path[cols[k + 1]]);
            if iv.is_abs() {
                b
            } else {
                ((b - a) / a) * 10000.0
            }
        };
        let (mut acc, mut block) = (0.0, Vec::new());
        for k in 0..cols.len().saturating_sub(1) {
            let obs = change(real, k);
            if obs.is_nan() {
                acc += numpy_sum(&block);
                block.clear();
                continue;
            }
            let ens: Vec<f64> = rows.iter().map(|r| change(r, k)).collect();
            let mut v = crps_ensemble(obs, &ens);
            if iv.is_abs() {
                v = v / real[p - 1] * 10000.0;
            }
            block.push(v);
        }
        acc += numpy_sum(&block);
        sum_all += acc;
    }
    sum_all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// The optimised scorer adds up exactly what the naive loop does, to the bit, with missing
    /// real prices, NaN path points and repeated values.
    #[test]
    fn fast_scorer_matches_the_naive_loop(
        (mut rows, mut real) in paths_and_real(61),
        holes in prop::collection::vec(1usize..60, 0..8),
        path_nans in prop::collection::vec((0usize..12, 0usize..61), 0..4),
        dup in any::<bool>(),
    ) {
        for h in holes {
            real[h] = f64::NAN;
        }
        for (i, t) in path_nans {
            let i = i % rows.len();
            rows[i][t] = f64::NAN;
        }
        if dup && rows.len() > 1 {
            rows[1] = rows[0].clone();
        }
        let sims = PathSet::from_rows(&rows).unwrap();
        let fast = crps_for_miner(&sims, &real, 60, HIGH.scoring_intervals).unwrap().total;
        let slow = naive_crps(&rows, &real, 60, HIGH.scoring_intervals);
        prop_assert!(fast.to_bits() == slow.to_bits() || (fast.is_nan() && slow.is_nan()),
            "{fast} vs {slow}");
    }
}

/// Ensembles large enough for the bucket sort (≥ 256 paths), fat-tailed, with missing real prices
/// and NaN points: the scorer still adds up exactly what the naive loop does.
#[test]
fn large_ensembles_match_the_naive_loop() {
    let mut r = 2024u64;
    let mut uniform = move || {
        r ^= r << 13;
        r ^= r >> 7;
        r ^= r << 17;
        (r >> 11) as f64 / (1u64 << 53) as f64
    };
    for (n_paths, cfg, inc) in [(300, &HIGH, 60), (1000, &LOW, 300)] {
        let n = cfg.points();
        let mut walk = |tail: bool| {
            let mut p = vec![67_000.0f64];
            for _ in 1..n {
                let u = uniform() - 0.5;
                let step = if tail {
                    0.0005 * u / (0.501 - u.abs())
                } else {
                    0.004 * u
                };
                p.push(p.last().unwrap() * (1.0 + step));
            }
            p
        };
        let mut rows: Vec<Vec<f64>> = (0..n_paths).map(|i| walk(i % 3 == 0)).collect();
        rows[5][7] = f64::NAN;
        rows[6] = rows[4].clone();
        let mut real = walk(false);
        real[3] = f64::NAN;
        real[n / 2] = f64::NAN;
        let sims = PathSet::from_rows(&rows).unwrap();
        let fast = crps_for_miner(&sims, &real, inc, cfg.scoring_intervals)
            .unwrap()
            .total;
        let slow = naive_crps(&rows, &real, inc, cfg.scoring_intervals);
        assert_eq!(fast.to_bits(), slow.to_bits(), "{fast} vs {slow}");
    }
}
