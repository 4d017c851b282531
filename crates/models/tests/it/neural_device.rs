//! Every block and head family trains a step and samples on a CUDA GPU (where the fused CPU
//! ops give way to their candle graph twins). Each test runs when this build has the `cuda`
//! feature and a GPU answers; elsewhere it prints `SKIP:` and returns.

use candle_core::Device;
use models::device::{cuda_available, DeviceChoice};
use models::features::Series;
use models::neural::NeuralModel;
use models::spec::Timeframe;
use models::split::Span;
use models::train;

use super::neural_support::{gbm_candles, tiny_spec};

/// The GPU, or `None` after printing why the test is skipped.
fn gpu(test: &str) -> Option<Device> {
    if !cuda_available() {
        println!(
            "SKIP: {test}: no CUDA GPU in this build/machine (build with --features cuda on a GPU host)"
        );
        return None;
    }
    DeviceChoice::Cuda(0).resolve().ok()
}

/// One training epoch of `blocks` + `head` on the GPU: finite losses, the weights moved, and
/// the trained model samples finite, positive paths there.
fn trains_on_gpu(test: &str, blocks: &[&str], head: &str) {
    let Some(dev) = gpu(test) else { return };
    let mut spec = tiny_spec(Timeframe::High1m, blocks, head);
    spec.training.epochs = 1;
    spec.training.max_windows = 32;
    spec.training.patience = 0;
    let mut model = NeuralModel::with_device(spec, dev.clone()).unwrap();
    assert!(model.store().device().same_device(&dev));
    let before = model.store().snapshot().unwrap();
    let c = gbm_candles(3_000, 60, 0.002, 5);
    let s = Series::new(&c);
    let all = Span {
        from: i64::MIN / 4,
        to: i64::MAX / 4,
    };
    let w = train::windows_in_span(&model, &s, all);
    let (tr, va) = w.split_at(w.len() * 4 / 5);
    let rep = train::fit(&mut model, tr, va, &mut |_| {}).unwrap();
    assert!(
        rep.epochs.iter().all(|e| e.train_loss.is_finite()) && rep.steps > 0,
        "{test}: {rep:?}"
    );
    let after = model.store().snapshot().unwrap();
    let moved = before.iter().zip(&after).any(|((_, a), (_, b))| {
        let d: f32 = (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar()
            .unwrap();
        d > 0.0
    });
    assert!(moved, "{test}: no weight changed");
    let paths = model.sample_window(&va[0], 100.0, 32, 9).unwrap();
    assert!(paths.as_flat().iter().all(|p| p.is_finite() && *p > 0.0));
}

macro_rules! block_on_gpu {
    ($($test:ident => $block:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            trains_on_gpu(stringify!($test), &[$block], "gbm");
        }
    )*};
}

macro_rules! head_on_gpu {
    ($($test:ident => $head:literal),* $(,)?) => {$(
        #[test]
        fn $test() {
            trains_on_gpu(stringify!($test), &["mlp"], $head);
        }
    )*};
}

block_on_gpu! {
    gpu_block_mlp => "mlp",
    gpu_block_lstm => "lstm",
    gpu_block_gru => "gru",
    gpu_block_transformer => "transformer",
    gpu_block_tcn => "tcn",
    gpu_block_nbeats => "nbeats",
    gpu_block_dlinear => "dlinear",
    gpu_block_patchtst => "patchtst",
    gpu_block_revin => "revin",
    gpu_block_mamba => "mamba",
    gpu_block_itransformer => "itransformer",
    gpu_block_frets => "frets",
    gpu_block_tft => "tft",
    gpu_block_informer => "informer",
    gpu_block_autoformer => "autoformer",
    gpu_block_fedformer => "fedformer",
    gpu_block_timesnet => "timesnet",
    gpu_block_crossformer => "crossformer",
    gpu_block_wavenet => "wavenet",
}

head_on_gpu! {
    gpu_head_gbm => "gbm",
    gpu_head_sde => "sde",
    gpu_head_mixture => "mixture",
    gpu_head_quantile => "quantile",
    gpu_head_copula => "copula",
    gpu_head_flow => "flow",
    gpu_head_student_t => "student_t",
    gpu_head_jump => "jump",
}

/// Every registered block and head has a test above (a new family must add one).
#[test]
fn every_family_has_a_gpu_test() {
    let src = include_str!("neural_device.rs");
    for b in models::registry::blocks() {
        assert!(
            src.contains(&format!("=> \"{}\"", b.name)),
            "block {} has no GPU test",
            b.name
        );
    }
    for h in models::registry::heads() {
        assert!(
            src.contains(&format!("=> \"{}\"", h.name)),
            "head {} has no GPU test",
            h.name
        );
    }
}
