//! The fuzz targets of `fuzz/` (cargo-fuzz on nightly) run here on stable: every file of
//! `fuzz/corpus/<target>/`, then proptest inputs made from those seeds (byte edits, numbers
//! swapped for extremes) and raw bytes. `FUZZ_CASES` (default 1000 per target) bounds the run;
//! README "Fuzzing" records a longer one.

#[path = "../../../../fuzz/src/lib.rs"]
mod targets;

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    assert!(!seeds.is_empty(), "no corpus for {target}");
    seeds
}

const EXTREMES: [&str; 14] = [
    "0",
    "-1",
    "1",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "-9223372036854775808",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e-400",
    "1e400",
    "0.5",
    "null",
];

/// Replaces the `k`-th run of digits in `seed` with `with`.
fn swap_number(seed: &[u8], k: usize, with: &str) -> Vec<u8> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < seed.len() {
        if seed[i].is_ascii_digit() {
            let s = i;
            while i < seed.len() && (seed[i].is_ascii_digit() || seed[i] == b'.') {
                i += 1;
            }
            runs.push((s, i));
        } else {
            i += 1;
        }
    }
    if runs.is_empty() {
        return seed.to_vec();
    }
    let (s, e) = runs[k % runs.len()];
    [&seed[..s], with.as_bytes(), &seed[e..]].concat()
}

/// An input from the seeds: numbers swapped for extremes, then a few byte edits; or raw bytes.
fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edited = (
        prop::sample::select(seeds),
        prop::collection::vec((any::<usize>(), prop::sample::select(&EXTREMES[..])), 0..4),
        prop::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 0..6),
    )
        .prop_map(|(seed, swaps, edits)| {
            let mut b = seed;
            for (k, with) in swaps {
                b = swap_number(&b, k, with);
            }
            for (at, byte, op) in edits {
                let at = if b.is_empty() { 0 } else { at % b.len() };
                match op {
                    0 if !b.is_empty() => b[at] = byte,
                    1 => b.insert(at, byte),
                    _ if !b.is_empty() => {
                        b.remove(at);
                    }
                    _ => b.push(byte),
                }
            }
            b
        });
    prop_oneof![
        4 => edited,
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ]
}

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

fn run(target: &str, f: fn(&[u8])) {
    let seeds = corpus(target);
    for s in &seeds {
        f(s);
    }
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&inputs(seeds), |data| {
            f(&data);
            Ok(())
        })
        .unwrap();
}

#[test]
fn fuzz_targets_miner_request() {
    run("miner_request", targets::miner_request);
}

#[test]
fn fuzz_targets_sn50_response() {
    run("sn50_response", targets::sn50_response);
}

#[test]
fn fuzz_targets_bridge_spec() {
    run("bridge_spec", targets::bridge_spec);
}
