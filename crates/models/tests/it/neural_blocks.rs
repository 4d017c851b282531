//! Mechanism checks of the paper blocks (TFT, Informer, Autoformer, FEDformer, TimesNet,
//! Crossformer) beyond the registry-wide shape/gradient conformance: decompositions add back,
//! the matrix DFT is the DFT, lag correlation is the definition, TFT is causal, and non-default
//! settings (distilling, padding, other mode choices) keep the shape and train every parameter.

use candle_core::{Device, Tensor};
use models::blocks::{self, autoformer, decomp, fedformer, BuildCtx};
use models::heads::Noise;
use models::nn::ParamStore;
use models::registry;
use serde_json::json;

fn close(a: &[f32], b: &[f32], tol: f32) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * (1.0 + y.abs()), "[{i}] {x} vs {y}");
    }
}

/// Builds `name` with `params` at (d, t), checks the shape and that every parameter gets a
/// gradient.
fn shape_and_grads(name: &str, params: serde_json::Value, d: usize, t: usize) {
    let dev = Device::Cpu;
    let info = registry::block(name).unwrap();
    let p = info.resolve(&params, "params").unwrap();
    let ctx = BuildCtx {
        d_model: d,
        seq_len: t,
    };
    (blocks::entry(name).unwrap().check)(&p, ctx).unwrap();
    let store = ParamStore::new(3, dev.clone());
    let b = blocks::build(name, &p, ctx, store.vb()).unwrap();
    let x = Noise::new(1, &dev).normal(&[2, t, d]).unwrap();
    let y = b.forward(&x).unwrap();
    assert_eq!(y.dims(), &[2, t, d], "{name} {params}");
    let w = Noise::new(2, &dev).normal(&[2, t, d]).unwrap();
    let grads = (y * w).unwrap().sum_all().unwrap().backward().unwrap();
    for (pname, v) in store.named_vars() {
        let g = grads
            .get(&v)
            .unwrap_or_else(|| panic!("{name} {params}: no gradient for {pname}"));
        let n: f32 = g.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
        assert!(
            n.is_finite() && n > 0.0,
            "{name} {params}: zero gradient for {pname}"
        );
    }
}

#[test]
fn paper_blocks_keep_shape_and_train_in_non_default_settings() {
    // Odd / non-multiple lengths exercise padding (Crossformer segments, TimesNet folding,
    // Informer distilling of odd lengths).
    shape_and_grads("informer", json!({"distil": true, "num_layers": 3}), 8, 15);
    shape_and_grads("informer", json!({"factor": 1, "n_heads": 2}), 8, 20);
    shape_and_grads("autoformer", json!({"factor": 3, "kernel_size": 5}), 8, 19);
    shape_and_grads(
        "fedformer",
        json!({"mode_select": "low", "modes": 3}),
        8,
        21,
    );
    shape_and_grads(
        "timesnet",
        json!({"top_k": 3, "num_kernels": 3, "d_ff": 4}),
        8,
        21,
    );
    shape_and_grads("crossformer", json!({"seg_len": 5, "num_layers": 2}), 8, 17);
    shape_and_grads("tft", json!({"lstm_layers": 2, "n_heads": 2}), 8, 12);
}

#[test]
fn series_decomposition_adds_back_and_keeps_a_linear_trend() {
    let dev = Device::Cpu;
    let x = Noise::new(5, &dev).normal(&[2, 30, 3]).unwrap();
    let (s, t) = decomp::series_decomp(&x, 7).unwrap();
    let sum = (s + t)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    close(
        &sum,
        &x.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        1e-5,
    );
    // A centred moving average reproduces a ramp away from the (replicate-padded) ends.
    let ramp: Vec<f32> = (0..30).map(|i| 0.5 * i as f32 - 3.0).collect();
    let r = Tensor::from_vec(ramp.clone(), (1, 30, 1), &dev).unwrap();
    let (_, trend) = decomp::series_decomp(&r, 7).unwrap();
    let trend = trend.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    close(&trend[3..27], &ramp[3..27], 1e-4);
}

