//! Scripted-model benches: one 1000 × 289 LOW answer (5-minute steps over a day, 30 days of
//! 5-minute history) from each shipped example script, compile and run included, and the
//! `log_returns` form (every path's returns drawn in the script). Scripts run on the calling
//! thread only (one core). The target is under 1 s per answer; docs/scripts.md records it.

use criterion::{criterion_group, criterion_main, Criterion};
use market::SyntheticParams;
use models::script::ScriptModel;
use models::{ForecastRequest, Forecaster};

fn cpu() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

fn scripts(c: &mut Criterion) {
    eprintln!("script bench on {} (one thread)", cpu());
    let end = 1_764_547_200;
    let hist = SyntheticParams::for_asset("BTC")
        .generate(end - 300 * 8640, 300, 8640, 7)
        .expect("synthetic history");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/components");
    let mut cases: Vec<(String, String)> = Vec::new();
    for name in ["garch_t_har", "johnson_su_ewma"] {
        let src = std::fs::read_to_string(dir.join(format!("{name}.rhai"))).expect("example");
        cases.push((name.to_string(), src));
    }
    cases.push((
        "log_returns_t5".into(),
        "let s = std(returns); #{ log_returns: sample(student_t(5), n_paths * steps) * s }".into(),
    ));
    let mut g = c.benchmark_group("script_answer_1000x289");
    g.sample_size(10);
    for (name, src) in cases {
        g.bench_function(&name, |b| {
            let mut seed = 0;
            b.iter(|| {
                // A fresh model each time: compiling is part of the cost.
                let m = ScriptModel::new(name.clone(), src.clone());
                seed += 1;
                let req = ForecastRequest {
                    asset: "BTC",
                    history: &hist,
                    start_price: *hist.close.last().unwrap(),
                    start_time: end,
                    time_increment: 300,
                    time_length: 86_400,
                    num_simulations: 1000,
                    seed,
                    context: Default::default(),
                };
                m.forecast(&req).expect("forecast")
            })
        });
    }
    g.finish();
}

criterion_group!(benches, scripts);
criterion_main!(benches);
