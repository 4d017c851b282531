//! Flush-to-zero + denormals-are-zero (`models::fpenv`): training and sampling flush
//! denormals (so the setting cannot silently disappear), scoring does not need to, and the
//! forecasts of a model are the same bits either way.

use candle_core::{Device, Tensor};
use models::fpenv::{denormals_flushed, with_flushed_denormals, with_ieee_denormals, SUPPORTED};
use models::heads::Noise;
use models::neural::{batch, NeuralModel};
use models::spec::Timeframe;
use models::split::Span;
use models::train;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

use super::neural_support::{gbm_candles, tiny_spec};

/// A denormal f32 (the smallest normal is 1.18e-38).
const TINY: f32 = 1e-40;

/// GELU of a denormal through the fused elementwise pass and through the candle op.
fn gelu_of_tiny() -> (f32, f32) {
    let mut v = vec![TINY; 37];
    models::nn::gelu::gelu_in_place(&mut v);
    let t = Tensor::new(&[TINY; 37], &Device::Cpu).unwrap();
    let g = models::nn::gelu::gelu(&t)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    (v[36], g[36])
}

#[test]
fn a_denormal_input_to_a_fused_op_comes_back_flushed_while_training() {
    if !SUPPORTED {
        eprintln!("SKIP: this target has no flush-to-zero control");
        return;
    }
    // A fresh thread starts with IEEE denormals: GELU(x) ≈ x/2, a denormal.
    std::thread::spawn(|| {
        let (a, b) = gelu_of_tiny();
        assert!(a != 0.0 && b != 0.0, "IEEE: {a} {b}");
        let (a, b) = with_flushed_denormals(gelu_of_tiny);
        assert_eq!((a, b), (0.0, 0.0), "flushed");
        // The scope restores the thread's setting; every rayon worker keeps flushing.
        assert!(!denormals_flushed());
        assert!(rayon::broadcast(|_| denormals_flushed())
            .into_iter()
            .all(|f| f));
        let (a, _) = gelu_of_tiny();
        assert!(a != 0.0);
    })
    .join()
    .unwrap();
}

#[test]
fn training_runs_with_denormals_flushed() {
    std::thread::spawn(|| {
        let c = gbm_candles(600, 300, 0.002, 3);
        let mut model = NeuralModel::new(tiny_spec(Timeframe::Low5m, &["lstm"], "gbm")).unwrap();
        let s = models::features::Series::new(&c);
        let all = Span {
            from: i64::MIN / 4,
            to: i64::MAX / 4,
        };
        let w = train::windows_in_span(&model, &s, all);
        let mut seen = Vec::new();
        train::fit(&mut model, &w[..16], &w[16..24], &mut |_| {
            seen.push(denormals_flushed())
        })
        .unwrap();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|&f| f == SUPPORTED), "{seen:?}");
        assert!(!denormals_flushed(), "fit restores the caller's setting");
    })
    .join()
    .unwrap();
}

#[test]
fn forecasts_are_the_same_bits_with_and_without_flushing() {
    let c = gbm_candles(800, 300, 0.002, 5);
    for blocks in [&["lstm"][..], &["transformer", "gru"], &["mamba"]] {
        let model = NeuralModel::new(tiny_spec(Timeframe::Low5m, blocks, "mixture")).unwrap();
        let w = model.last_window(&c).unwrap();
        let fb = model.features();
        let b = batch(&[&w], fb.seq_len(), fb.n_features(), &Device::Cpu).unwrap();
        let run = || {
            let mut noise = Noise::new(11, &Device::Cpu);
            let inc = model
                .network()
                .sample_increments(&b.x, &b.scale, 200, &mut noise)
                .unwrap();
            inc.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        };
        let ieee = with_ieee_denormals(run);
        let flushed = with_flushed_denormals(run);
        let same = ieee
            .iter()
            .zip(&flushed)
            .all(|(a, b)| a.to_bits() == b.to_bits());
        assert!(same, "{blocks:?}: flushing changed the sampled increments");
    }
}

/// 1000 random-walk paths of 289 points around 60 000 and a realised path.
fn paths(seed: u64) -> (sn50::PathSet, Vec<f64>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut walk = |n: usize| {
        let mut p = 60_000.0f64;
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(&mut rng);
                p *= (0.002 * z).exp();
                p
            })
            .collect::<Vec<_>>()
    };
    let rows: Vec<Vec<f64>> = (0..1000).map(|_| walk(289)).collect();
    let real = walk(289);
    (sn50::PathSet::from_rows(&rows).unwrap(), real)
}

#[test]
fn scoring_is_bit_exact_under_flushing_but_the_reward_softmax_is_not() {
    if !SUPPORTED {
        eprintln!("SKIP: this target has no flush-to-zero control");
        return;
    }
    let cfg = &sn50::LOW;
    for seed in 0..3 {
        let (sims, real) = paths(seed);
        let score = || {
            sn50::crps_for_miner(&sims, &real, cfg.time_increment, cfg.scoring_intervals).unwrap()
        };
        let (a, b) = (with_ieee_denormals(score), with_flushed_denormals(score));
        assert_eq!(a.total.to_bits(), b.total.to_bits());
        for (x, y) in a.intervals.iter().zip(&b.intervals) {
            assert!(x
                .points
                .iter()
                .zip(&y.points)
                .all(|(p, q)| p.to_bits() == q.to_bits()));
        }
    }
    // exp(−720) is a denormal f64: the validators' softmax gives a weight > 0, a flushed
    // thread 0 — why answering and scoring threads keep IEEE denormals.
    let softmax = || sn50::compute_softmax(&[0.0, 7200.0], -0.1);
    let ieee = with_ieee_denormals(softmax);
    assert!(ieee[1] > 0.0 && ieee[1] < f64::MIN_POSITIVE);
    assert_eq!(with_flushed_denormals(softmax)[1], 0.0);
    let nested = with_flushed_denormals(|| with_ieee_denormals(softmax));
    assert_eq!(nested[1].to_bits(), ieee[1].to_bits());
}