#[test]
fn matrix_dft_matches_the_naive_dft_and_inverts() {
    let dev = Device::Cpu;
    for t in [12usize, 13] {
        let x: Vec<f32> = (0..t).map(|i| ((i * 7 % 5) as f32 - 2.0) * 0.3).collect();
        let modes: Vec<usize> = (0..=t / 2).collect();
        let (c, s, ic, is) = fedformer::rdft_matrices(t, &modes, &dev).unwrap();
        let xt = Tensor::from_vec(x.clone(), (1, t), &dev).unwrap();
        let re = xt.matmul(&c).unwrap();
        let im = xt.matmul(&s).unwrap();
        // Naive X_k = Σ_n x_n e^{−2πikn/T}.
        let (mut nre, mut nim) = (vec![], vec![]);
        for &k in &modes {
            let (mut a, mut b) = (0f64, 0f64);
            for (n, &v) in x.iter().enumerate() {
                let ang = 2.0 * std::f64::consts::PI * (k * n) as f64 / t as f64;
                a += v as f64 * ang.cos();
                b -= v as f64 * ang.sin();
            }
            nre.push(a as f32);
            nim.push(b as f32);
        }
        close(
            &re.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            &nre,
            1e-4,
        );
        close(
            &im.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            &nim,
            1e-4,
        );
        let back = (re.matmul(&ic).unwrap() + im.matmul(&is).unwrap()).unwrap();
        close(
            &back.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            &x,
            1e-4,
        );
    }
    // Mode selection: the lowest M, or a fixed random subset of 0..T/2, sorted and distinct.
    assert_eq!(fedformer::select_modes(64, 4, false), vec![0, 1, 2, 3]);
    let r = fedformer::select_modes(64, 8, true);
    assert_eq!(r, fedformer::select_modes(64, 8, true));
    assert_eq!(r.len(), 8);
    assert!(r.windows(2).all(|w| w[0] < w[1]) && r[7] < 32);
    assert_eq!(fedformer::select_modes(16, 100, true).len(), 8);
}

#[test]
fn lag_correlation_is_the_circular_definition() {
    let dev = Device::Cpu;
    let (b, t, d) = (2, 9, 3);
    let q = Noise::new(7, &dev).normal(&[b, t, d]).unwrap();
    let k = Noise::new(8, &dev).normal(&[b, t, d]).unwrap();
    let r = autoformer::lag_correlation(&q, &k).unwrap();
    assert_eq!(r.dims(), &[b, t]);
    let qv = q.to_vec3::<f32>().unwrap();
    let kv = k.to_vec3::<f32>().unwrap();
    let mut want = vec![];
    for bi in 0..b {
        for tau in 0..t {
            let mut acc = 0f32;
            for i in 0..t {
                for c in 0..d {
                    acc += qv[bi][i][c] * kv[bi][(i + t - tau) % t][c];
                }
            }
            want.push(acc / d as f32);
        }
    }
    close(
        &r.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
        &want,
        1e-4,
    );
    assert_eq!(autoformer::n_lags(1, 16), 2);
    assert_eq!(autoformer::n_lags(1, 256), 5);
}

#[test]
fn tft_outputs_do_not_depend_on_later_steps() {
    let dev = Device::Cpu;
    let info = registry::block("tft").unwrap();
    let store = ParamStore::new(4, dev.clone());
    let ctx = BuildCtx {
        d_model: 8,
        seq_len: 12,
    };
    let b = blocks::build("tft", &info.defaults(), ctx, store.vb()).unwrap();
    let x = Noise::new(1, &dev).normal(&[1, 12, 8]).unwrap();
    let late = Noise::new(2, &dev).normal(&[1, 4, 8]).unwrap();
    let x2 = Tensor::cat(&[&x.narrow(1, 0, 8).unwrap(), &late], 1).unwrap();
    let y1 = b.forward(&x).unwrap();
    let y2 = b.forward(&x2).unwrap();
    let head = |y: &Tensor| y.narrow(1, 0, 8).unwrap().flatten_all().unwrap();
    close(
        &head(&y1).to_vec1::<f32>().unwrap(),
        &head(&y2).to_vec1::<f32>().unwrap(),
        1e-5,
    );
    let tail = |y: &Tensor| y.narrow(1, 8, 4).unwrap().flatten_all().unwrap();
    let diff: f32 = (tail(&y1) - tail(&y2))
        .unwrap()
        .abs()
        .unwrap()
        .sum_all()
        .unwrap()
        .to_scalar()
        .unwrap();
    assert!(diff > 1e-3, "later outputs must see the changed steps");
}

/// Cost of one forward + backward at batch 32, seq 256, d_model 64 for every block with its
/// default settings (printed, not asserted): `cargo nextest run -p models --cargo-profile ci
/// --profile ci --run-ignored only -E 'test(block_step_cost)' --no-capture`.
#[test]
#[ignore]
fn block_step_cost() {
    models::alloc::keep_freed_memory();
    let dev = Device::Cpu;
    let ctx = BuildCtx {
        d_model: 64,
        seq_len: 256,
    };
    for info in registry::blocks() {
        let name = info.name;
        let store = ParamStore::new(1, dev.clone());
        let b = blocks::build(name, &info.defaults(), ctx, store.vb()).unwrap();
        let x = Noise::new(1, &dev).normal(&[32, 256, 64]).unwrap();
        let start = std::time::Instant::now();
        let y = b.forward(&x).unwrap();
        let fwd = start.elapsed();
        let _ = y.sqr().unwrap().mean_all().unwrap().backward().unwrap();
        println!(
            "{name:12} params {:8}  forward {:6.3}s  forward+backward {:6.3}s",
            store.n_params(),
            fwd.as_secs_f64(),
            start.elapsed().as_secs_f64()
        );
    }
}
