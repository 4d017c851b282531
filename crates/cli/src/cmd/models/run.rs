//! `synth-city experiment | quick | sweep`: walk-forward runs scored against the reference GBM.

use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use models::data::DataPolicy;
use models::experiment::{
    prepare, run_on, sn50_name, weighted_mean, ExperimentConfig, ExperimentResult, ModelChoice,
};
use models::presets::{preset, PRESETS};
use models::spec::{ModelSpec, Timeframe};
use serde::Serialize;

use super::json_out;
use crate::{CliError, CliResult};

/// Options shared by `experiment`, `quick` and `sweep`.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Asset (experiment and quick).
    #[arg(long, default_value = "BTC")]
    asset: String,
    /// Training epochs of neural models.
    #[arg(long)]
    epochs: Option<usize>,
    /// Backbone width of neural models.
    #[arg(long)]
    d_model: Option<usize>,
    /// Seed (prompt placement, sampling, weights).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Walk-forward folds.
    #[arg(long)]
    folds: Option<usize>,
    /// Prompts per fold and asset (thinned evenly from the validator cadence).
    #[arg(long)]
    max_prompts: Option<usize>,
    /// Use the synthetic market even when real data exist.
    #[arg(long)]
    synthetic: bool,
    /// Only real data: fail instead of falling back to the synthetic market.
    #[arg(long, conflicts_with = "synthetic")]
    real_only: bool,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

fn timeframe(s: &str) -> Result<Timeframe, CliError> {
    Timeframe::parse(s)
        .ok_or_else(|| CliError::input(format!("--timeframe must be 5m or 1m, got {s:?}")))
}

fn config(c: &Common, tf: Timeframe, asset: &str, model: ModelChoice) -> ExperimentConfig {
    let mut cfg = ExperimentConfig::new(asset, tf, model);
    if let Some(f) = c.folds {
        cfg.folds = f;
    }
    if let Some(m) = c.max_prompts {
        cfg.eval.max_prompts = m;
    }
    cfg.eval.seed = c.seed;
    cfg.data = if c.synthetic {
        DataPolicy::SyntheticOnly
    } else if c.real_only {
        DataPolicy::RealOnly
    } else {
        DataPolicy::RealOrSynthetic
    };
    cfg
}

