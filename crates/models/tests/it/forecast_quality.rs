//! Forecast quality on the real data (`../shared/data`): a walk-forward sweep of baselines
//! against the reference GBM, as `synth-city sweep --folds 2 --max-prompts 25 --real-only`
//! measures it (`forecast_quality_walk_forward`), the ceiling a forecaster knowing each
//! prompt's realised volatility reaches (`forecast_quality_oracle_bound`), and settings scored
//! per fold to choose on the earlier and report the later (`forecast_quality_grid`), and
//! intervals from resampling the prompts (`forecast_quality_paired`). Heavy
//! (up to minutes), so ignored; run with e.g.
//! `FQ_ASSETS=BTC,ETH FQ_MODELS=bootstrap,mix_sess cargo nextest run -p models --run-ignored only forecast_quality`.

use models::data::DataPolicy;
use models::eval::{place_prompts, prompt_inputs, PromptInputs};
use models::experiment::{
    prepare, run_on, ExperimentConfig, ExperimentResult, ModelChoice, PreparedData,
};
use models::spec::Timeframe;

fn list(var: &str, default: &str) -> Vec<String> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// `FQ_PROMPTS` (prompts per fold and asset), or `default`.
fn env_prompts(default: usize) -> usize {
    std::env::var("FQ_PROMPTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The reference GBM's walk-forward run on `asset`'s real data (2 folds, ≤ `prompts` prompts
/// per fold), with its config and data; None where the asset has no usable data.
fn reference_run(
    asset: &str,
    tf: Timeframe,
    prompts: usize,
) -> Option<(ExperimentConfig, PreparedData, ExperimentResult)> {
    let mut cfg = ExperimentConfig::new(asset, tf, ModelChoice::Baseline("gbm".into()));
    cfg.folds = 2;
    cfg.eval.max_prompts = prompts;
    cfg.data = DataPolicy::RealOnly;
    let data = prepare(&cfg).ok()?;
    let r = run_on(&cfg, &data, &mut |_, _| {}).ok()?;
    Some((cfg, data, r))
}

/// The held-out prompts of a reference run, placed in each fold's test span as the validator
/// places them (those without realised prices skipped).
fn held_out_prompts(
    cfg: &ExperimentConfig,
    data: &PreparedData,
    r: &ExperimentResult,
    prompts: usize,
) -> Vec<PromptInputs> {
    let pc = cfg.prompt_config();
    r.folds
        .iter()
        .flat_map(|f| place_prompts(f.eval.span, pc, prompts, cfg.eval.seed))
        .filter_map(|start| prompt_inputs(pc, &data.history, &data.one_min, start, &cfg.eval))
        .collect()
}

/// LOW with `FQ_ASSETS` (default `low_assets`) and HIGH with `FQ_ASSETS_HIGH` (default the
/// five HIGH assets).
fn competitions(low_assets: &str) -> [(Timeframe, Vec<String>); 2] {
    [
        (Timeframe::Low5m, list("FQ_ASSETS", low_assets)),
        (
            Timeframe::High1m,
            list("FQ_ASSETS_HIGH", "BTC,ETH,XAU,SOL,HYPE"),
        ),
    ]
}

#[test]
#[ignore = "minutes of CPU on the real data; prints a table"]
fn forecast_quality_walk_forward() {
    let models = list("FQ_MODELS", "bootstrap,garch_t_flat");
    let prompts = env_prompts(25);
    // More folds reach further back (the equities' 1-minute truth is short at the end).
    let folds: usize = std::env::var("FQ_FOLDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for (tf, assets) in competitions("BTC,ETH,XAU,SOL,XRP,HYPE") {
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

/// How far below the reference a forecaster could go if it knew the realised volatility of
/// each prompt (Gaussian log returns; over the whole prompt, and over each hour for LOW): the
/// ceiling a volatility forecast can reach, on the same folds, prompts and scorer as
/// `forecast_quality_walk_forward`.
#[test]
#[ignore = "minutes of CPU on the real data; prints a table"]
fn forecast_quality_oracle_bound() {
    use models::baselines::Gbm;
    use models::oracle::{oracle_paths, oracle_sd};
    use models::Forecaster;
    let prompts = env_prompts(25);
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
            let Some((cfg, data, r)) = reference_run(a, tf, prompts) else {
                continue;
            };
            let pc = cfg.prompt_config();
            let mut sums = vec![(0.0, 0.0); blocks.len()];
            let mut n = 0usize;
            for p in held_out_prompts(&cfg, &data, &r, prompts) {
                let req = p.request(a, &cfg.eval);
                let inc = pc.time_increment;
                let score = |paths: &sn50::PathSet| {
                    sn50::crps_for_miner(paths, &p.realised, inc, pc.scoring_intervals)
                        .map(|c| c.total)
                        .unwrap_or(f64::NAN)
                };
                let base = score(&Gbm::reference().forecast(&req).unwrap());
                let mut scores = Vec::new();
                for &b in &blocks {
                    let sd = oracle_sd(&p.realised, b);
                    let paths = oracle_paths(&req, &sd).unwrap();
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

/// Paths pooled from two forecasters (`share` of them from the second), for the grid.
struct Pool(
    Box<dyn models::Forecaster>,
    Box<dyn models::Forecaster>,
    f64,
);

impl models::Forecaster for Pool {
    fn name(&self) -> String {
        "pool".into()
    }

    fn forecast(
        &self,
        req: &models::ForecastRequest<'_>,
    ) -> Result<sn50::PathSet, models::ModelError> {
        let n = req.num_simulations;
        let n2 = ((n as f64) * self.2).round() as usize;
        let mut data = Vec::new();
        for (m, k, salt) in [
            (&self.0, n - n2, 0u64),
            (&self.1, n2, 0x9a7c_4000_0000_0001),
        ] {
            if k > 0 {
                let r = models::ForecastRequest {
                    num_simulations: k,
                    seed: req.seed ^ salt,
                    ..req.clone()
                };
                data.extend_from_slice(m.forecast(&r)?.as_flat());
            }
        }
        sn50::PathSet::from_flat(n, req.n_points(), data)
            .map_err(|e| models::ModelError::Data(e.to_string()))
    }
}

/// A bootstrap (`bootstrap_sess` defaults) from `ewma_hours/reversion_hours/block_len
/// [/range_weight/range_hours]`.
fn grid_bootstrap(v: &str) -> Option<models::baselines::BlockBootstrap> {
    let p: Vec<f64> = v.split('/').filter_map(|x| x.parse().ok()).collect();
    let (e, r, b) = (*p.first()?, *p.get(1)?, *p.get(2)?);
    Some(models::baselines::BlockBootstrap {
        ewma_half_life_secs: e * 3600.0,
        reversion_half_life_secs: r * 3600.0,
        block_len: b as usize,
        range_weight: p.get(3).copied().unwrap_or(0.0),
        range_half_life_secs: p.get(4).map_or(3600.0, |h| h * 3600.0),
        ..models::baselines::BlockBootstrap::with_sessions()
    })
}

/// The models of `forecast_quality_grid`: `FQ_GRID` (LOW) / `FQ_GRID_HIGH` list, comma
/// separated, a registered baseline name, a bootstrap setting (see [`grid_bootstrap`]), or
/// `pool:<setting>:<baseline>:<share>` (the bootstrap's paths pooled with the baseline's).
fn grid_variants(tf: Timeframe) -> Vec<(String, Box<dyn models::Forecaster>)> {
    use models::baselines::baseline;
    let default = match tf {
        Timeframe::Low5m => "6/12/12,2/12/12,12/12/12,6/6/12,6/48/12,6/12/3,6/12/36",
        Timeframe::High1m => "6/12/12,0.5/12/12,1/12/12,0.25/1/12,0.5/12/60",
    };
    let var = if tf == Timeframe::Low5m {
        "FQ_GRID"
    } else {
        "FQ_GRID_HIGH"
    };
    list(var, default)
        .iter()
        .filter_map(|v| {
            let m: Box<dyn models::Forecaster> = if let Some(rest) = v.strip_prefix("pool:") {
                let parts: Vec<&str> = rest.split(':').collect();
                let [b, other, share] = parts[..] else {
                    return None;
                };
                Box::new(Pool(
                    Box::new(grid_bootstrap(b)?),
                    baseline(other)?,
                    share.parse().ok()?,
                ))
            } else if let Some(m) = baseline(v) {
                m
            } else {
                Box::new(grid_bootstrap(v)?)
            };
            Some((v.clone(), m))
        })
        .collect()
}

/// Per fold of one asset: each model's summed CRPS, the reference's, and the prompt count.
type FoldSums = (Vec<f64>, f64, f64);

/// Bootstrap settings scored per walk-forward fold (SN50-weighted ratio to the reference on
/// the earlier fold, the later fold, and both): choose on the earlier fold, report the later.
#[test]
#[ignore = "minutes of CPU on the real data; prints a table"]
fn forecast_quality_grid() {
    use models::eval::evaluate_span;
    use models::Forecaster;
    let prompts = env_prompts(25);
    for (tf, assets) in competitions("BTC,ETH,XAU,SOL,SPYX,NVDAX,TSLAX,AAPLX,GOOGLX,XRP,HYPE") {
        let variants = grid_variants(tf);
        let models: Vec<&dyn Forecaster> = variants.iter().map(|(_, m)| m.as_ref()).collect();
        // Per asset: its weight and, per fold, the summed CRPS of each variant, the
        // reference's and the prompt count.
        let mut per_asset: Vec<(f64, [FoldSums; 2])> = Vec::new();
        for a in &assets {
            let Some((cfg, data, r)) = reference_run(a, tf, prompts) else {
                continue;
            };
            let empty = || (vec![0.0; variants.len()], 0.0, 0.0);
            let mut sums = [empty(), empty()];
            for (fi, f) in r.folds.iter().enumerate().take(2) {
                let Ok(ev) = evaluate_span(
                    a,
                    cfg.prompt_config(),
                    &data.history,
                    &data.one_min,
                    f.eval.span,
                    &models,
                    &cfg.eval,
                ) else {
                    continue;
                };
                if ev.n_prompts == 0 {
                    continue;
                }
                let base = ev.scores.last().unwrap().mean_crps;
                let n = ev.n_prompts as f64;
                for (vi, s) in ev.scores.iter().take(variants.len()).enumerate() {
                    println!(
                        "{tf:?} {a:<6} fold {fi} {:<14} ratio {:.4} ({n} prompts)",
                        variants[vi].0,
                        s.mean_crps / base
                    );
                    sums[fi].0[vi] += s.mean_crps * n;
                }
                sums[fi].1 += base * n;
                sums[fi].2 += n;
            }
            per_asset.push((r.asset_weight, sums));
        }
        // As the sweep weights: Σ coef · mean CRPS per prompt over Σ coef · the reference's.
        let ratio = |vi: usize, folds: &[usize]| {
            let (mut x, mut y) = (0.0, 0.0);
            for (w, sums) in &per_asset {
                let n: f64 = folds.iter().map(|&f| sums[f].2).sum();
                if n > 0.0 {
                    x += w * folds.iter().map(|&f| sums[f].0[vi]).sum::<f64>() / n;
                    y += w * folds.iter().map(|&f| sums[f].1).sum::<f64>() / n;
                }
            }
            x / y
        };
        for (vi, (name, _)) in variants.iter().enumerate() {
            println!(
                "{tf:?} weighted {name:<14} fold0 {:.4} fold1 {:.4} both {:.4}",
                ratio(vi, &[0]),
                ratio(vi, &[1]),
                ratio(vi, &[0, 1])
            );
        }
    }
}

/// The SN50-weighted ratio of each model in `FQ_MODELS` (default `mix_sess,bootstrap`) with a
/// 90 % interval from resampling each asset's prompts (1000 draws, paired: every model and the
/// reference are scored on the same draws), and the interval of the difference between the
/// first model's ratio and each other's: whether a difference is more than prompt noise.
#[test]
#[ignore = "minutes of CPU on the real data; prints a table"]
fn forecast_quality_paired() {
    use models::baselines::{baseline, Gbm};
    use models::Forecaster;
    use rand::{RngExt, SeedableRng};
    let names = list("FQ_MODELS", "mix_sess,bootstrap");
    let models: Vec<Box<dyn Forecaster>> = names.iter().filter_map(|n| baseline(n)).collect();
    assert_eq!(models.len(), names.len(), "unknown baseline in FQ_MODELS");
    let prompts = env_prompts(25);
    for (tf, assets) in competitions("BTC,ETH,XAU,SOL,SPYX,NVDAX,TSLAX,AAPLX,GOOGLX,XRP,HYPE") {
        // Per asset: its weight and per prompt [model 0, model 1, …, reference].
        let mut per_asset: Vec<(f64, Vec<Vec<f64>>)> = Vec::new();
        for a in &assets {
            let Some((cfg, data, r)) = reference_run(a, tf, prompts) else {
                continue;
            };
            let pc = cfg.prompt_config();
            let mut rows = Vec::new();
            for p in held_out_prompts(&cfg, &data, &r, prompts) {
                let req = p.request(a, &cfg.eval);
                let reference = Gbm::reference();
                let row: Vec<f64> = models
                    .iter()
                    .map(|m| m.as_ref())
                    .chain([&reference as &dyn Forecaster])
                    .map(|m| {
                        m.forecast(&req)
                            .ok()
                            .and_then(|x| {
                                sn50::crps_for_miner(
                                    &x,
                                    &p.realised,
                                    pc.time_increment,
                                    pc.scoring_intervals,
                                )
                                .ok()
                            })
                            .map_or(f64::NAN, |c| c.total)
                    })
                    .collect();
                if row.iter().all(|x| x.is_finite()) {
                    rows.push(row);
                }
            }
            if !rows.is_empty() {
                per_asset.push((r.asset_weight, rows));
            }
        }
        // Weighted ratios of every model for prompt indices `draw[asset]`.
        let ratios = |draw: &[Vec<usize>]| -> Vec<f64> {
            let k = names.len();
            let mut num = vec![0.0; k];
            let mut den = 0.0;
            for ((w, rows), idx) in per_asset.iter().zip(draw) {
                let n = idx.len() as f64;
                for &i in idx {
                    for (m, x) in num.iter_mut().enumerate() {
                        *x += w * rows[i][m] / n;
                    }
                    den += w * rows[i][k] / n;
                }
            }
            num.iter().map(|x| x / den).collect()
        };
        let all: Vec<Vec<usize>> = per_asset
            .iter()
            .map(|(_, r)| (0..r.len()).collect())
            .collect();
        let point = ratios(&all);
        let mut g = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(0);
        let draws: Vec<Vec<f64>> = (0..1000)
            .map(|_| {
                let d: Vec<Vec<usize>> = per_asset
                    .iter()
                    .map(|(_, r)| (0..r.len()).map(|_| g.random_range(0..r.len())).collect())
                    .collect();
                ratios(&d)
            })
            .collect();
        let interval = |f: &dyn Fn(&[f64]) -> f64| {
            let mut v: Vec<f64> = draws.iter().map(|d| f(d)).collect();
            v.sort_by(f64::total_cmp);
            (v[50], v[949])
        };
        for (m, name) in names.iter().enumerate() {
            let (lo, hi) = interval(&|d| d[m]);
            print!(
                "{tf:?} weighted {name:<14} ratio {:.4} (90 %: {lo:.4}–{hi:.4})",
                point[m]
            );
            if m > 0 {
                let (lo, hi) = interval(&|d| d[0] - d[m]);
                print!(
                    "; {} minus this: {:+.4} (90 %: {lo:+.4} to {hi:+.4})",
                    names[0],
                    point[0] - point[m]
                );
            }
            println!();
        }
    }
}
