//! Neural benches: sampling 1000 × 289 paths for one asset, and training steps of a 2-layer
//! LSTM, a 2-layer Transformer encoder and the GRU, TCN, Mamba and TimesNet blocks with their
//! default settings at batch 32, seq 256, d_model 64 (compare with
//! `benches/models/torch_train_bench.py`, which builds the same shapes). Run with `RAYON_NUM_THREADS=1` for one core.
//! Every figure is preceded by the CPU model, its SIMD flags and the denormal mode. Training
//! runs with flush-to-zero + denormals-are-zero (`models::fpenv`, as `train::fit` does) unless
//! `BENCH_DENORMALS=ieee`; sampling always flushes (as every forecast does).

use candle_core::Device;
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use criterion::{criterion_group, criterion_main, Criterion};
use market::{Candles, Provenance};
use models::features::Window;
use models::heads::Noise;
use models::neural::NeuralModel;
use models::spec::{ComponentSpec, LossKind, ModelSpec, Timeframe};
use models::train::{batch_loss, clip::clip_grad_norm};
use models::{ForecastRequest, Forecaster};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

fn history(n: usize) -> Candles {
    let mut rng = StdRng::seed_from_u64(1);
    let mut c = Candles::empty("BTC", 300, Provenance::Synthetic);
    let mut p = 60_000.0f64;
    for i in 0..n {
        let z: f64 = StandardNormal.sample(&mut rng);
        p *= (0.002 * z).exp();
        c.ts.push(1_700_000_000 + 300 * i as i64);
        c.open.push(p);
        c.high.push(p);
        c.low.push(p);
        c.close.push(p);
    }
    c
}

/// The CPU model (Linux `/proc/cpuinfo`) and the SIMD extensions the kernels can use.
fn cpu() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    #[allow(unused_mut)]
    let mut flags: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        macro_rules! have {
            ($($f:tt),*) => {
                $(if std::is_x86_feature_detected!($f) { flags.push($f); })*
            };
        }
        have!(
            "avx2",
            "fma",
            "avx512f",
            "avx512bw",
            "avx512dq",
            "avx512vl",
            "avx512bf16",
            "avx512vnni"
        );
    }
    format!("{model} [{}]", flags.join(" "))
}

/// The CPU and the calling thread's denormal mode, printed before each figure.
fn describe(name: &str) {
    let mode = if models::fpenv::denormals_flushed() {
        "FTZ+DAZ"
    } else {
        "IEEE denormals"
    };
    let threads = std::env::var("RAYON_NUM_THREADS").unwrap_or_else(|_| "all".into());
    eprintln!(
        "{name}: cpu {}; elementwise loops {:?} ({} caps them); {mode} in training; rayon threads {threads}",
        cpu(),
        models::nn::simd::level(),
        models::nn::simd::CAP_VAR
    );
}

fn sampling(c: &mut Criterion) {
    models::alloc::keep_freed_memory();
    let hist = history(400);
    for head in ["gbm", "sde", "mixture"] {
        let model = NeuralModel::new(ModelSpec::new(Timeframe::Low5m, &["mlp"], head)).unwrap();
        let req = ForecastRequest {
            asset: "BTC",
            history: &hist,
            start_price: 60_000.0,
            start_time: hist.ts[hist.len() - 1] + 300,
            time_increment: 300,
            time_length: 86_400,
            num_simulations: 1000,
            seed: 3,
            context: Default::default(),
        };
        let name = format!("forecast_1000x289_mlp_{head}");
        describe(&name);
        c.bench_function(&name, |b| b.iter(|| model.forecast(&req).unwrap()));
    }
}

/// The PyTorch comparison's setup: Linear(1 → 64), backbone, LN + Linear(64 → 2) head,
/// closed-form Gaussian CRPS over H = 60 targets, AdamW (lr 1e-3) and clipping at 1.0.
fn train_spec(blocks: Vec<ComponentSpec>) -> ModelSpec {
    let mut s = ModelSpec::new(Timeframe::High1m, &[], "gbm");
    s.blocks = blocks;
    s.d_model = 64;
    s.seq_len = 256;
    s.features = vec!["log_return".into()];
    s.training.loss = LossKind::GaussianCrps;
    s.training.batch_size = 32;
    s
}

