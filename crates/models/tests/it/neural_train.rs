//! Training: volatility recovery on synthetic GBM, the loss falls on real data, runs are
//! reproducible, checkpoints round-trip exactly.

use candle_core::Device;
use models::features::{Series, Window};
use models::neural::{batch, NeuralModel};
use models::spec::{LossKind, Timeframe};
use models::split::{chronological, Span};
use models::{checkpoint, train};

use super::neural_support::{gbm_candles, tiny_spec};

fn all_span() -> Span {
    Span {
        from: i64::MIN / 4,
        to: i64::MAX / 4,
    }
}

/// Mean σ the model predicts per step over `windows` (Gaussian heads).
fn mean_sigma(model: &NeuralModel, windows: &[Window]) -> f64 {
    let refs: Vec<&Window> = windows.iter().collect();
    let fb = model.features();
    let b = batch(&refs, fb.seq_len(), fb.n_features(), &Device::Cpu).unwrap();
    let net = model.network();
    let h = net.state(&b.x).unwrap();
    let (_, sigma) = net
        .head()
        .gaussian(&h, &b.scale, net.horizon())
        .unwrap()
        .unwrap();
    sigma.mean_all().unwrap().to_scalar::<f32>().unwrap() as f64
}

#[test]
fn gbm_head_recovers_the_true_volatility_within_5_percent() {
    let sigma = 0.002;
    let c = gbm_candles(12_000, 60, sigma, 21);
    let mut spec = tiny_spec(Timeframe::High1m, &["mlp"], "gbm");
    spec.training.loss = LossKind::GaussianCrps;
    spec.training.epochs = 4;
    spec.training.batch_size = 32;
    spec.training.lr = 3e-3;
    spec.training.stride = 5;
    spec.training.patience = 0;
    let mut model = NeuralModel::new(spec).unwrap();
    let s = Series::new(&c);
    let windows = train::windows_in_span(&model, &s, all_span());
    let (tr, va) = windows.split_at(windows.len() * 4 / 5);
    let rep = train::fit(&mut model, tr, va, &mut |_| {}).unwrap();
    let got = mean_sigma(&model, va);
    let rel = (got / sigma - 1.0).abs();
    assert!(
        rel < 0.05,
        "σ = {got}, true {sigma} ({:.1} % off); {rep:?}",
        rel * 100.0
    );
}

#[test]
fn path_crps_falls_on_real_btc_data() {
    // Real BTC 1 m is always there: the shared folder, else the set embedded in `market`.
    let full = market::load_shared("BTC", 60).expect("real BTC 1 m (shared or embedded)");
    let n = full.len();
    let c = full.slice_time(full.ts[n - 40_000], full.ts[n - 1] + 60);
    let mut spec = tiny_spec(Timeframe::High1m, &["lstm"], "sde");
    spec.seq_len = 32;
    spec.training.epochs = 3;
    spec.training.stride = 15;
    spec.training.n_paths = 32;
    spec.training.batch_size = 16;
    spec.training.lr = 3e-3;
    spec.training.max_windows = 600;
    let mut model = NeuralModel::new(spec).unwrap();
    let fold = chronological(c.ts[0], c.ts[c.len() - 1] + 60, 0.2, 0.2, 3600).unwrap();
    let s = Series::new(&c);
    let tr = train::windows_in_span(&model, &s, fold.train);
    let va = train::windows_in_span(&model, &s, fold.val);
    let te = train::windows_in_span(&model, &s, fold.test);
    assert!(tr.len() >= 300 && !va.is_empty() && !te.is_empty());
    let before_val = train::evaluate(&model, &va, 99).unwrap();
    let before_test = train::evaluate(&model, &te, 99).unwrap();
    let rep = train::fit(&mut model, &tr, &va, &mut |_| {}).unwrap();
    let after_val = train::evaluate(&model, &va, 99).unwrap();
    let after_test = train::evaluate(&model, &te, 99).unwrap();
    assert!(
        after_val < before_val,
        "val {before_val} → {after_val}; {rep:?}"
    );
    assert!(
        after_test < before_test,
        "test {before_test} → {after_test}"
    );
    assert!(rep.epochs[rep.epochs.len() - 1].train_loss < rep.epochs[0].train_loss * 1.05);
}

fn trained(seed: u64) -> (NeuralModel, Vec<Window>) {
    let c = gbm_candles(3_000, 60, 0.001, 5);
    let mut spec = tiny_spec(Timeframe::High1m, &["gru", "transformer"], "mixture");
    spec.training.seed = seed;
    spec.training.stride = 20;
    let mut model = NeuralModel::new(spec).unwrap();
    let s = Series::new(&c);
    let w = train::windows_in_span(&model, &s, all_span());
    let (tr, va) = w.split_at(w.len() - 20);
    train::fit(&mut model, tr, va, &mut |_| {}).unwrap();
    (model, va.to_vec())
}

fn weights(m: &NeuralModel) -> Vec<(String, Vec<f32>)> {
    m.store()
        .named_vars()
        .into_iter()
        .map(|(k, v)| (k, v.as_tensor().flatten_all().unwrap().to_vec1().unwrap()))
        .collect()
}

#[test]
fn same_seed_and_data_give_the_same_weights_and_paths() {
    let (a, va) = trained(42);
    let (b, _) = trained(42);
    let (c, _) = trained(43);
    assert_eq!(weights(&a), weights(&b));
    assert_ne!(weights(&a), weights(&c));
    let pa = a.sample_window(&va[0], 100.0, 1000, 5).unwrap();
    let pb = b.sample_window(&va[0], 100.0, 1000, 5).unwrap();
    assert_eq!(pa, pb);
    assert_ne!(pa, a.sample_window(&va[0], 100.0, 1000, 6).unwrap());
}

#[test]
fn checkpoint_round_trip_is_exact() {
    let (m, va) = trained(1);
    let dir = tempfile::tempdir().unwrap();
    checkpoint::save(&m, dir.path()).unwrap();
    let back = checkpoint::load(dir.path()).unwrap();
    assert_eq!(back.spec(), m.spec());
    assert_eq!(weights(&back), weights(&m));
    assert_eq!(
        back.sample_window(&va[1], 2_500.0, 1000, 9).unwrap(),
        m.sample_window(&va[1], 2_500.0, 1000, 9).unwrap()
    );
    // a checkpoint whose spec does not match its weights is refused
    let mut other = m.spec().clone();
    other.d_model = 16;
    std::fs::write(dir.path().join(checkpoint::SPEC), other.to_json()).unwrap();
    let err = checkpoint::load(dir.path()).err().unwrap().to_string();
    assert!(err.contains("shape"), "{err}");
}
