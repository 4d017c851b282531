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

/// Per-step standard deviations of a Gaussian "oracle" that knows the realised volatility of
/// the prompt it answers: the RMS of the realised one-step log changes over blocks of
/// `block` steps (all steps when `block` covers the horizon). A run of missing prices (a
/// closed market) gets the variance of the realised move across it, spread evenly; blocks
/// without a realised change fall back to the whole prompt's RMS.
fn oracle_sd(real: &[f64], block: usize) -> Vec<f64> {
    let steps = real.len() - 1;
    let lr = |a: usize, b: usize| (real[b] / real[a]).ln();
    let mut sd = vec![f64::NAN; steps];
    let (mut sq, mut n) = (0.0, 0usize);
    for b0 in (0..steps).step_by(block) {
        let b1 = (b0 + block).min(steps);
        let obs: Vec<f64> = (b0..b1)
            .filter(|&k| real[k].is_finite() && real[k + 1].is_finite())
            .map(|k| lr(k, k + 1))
            .collect();
        if !obs.is_empty() {
            let v = obs.iter().map(|x| x * x).sum::<f64>() / obs.len() as f64;
            sq += obs.iter().map(|x| x * x).sum::<f64>();
            n += obs.len();
            sd[b0..b1].iter_mut().for_each(|s| *s = v.sqrt());
        }
    }
    let all = if n > 0 { (sq / n as f64).sqrt() } else { 0.0 };
    sd.iter_mut().filter(|s| s.is_nan()).for_each(|s| *s = all);
    // Closed runs: between present prices a < b with missing prices inside.
    let mut a = 0;
    while a < steps {
        if !real[a].is_finite() {
            a += 1;
            continue;
        }
        let b = (a + 1..=steps).find(|&b| real[b].is_finite());
        match b {
            Some(b) if b > a + 1 => {
                let v = lr(a, b).powi(2) / (b - a) as f64;
                sd[a..b].iter_mut().for_each(|s| *s = v.sqrt());
                a = b;
            }
            Some(b) => a = b,
            None => break,
        }
    }
    sd
}

/// How far below the reference a forecaster could go if it knew the realised volatility of
/// each prompt (Gaussian log returns; over the whole prompt, and over each hour for LOW): the
/// ceiling a volatility forecast can reach, on the same folds, prompts and scorer as
/// `forecast_quality_walk_forward`.
#[test]
#[ignore = "minutes of CPU on the real data; prints a table"]
fn forecast_quality_oracle_bound() {
    use models::baselines::Gbm;
    use models::eval::{place_prompts, prompt_inputs};
    use models::Forecaster;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};
    let prompts: usize = std::env::var("FQ_PROMPTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(25);
    for (tf, assets, blocks) in [
        (
            Timeframe::Low5m,
            list(
                "FQ_ASSETS",
                "BTC,ETH,XAU,SOL,SPYX,NVDAX,TSLAX,AAPLX,GOOGLX,XRP,HYPE",
            ),
            vec![288, 12],
        ),
        (
            Timeframe::High1m,
            list("FQ_ASSETS_HIGH", "BTC,ETH,XAU,SOL,HYPE"),
            vec![60],
        ),
    ] {
        let mut tot = vec![(0.0, 0.0); blocks.len()];
        for a in &assets {
            let mut cfg = ExperimentConfig::new(a, tf, ModelChoice::Baseline("gbm".into()));
            cfg.folds = 2;
            cfg.eval.max_prompts = prompts;
            cfg.data = DataPolicy::RealOnly;
            let Ok(data) = prepare(&cfg) else { continue };
            let Ok(r) = run_on(&cfg, &data, &mut |_, _| {}) else {
                continue;
            };
            let pc = cfg.prompt_config();
            let mut sums = vec![(0.0, 0.0); blocks.len()];
            let mut n = 0usize;
            for f in &r.folds {
                for start in place_prompts(f.eval.span, pc, prompts, cfg.eval.seed) {
                    let Some(p) = prompt_inputs(pc, &data.history, &data.one_min, start, &cfg.eval)
                    else {
                        continue;
                    };
                    let req = p.request(a, &cfg.eval);
                    let inc = pc.time_increment;
                    let score = |paths: &sn50::PathSet| {
                        sn50::crps_for_miner(paths, &p.realised, inc, pc.scoring_intervals)
                            .map(|c| c.total)
                            .unwrap_or(f64::NAN)
                    };
                    let base = score(&Gbm::reference().forecast(&req).unwrap());
                    let t = req.n_points();
                    let mut scores = Vec::new();
                    for &b in &blocks {
                        let sd = oracle_sd(&p.realised, b);
                        let mut g = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(req.seed);
                        let mut flat = Vec::with_capacity(req.num_simulations * t);
                        for _ in 0..req.num_simulations {
                            let mut log = 0.0;
                            flat.push(p.start_price);
                            for s in &sd {
                                let z: f64 = StandardNormal.sample(&mut g);
                                log += s * z - 0.5 * s * s;
                                flat.push(p.start_price * log.exp());
                            }
                        }
                        let paths = sn50::PathSet::from_flat(req.num_simulations, t, flat).unwrap();
                        scores.push(score(&paths));
                    }
                    if base.is_finite() && scores.iter().all(|s| s.is_finite()) {
                        n += 1;
                        for (s, x) in sums.iter_mut().zip(&scores) {
                            s.0 += x;
                            s.1 += base;
                        }
                    }
                }
            }
            let w = r.asset_weight;
            for (i, (&b, s)) in blocks.iter().zip(&sums).enumerate() {
                println!(
                    "{tf:?} {a:<6} oracle vol over {b:>3} steps: ratio {:.4} ({n} prompts)",
                    s.0 / s.1
                );
                tot[i].0 += w * s.0 / n.max(1) as f64;
                tot[i].1 += w * s.1 / n.max(1) as f64;
            }
        }
        for (&b, (x, y)) in blocks.iter().zip(&tot) {
            println!(
                "{tf:?} weighted oracle vol over {b:>3} steps: ratio {:.4}",
                x / y
            );
        }
    }
}