fn windows(n: usize) -> Vec<Window> {
    let mut rng = StdRng::seed_from_u64(2);
    (0..n)
        .map(|_| Window {
            x: (0..256).map(|_| StandardNormal.sample(&mut rng)).collect(),
            scale: 0.001,
            target: (0..60)
                .map(|_| {
                    let z: f32 = StandardNormal.sample(&mut rng);
                    0.001 * z
                })
                .collect(),
            decision_ts: 0,
            last_close: 1.0,
        })
        .collect()
}

fn training(c: &mut Criterion) {
    models::alloc::keep_freed_memory();
    if std::env::var("BENCH_DENORMALS").as_deref() != Ok("ieee") {
        // As `train::fit`: this thread and every rayon worker flush denormals.
        models::fpenv::install();
        models::fpenv::flush_denormals();
    }
    let mut g = c.benchmark_group("train_step_b32_t256_d64");
    g.sample_size(10);
    let lstm = ComponentSpec::with_params(
        "lstm",
        serde_json::json!({"num_layers": 2, "residual": false}),
    );
    let tr = ComponentSpec::with_params(
        "transformer",
        serde_json::json!({"num_layers": 2, "n_heads": 4, "d_ff": 256}),
    );
    let data = windows(32);
    let refs: Vec<&Window> = data.iter().collect();
    let mut models = vec![("lstm2", vec![lstm]), ("transformer2", vec![tr])];
    for family in ["gru", "tcn", "mamba", "timesnet"] {
        models.push((family, vec![ComponentSpec::named(family)]));
    }
    for (name, blocks) in models {
        let model = NeuralModel::new(train_spec(blocks)).unwrap();
        let vars: Vec<_> = model
            .store()
            .named_vars()
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let mut opt = AdamW::new(
            vars.clone(),
            ParamsAdamW {
                lr: 1e-3,
                ..Default::default()
            },
        )
        .unwrap();
        describe(&format!("train_step_b32_t256_d64/{name}"));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut noise = Noise::new(0, &Device::Cpu);
                let l = batch_loss(&model, &refs, 2, &mut noise).unwrap();
                let mut grads = l.backward().unwrap();
                clip_grad_norm(&vars, &mut grads, 1.0).unwrap();
                opt.step(&grads).unwrap();
            })
        });
    }
    g.finish();
}

/// Sustained f32 GFLOP/s of `nn::gemm` (the `gemm` crate candle uses) on one large square
/// product and on the shapes of the training steps (criterion's "elem/s" are FLOP/s: 2·m·k·n
/// per product). `x·Wᵀ` shapes read the weight transposed, as `nn::linear_op` does.
fn products(c: &mut Criterion) {
    use models::nn::gemm::{gemm, Mat};
    describe("gemm_f32");
    let mut g = c.benchmark_group("gemm_f32");
    g.sample_size(20);
    // (name, m, k, n, a transposed, b transposed); the `conv_` shapes are TimesNet's 3 × 3
    // tap convolution (`nn::conv_taps`) at 8192 rows: forward, weight and input gradients.
    let shapes = [
        ("square_1024", 1024, 1024, 1024, false, false),
        ("lstm_step_32x64x256", 32, 64, 256, false, true),
        ("lstm_input_8192x64x256", 8192, 64, 256, false, true),
        ("qkv_8192x64x192", 8192, 64, 192, false, true),
        ("ffn_in_8192x64x256", 8192, 64, 256, false, true),
        ("ffn_out_8192x256x64", 8192, 256, 64, false, true),
        ("head_scores_256x16x256", 256, 16, 256, false, true),
        ("head_pv_256x256x16", 256, 256, 16, false, false),
        ("conv_fwd_8192x576x64", 8192, 576, 64, false, true),
        ("conv_dw_64x8192x576", 64, 8192, 576, true, false),
        ("conv_dcols_8192x64x576", 8192, 64, 576, false, false),
    ];
    for (name, m, k, n, at, bt) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let am = if at {
            Mat::rows(&a, k, m).t()
        } else {
            Mat::rows(&a, m, k)
        };
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.91).cos()).collect();
        let bm = if bt {
            Mat::rows(&b, n, k).t()
        } else {
            Mat::rows(&b, k, n)
        };
        let mut out = vec![0f32; m * n];
        g.throughput(criterion::Throughput::Elements(2 * (m * k * n) as u64));
        g.bench_function(name, |it| {
            it.iter(|| gemm(&mut out, n, am, bm, false).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, sampling, training, products);
criterion_main!(benches);
