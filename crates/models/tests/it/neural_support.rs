//! Helpers of the neural tests: synthetic GBM candles and tiny specs.

use market::{Candles, Provenance};
use models::spec::{ModelSpec, Timeframe};
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};

/// `n` contiguous GBM candles (close only matters) with per-step log vol `sigma`.
pub fn gbm_candles(n: usize, resolution: u32, sigma: f64, seed: u64) -> Candles {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut c = Candles::empty("BTC", resolution, Provenance::Synthetic);
    let mut p = 50_000.0f64;
    let t0 = 1_700_000_000 - 1_700_000_000 % 86_400;
    for i in 0..n {
        let z: f64 = StandardNormal.sample(&mut rng);
        let prev = p;
        p *= (sigma * z - 0.5 * sigma * sigma).exp();
        c.ts.push(t0 + i as i64 * resolution as i64);
        c.open.push(prev);
        c.high.push(prev.max(p));
        c.low.push(prev.min(p));
        c.close.push(p);
    }
    c
}

/// A tiny spec: d_model 8, seq_len 16, short features, few paths.
pub fn tiny_spec(tf: Timeframe, blocks: &[&str], head: &str) -> ModelSpec {
    let mut s = ModelSpec::new(tf, blocks, head);
    s.d_model = 8;
    s.seq_len = 16;
    s.features = vec![
        "log_return".into(),
        "abs_return".into(),
        "rv_8".into(),
        "time_of_day".into(),
    ];
    s.training.n_paths = 16;
    s.training.batch_size = 8;
    s.training.epochs = 2;
    s.training.seed = 7;
    s
}