/// Runs one config with an epoch progress bar; prints the synthetic warning on stderr.
fn run_one(cfg: &ExperimentConfig, quiet: bool) -> Result<ExperimentResult, CliError> {
    let data = prepare(cfg).map_err(|e| CliError::runtime(format!("{}: {e}", cfg.asset)))?;
    if let Some(w) = &data.warning {
        eprintln!("{w}");
    }
    let epochs = match &cfg.model {
        ModelChoice::Neural(s) => s.training.epochs as u64,
        ModelChoice::Baseline(_) => 0,
    };
    let bar = if epochs > 0 && !quiet {
        ProgressBar::new(epochs)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] epoch {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut current = usize::MAX;
    let res = run_on(cfg, &data, &mut |fold, e| {
        if fold != current {
            current = fold;
            bar.reset();
            bar.set_message(format!("{} fold {}", cfg.model.name(), fold + 1));
        }
        bar.set_position(e.epoch as u64 + 1);
        bar.println(format!(
            "  fold {} epoch {:>3}: train {:.3}  val {:.3}",
            fold + 1,
            e.epoch + 1,
            e.train_loss,
            e.val_loss
        ));
    });
    bar.finish_and_clear();
    res.map_err(|e| CliError::runtime(format!("{} {}: {e}", cfg.asset, cfg.model.name())))
}

fn print_table(rows: &[ExperimentResult]) {
    println!(
        "{:<24} {:<6} {:<5} {:>7} {:>12} {:>12} {:>7} {:>9} {:>8}",
        "model", "asset", "comp", "prompts", "crps", "gbm crps", "ratio", "params", "train s"
    );
    for r in rows {
        println!(
            "{:<24} {:<6} {:<5} {:>7} {:>12.2} {:>12.2} {:>7.4} {:>9} {:>8.1}{}",
            r.model,
            r.asset,
            r.competition,
            r.n_prompts,
            r.model_crps,
            r.baseline_crps,
            r.ratio,
            r.param_count,
            r.train_secs,
            if r.warning.is_some() {
                "  SYNTHETIC"
            } else {
                ""
            }
        );
    }
}

fn finish(rows: Vec<ExperimentResult>, json: bool) -> CliResult {
    if json {
        json_out(&rows)?;
    } else {
        print_table(&rows);
    }
    Ok(ExitCode::SUCCESS)
}

/// `synth-city experiment`.
pub fn experiment(
    blocks: &[String],
    head: &str,
    baseline: Option<&str>,
    tf: &str,
    c: &Common,
) -> CliResult {
    let tf = timeframe(tf)?;
    let model = match baseline {
        Some(b) => {
            if models::baselines::baseline(b).is_none() {
                return Err(CliError::input(format!(
                    "unknown baseline {b:?}; known: {}",
                    models::baselines::BASELINE_NAMES.join(", ")
                )));
            }
            ModelChoice::Baseline(b.to_string())
        }
        None => {
            let names: Vec<&str> = blocks.iter().map(String::as_str).collect();
            let mut spec = ModelSpec::new(tf, &names, head);
            if let Some(d) = c.d_model {
                spec.d_model = d;
            }
            if let Some(e) = c.epochs {
                spec.training.epochs = e;
            }
            spec.training.seed = c.seed;
            spec.validate()
                .map_err(|e| CliError::input(e.to_string()))?;
            ModelChoice::Neural(Box::new(spec))
        }
    };
    let cfg = config(c, tf, &c.asset, model);
    let r = run_one(&cfg, c.json)?;
    finish(vec![r], c.json)
}

/// `synth-city quick`: a small neural model, one fold, few prompts.
pub fn quick(tf: &str, mut c: Common) -> CliResult {
    let tf = timeframe(tf)?;
    c.folds = Some(c.folds.unwrap_or(1));
    c.max_prompts = Some(c.max_prompts.unwrap_or(8));
    let mut spec = ModelSpec::new(tf, &["mlp"], "student_t");
    spec.d_model = c.d_model.unwrap_or(16);
    spec.seq_len = spec.seq_len.min(64);
    spec.training.epochs = c.epochs.unwrap_or(3);
    spec.training.max_windows = 256;
    spec.training.n_paths = 32;
    spec.training.seed = c.seed;
    let mut cfg = config(&c, tf, &c.asset, ModelChoice::Neural(Box::new(spec)));
    cfg.eval.num_simulations = 1000;
    let r = run_one(&cfg, c.json)?;
    finish(vec![r], c.json)
}

/// The summary of a sweep for one competition and preset.
#[derive(Debug, Serialize)]
struct Weighted {
    competition: String,
    model: String,
    assets: Vec<String>,
    weighted_crps: f64,
    weighted_gbm_crps: f64,
    ratio: f64,
}

#[derive(Debug, Serialize)]
struct SweepOut {
    results: Vec<ExperimentResult>,
    weighted: Vec<Weighted>,
    errors: Vec<String>,
}

/// `synth-city sweep`.
pub fn sweep(presets: &[String], assets: &[String], tf: &str, c: &Common) -> CliResult {
    let tfs = match tf {
        "both" => vec![Timeframe::Low5m, Timeframe::High1m],
        s => vec![timeframe(s)?],
    };
    let names: Vec<String> = if presets.is_empty() {
        models::baselines::BASELINE_NAMES
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        presets.to_vec()
    };
    for n in &names {
        if preset(n).is_none() {
            let known: Vec<&str> = PRESETS.iter().map(|p| p.name).collect();
            return Err(CliError::input(format!(
                "unknown preset {n:?}; known: {}",
                known.join(", ")
            )));
        }
    }
    let (mut results, mut errors, mut weighted) = (Vec::new(), Vec::new(), Vec::new());
    for tf in tfs {
        let cfg0 = config(c, tf, "BTC", ModelChoice::Baseline("gbm".into()));
        let list: Vec<String> = if assets.is_empty() {
            cfg0.prompt_config()
                .asset_list
                .iter()
                .map(|s| s.to_string())
                .collect()
        } else {
            assets.to_vec()
        };
        let mut rows = Vec::new();
        for asset in &list {
            let mut cfg = config(c, tf, asset, ModelChoice::Baseline("gbm".into()));
            let data = match prepare(&cfg) {
                Ok(d) => d,
                Err(e) => {
                    errors.push(format!("{asset} {}: {e}", tf.as_str()));
                    continue;
                }
            };
            if let Some(w) = &data.warning {
                eprintln!("{w}");
            }
            for n in &names {
                let p = preset(n).ok_or_else(|| CliError::input(format!("unknown preset {n}")))?;
                cfg.model = p.model(tf, c.d_model, c.epochs, c.seed);
                match run_on(&cfg, &data, &mut |_, _| {}) {
                    Ok(r) => {
                        if !c.json {
                            eprintln!(
                                "  {:<6} {:<4} {:<24} ratio {:.4} ({} prompts)",
                                asset,
                                cfg0.prompt_config().label,
                                r.model,
                                r.ratio,
                                r.n_prompts
                            );
                        }
                        rows.push(r)
                    }
                    Err(e) => errors.push(format!("{asset} {} {n}: {e}", tf.as_str())),
                }
            }
        }
        for n in &names {
            let rs: Vec<&ExperimentResult> = rows.iter().filter(|r| &r.model == n).collect();
            if rs.is_empty() {
                continue;
            }
            let m: Vec<(f64, f64)> = rs.iter().map(|r| (r.asset_weight, r.model_crps)).collect();
            let b: Vec<(f64, f64)> = rs
                .iter()
                .map(|r| (r.asset_weight, r.baseline_crps))
                .collect();
            let (wm, wb) = (weighted_mean(&m), weighted_mean(&b));
            weighted.push(Weighted {
                competition: cfg0.prompt_config().label.to_string(),
                model: n.clone(),
                assets: rs.iter().map(|r| sn50_name(&r.asset)).collect(),
                weighted_crps: wm,
                weighted_gbm_crps: wb,
                ratio: wm / wb,
            });
        }
        results.extend(rows);
    }
    if c.json {
        json_out(&SweepOut {
            results,
            weighted,
            errors,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    print_table(&results);
    println!();
    println!("SN50-weighted (asset coefficients) mean CRPS per prompt:");
    println!(
        "{:<5} {:<24} {:>12} {:>12} {:>7}  assets",
        "comp", "model", "crps", "gbm crps", "ratio"
    );
    for w in &weighted {
        println!(
            "{:<5} {:<24} {:>12.2} {:>12.2} {:>7.4}  {}",
            w.competition,
            w.model,
            w.weighted_crps,
            w.weighted_gbm_crps,
            w.ratio,
            w.assets.join(",")
        );
    }
    for e in &errors {
        eprintln!("skipped: {e}");
    }
    Ok(ExitCode::SUCCESS)
}
