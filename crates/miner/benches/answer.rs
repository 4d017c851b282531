//! Latency of a full LOW answer (1,000 × 289): forecast, sn50 formatting, JSON body.

use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use miner::{parse_prompt, Answerer, ModelCache, NoChampions, NoHistory};

const LOW: &str = r#"{"simulation_input":{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":300,"time_length":86400,"num_simulations":1000}}"#;

fn bench(c: &mut Criterion) {
    let a = Answerer::new(
        ModelCache::new(Arc::new(NoChampions), Duration::from_secs(600)),
        Arc::new(NoHistory),
    );
    let p = parse_prompt(LOW.as_bytes()).unwrap();
    let mut seed = 0u64;
    let mut g = c.benchmark_group("answer");
    g.sample_size(20);
    g.bench_function("low_1000x289", |b| {
        b.iter(|| {
            seed += 1;
            a.answer(&p, 104_856.23, seed).unwrap().body.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
