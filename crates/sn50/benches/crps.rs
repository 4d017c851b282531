//! One miner's CRPS over a full prompt: 1000 × 289 (LOW) and 1000 × 61 (HIGH).

use criterion::{criterion_group, criterion_main, Criterion};
use sn50::{crps_for_miner, PathSet, HIGH, LOW};

/// Deterministic pseudo-random walks (xorshift), so the bench needs no RNG crate.
fn walks(n_paths: usize, n_points: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut s = seed;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    (0..n_paths)
        .map(|_| {
            let mut p = vec![67_000.0f64];
            for _ in 1..n_points {
                let last = *p.last().unwrap();
                p.push(last * (1.0 + 0.004 * uniform()));
            }
            p
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    for (name, cfg) in [("low_1000x289", &LOW), ("high_1000x61", &HIGH)] {
        let n = cfg.points();
        let sims = PathSet::from_rows(&walks(1000, n, 7)).unwrap();
        let real = walks(1, n, 11).remove(0);
        c.bench_function(name, |b| {
            b.iter(|| {
                crps_for_miner(&sims, &real, cfg.time_increment, cfg.scoring_intervals)
                    .unwrap()
                    .total
            })
        });
    }
}

/// Parsing a LOW response file (`simulation_output`, 1000 × 289 prices, ~3 MB).
fn parse(c: &mut Criterion) {
    let sims = PathSet::from_rows(&walks(1000, 289, 7)).unwrap();
    let out = sn50::format_paths(&sims, 1_778_767_560, 300).unwrap();
    let json = serde_json::to_vec(&out).unwrap();
    c.bench_function("parse_low_response", |b| {
        b.iter(|| sn50::io::parse_prediction(&json).unwrap().n_paths())
    });
}

criterion_group!(benches, bench, parse);
criterion_main!(benches);
