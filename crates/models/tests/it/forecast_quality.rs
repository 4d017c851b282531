//! Forecast quality on the real data (`../shared/data`): a walk-forward sweep of baselines
//! against the reference GBM, as `synth-city sweep --folds 2 --max-prompts 25 --real-only`
//! measures it. Heavy (minutes), so ignored; run with
//! `FQ_ASSETS=BTC,ETH FQ_MODELS=bootstrap,ensemble_cal cargo nextest run -p models --run-ignored only forecast_quality`.

use models::data::DataPolicy;
use models::experiment::{prepare, run_on, ExperimentConfig, ModelChoice};
use models::spec::Timeframe;

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
#[ignore = "minutes of CPU on the real data; prints a table"]
fn forecast_quality_walk_forward() {
    let models = list("FQ_MODELS", "bootstrap,garch_t_flat");
    let prompts: usize = std::env::var("FQ_PROMPTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    // More folds reach further back (the equities' 1-minute truth is short at the end).
    let folds: usize = std::env::var("FQ_FOLDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for (tf, assets) in [
        (
            Timeframe::Low5m,
            list("FQ_ASSETS", "BTC,ETH,XAU,SOL,XRP,HYPE"),
        ),
        (
            Timeframe::High1m,
            list("FQ_ASSETS_HIGH", "BTC,ETH,XAU,SOL,HYPE"),
        ),
    ] {
        let mut tot = vec![(0.0, 0.0); models.len()];
        for a in &assets {
            let mut cfg = ExperimentConfig::new(a, tf, ModelChoice::Baseline("gbm".into()));
            cfg.folds = folds;
            cfg.eval.max_prompts = prompts;
            cfg.data = DataPolicy::RealOnly;
            let Ok(data) = prepare(&cfg) else { continue };
            for (i, m) in models.iter().enumerate() {
                cfg.model = ModelChoice::Baseline(m.clone());
                let t0 = std::time::Instant::now();
                match run_on(&cfg, &data, &mut |_, _| {}) {
                    Ok(r) => {
                        println!(
                            "{:?} {a:<6} {m:<16} ratio {:.4} ({} prompts, {:.1}s) {:?} base {:?}",
                            tf,
                            r.ratio,
                            r.n_prompts,
                            t0.elapsed().as_secs_f64(),
                            r.per_interval
                                .iter()
                                .map(|(k, v)| format!("{k}:{v:.0}"))
                                .collect::<Vec<_>>(),
                            r.baseline_per_interval
                                .iter()
                                .map(|(k, v)| format!("{k}:{v:.0}"))
                                .collect::<Vec<_>>(),
                        );
                        tot[i].0 += r.asset_weight * r.model_crps;
                        tot[i].1 += r.asset_weight * r.baseline_crps;
                    }
                    Err(e) => println!("{a} {m}: {e}"),
                }
            }
        }
        for (m, (x, b)) in models.iter().zip(&tot) {
            println!("{tf:?} weighted {m:<16} ratio {:.4}", x / b);
        }
    }
}
