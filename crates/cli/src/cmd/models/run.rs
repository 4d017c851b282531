//! `synth-city experiment | quick | sweep`: walk-forward runs scored against the reference GBM.
//! Every run goes through the research layer, so it is stored in the registry with its trained
//! weights, sample paths and plots (`synth-city history` lists it); an identical earlier run is
//! shown from the registry instead of trained again unless `--force`.

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use models::data::DataPolicy;
use models::experiment::{
    prepare, weighted_mean, ExperimentConfig, ExperimentResult, ModelChoice, PreparedData,
};
use models::presets::{preset, PRESETS};
use models::spec::{ModelSpec, Timeframe};
use research::models_runner::{spec_of, EvalOverrides};
use research::{
    Archive, DataRequest, ModelsRunner, Requester, ResearchSession, RunRequest, RunStatus,
};
use serde::Serialize;
use serde_json::Value;

use super::json_out;
use crate::{CliError, CliResult};

/// Options shared by `experiment`, `quick` and `sweep`.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Asset (experiment and quick).
    #[arg(long, default_value = "BTC", value_parser = crate::cmd::args::asset)]
    asset: String,
    /// Training epochs of neural models.
    #[arg(long)]
    epochs: Option<usize>,
    /// Backbone width of neural models.
    #[arg(long)]
    d_model: Option<usize>,
    /// Train neural models on the most recent N windows only (0 = every window; default: the
    /// spec's, which is every window).
    #[arg(long)]
    max_windows: Option<usize>,
    /// Seed (prompt placement, sampling, weights).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Walk-forward folds (sweep: 1 unless given).
    #[arg(long, value_parser = crate::cmd::args::at_least_one)]
    folds: Option<usize>,
    /// Prompts per fold and asset, thinned evenly from the validator cadence (sweep: 8 unless
    /// given).
    #[arg(long, value_parser = crate::cmd::args::at_least_one)]
    max_prompts: Option<usize>,
    /// Use the synthetic market even when real data exist.
    #[arg(long)]
    synthetic: bool,
    /// Only real data: fail instead of falling back to the synthetic market (sweep: always,
    /// unless --synthetic).
    #[arg(long, conflicts_with = "synthetic")]
    real_only: bool,
    /// Train again even when an identical run (same spec, data and seed) is in the registry.
    #[arg(long)]
    force: bool,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
    /// Where neural models train: cpu, cuda, cuda:N, or auto (a CUDA GPU when this build has
    /// the `cuda` feature and one is present). With SYNTH_CITY_WORKERS set, runs go to the
    /// workers, which train on their own --device.
    #[arg(long, default_value = "auto", env = "SYNTH_CITY_DEVICE")]
    device: models::device::DeviceChoice,
}

fn config(c: &Common, tf: Timeframe, asset: &str, model: ModelChoice) -> ExperimentConfig {
    let mut cfg = ExperimentConfig::new(asset, tf, model);
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

/// The research spec of a model choice, with the command's walk-forward overrides.
fn research_spec(model: &ModelChoice, tf: Timeframe, c: &Common) -> Result<Value, CliError> {
    let mut spec = spec_of(model, tf).map_err(|e| CliError::runtime(e.message))?;
    EvalOverrides {
        folds: c.folds,
        max_prompts: c.max_prompts,
    }
    .write_into(&mut spec)
    .map_err(|e| CliError::runtime(e.message))?;
    Ok(spec)
}

/// Loads one asset's data as the command's data policy says; prints the synthetic warning.
fn load(c: &Common, tf: Timeframe, asset: &str) -> Result<PreparedData, CliError> {
    let cfg = config(c, tf, asset, ModelChoice::Baseline("gbm".into()));
    let data = prepare(&cfg).map_err(|e| CliError::runtime(format!("{asset}: {e}")))?;
    if let Some(w) = &data.warning {
        eprintln!("{w}");
    }
    Ok(data)
}

/// An epoch progress bar (hidden with `--json` or without epochs) and the callback that drives it.
fn progress(quiet: bool, epochs: usize) -> (ProgressBar, Arc<research::models_runner::ProgressFn>) {
    let bar = if quiet || epochs == 0 {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(epochs as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] epoch {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let b = bar.clone();
    let current = AtomicUsize::new(usize::MAX);
    let f = move |asset: &str, fold: usize, e: &models::train::EpochReport| {
        if current.swap(fold, Ordering::Relaxed) != fold {
            b.reset();
            b.set_message(format!("{asset} fold {}", fold + 1));
        }
        b.set_position(e.epoch as u64 + 1);
        b.println(format!(
            "  fold {} epoch {:>3}: train {:.3}  val {:.3}",
            fold + 1,
            e.epoch + 1,
            e.train_loss,
            e.val_loss
        ));
    };
    (bar, Arc::new(f))
}

/// A session on the registry whose runner uses `data` (already loaded, per asset) and reports
/// epochs to `on_epoch`.
fn session(
    tf: Timeframe,
    data: &[(String, PreparedData)],
    on_epoch: Option<Arc<research::models_runner::ProgressFn>>,
    device: models::device::DeviceChoice,
) -> Result<ResearchSession, CliError> {
    let archive = Archive::open_default().map_err(|e| CliError::runtime(e.to_string()))?;
    device
        .resolve()
        .map_err(|e| CliError::input(e.to_string()))?;
    let mut runner = ModelsRunner::new().with_device(device);
    if let Some(f) = &on_epoch {
        runner = runner.with_progress(f.clone());
    }
    for (asset, d) in data {
        runner = runner.with_data(asset, tf, d.clone());
    }
    Ok(ResearchSession::new(
        Arc::new(archive),
        crate::cmd::worker::dispatch(runner, on_epoch)?,
        Requester::Cli,
    ))
}

/// One stored result: the model layer's result and the registry run it lives in.
#[derive(Debug, Serialize)]
struct Row {
    run_id: String,
    /// True when the registry already held this run (nothing was trained).
    reused: bool,
    #[serde(flatten)]
    result: ExperimentResult,
}

/// Runs `model` on one asset through the session, returning the stored result.
fn run_one(
    s: &mut ResearchSession,
    c: &Common,
    tf: Timeframe,
    asset: &str,
    model: &ModelChoice,
    synthetic: bool,
) -> Result<Row, CliError> {
    let req = request(c, tf, asset, model, synthetic)?;
    let out = s.run(req);
    row(s, c, asset, model, out)
}

/// The research request of `model` on one asset.
fn request(
    c: &Common,
    tf: Timeframe,
    asset: &str,
    model: &ModelChoice,
    synthetic: bool,
) -> Result<RunRequest, CliError> {
    Ok(RunRequest {
        spec: research_spec(model, tf, c)?,
        data: DataRequest {
            assets: vec![asset.to_string()],
            allow_synthetic: synthetic,
            ..Default::default()
        },
        seed: c.seed,
        name: Some(model.name()),
        force: c.force,
    })
}

/// The stored result of one run as a table row.
fn row(
    s: &ResearchSession,
    c: &Common,
    asset: &str,
    model: &ModelChoice,
    out: research::Result<research::RunOutcome>,
) -> Result<Row, CliError> {
    let out =
        out.map_err(|e| CliError::runtime(format!("{asset} {}: {}", model.name(), e.message)))?;
    let rec = &out.record;
    if rec.status != RunStatus::Ok {
        let msg = rec.error.as_ref().map_or("failed", |e| e.message.as_str());
        return Err(CliError::runtime(format!(
            "{asset} {} (run {}): {msg}",
            model.name(),
            rec.run_id
        )));
    }
    if out.reused && !c.json {
        eprintln!(
            "{asset} {}: identical run {} is in the registry; showing it (--force trains again)",
            model.name(),
            rec.run_id
        );
    }
    let name = format!("result-{}.json", asset.to_lowercase());
    let bytes = research::model_store::read_artifact(s.archive(), rec, &name)
        .map_err(|e| CliError::runtime(e.to_string()))?;
    let result: ExperimentResult = serde_json::from_slice(&bytes)
        .map_err(|e| CliError::runtime(format!("{name} of run {}: {e}", rec.run_id)))?;
    Ok(Row {
        run_id: rec.run_id.clone(),
        reused: out.reused,
        result,
    })
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<24} {:<6} {:<5} {:>7} {:>12} {:>12} {:>7} {:>9} {:>8}",
        "model", "asset", "comp", "prompts", "crps", "gbm crps", "ratio", "params", "train s"
    );
    for row in rows {
        let r = &row.result;
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
    for row in rows {
        println!(
            "run {}: {} {}",
            row.run_id, row.result.model, row.result.asset
        );
    }
}

fn finish(rows: Vec<Row>, json: bool) -> CliResult {
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
    tf: Timeframe,
    c: &Common,
) -> CliResult {
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
            // Python names (TransformerBlock, GBMHead, …) are accepted as aliases; user
            // components (`synth-city components`) by their names.
            let names = blocks
                .iter()
                .map(|b| super::components::canonical(b, false))
                .collect::<Result<Vec<String>, CliError>>()?;
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let head = super::components::canonical(head, true)?;
            let mut spec = super::components::embed(&ModelSpec::new(tf, &names, &head))?;
            if let Some(d) = c.d_model {
                spec.d_model = d;
            }
            if let Some(e) = c.epochs {
                spec.training.epochs = e;
            }
            if let Some(w) = c.max_windows {
                spec.training.max_windows = w;
            }
            spec.training.seed = c.seed;
            spec.validate()
                .map_err(|e| CliError::input(e.to_string()))?;
            ModelChoice::Neural(Box::new(spec))
        }
    };
    single(c, tf, model)
}

/// Runs one model on `--asset` with an epoch progress bar.
fn single(c: &Common, tf: Timeframe, model: ModelChoice) -> CliResult {
    let asset = c.asset.to_uppercase();
    let data = load(c, tf, &asset)?;
    let synthetic = data.history.provenance == market::Provenance::Synthetic;
    let epochs = match &model {
        ModelChoice::Neural(s) => s.training.epochs,
        ModelChoice::Baseline(_) => 0,
    };
    let (bar, on_epoch) = progress(c.json, epochs);
    let mut s = session(tf, &[(asset.clone(), data)], Some(on_epoch), c.device)?;
    let row = run_one(&mut s, c, tf, &asset, &model, synthetic);
    bar.finish_and_clear();
    finish(vec![row?], c.json)
}

/// `synth-city quick`: a small neural model, one fold, few prompts.
pub fn quick(tf: Timeframe, mut c: Common) -> CliResult {
    c.folds = Some(c.folds.unwrap_or(1));
    c.max_prompts = Some(c.max_prompts.unwrap_or(8));
    let mut spec = ModelSpec::new(tf, &["mlp"], "student_t");
    spec.d_model = c.d_model.unwrap_or(16);
    spec.seq_len = spec.seq_len.min(64);
    spec.training.epochs = c.epochs.unwrap_or(3);
    spec.training.max_windows = c.max_windows.unwrap_or(256);
    spec.training.n_paths = 32;
    spec.training.seed = c.seed;
    single(&c, tf, ModelChoice::Neural(Box::new(spec)))
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
    results: Vec<Row>,
    weighted: Vec<Weighted>,
    errors: Vec<String>,
}

/// Walk-forward folds of a sweep unless `--folds` is given.
pub const SWEEP_FOLDS: usize = 1;
/// Prompts per fold and asset of a sweep unless `--max-prompts` is given.
pub const SWEEP_PROMPTS: usize = 8;

/// What a sweep will run, resolved from its arguments (`sweep --dry-run` prints it).
#[derive(Debug, Serialize)]
struct SweepPlan {
    presets: Vec<String>,
    folds: usize,
    max_prompts: usize,
    /// `real` (the default) or `synthetic` (`--synthetic`).
    data: &'static str,
    competitions: Vec<PlannedCompetition>,
}

#[derive(Debug, Serialize)]
struct PlannedCompetition {
    timeframe: &'static str,
    assets: Vec<String>,
    /// Assets of the competition's list left out, with why (default asset list only).
    skipped: Vec<String>,
}

/// True when real history of `asset` at the timeframe's step and at 1 minute (the truth) is in
/// the cache, a data folder or the embedded set (the places `models::data::load_history` reads).
fn has_real_data(asset: &str, tf: Timeframe) -> bool {
    let cache = market::Cache::open_default();
    let file = models::data::file_asset(asset);
    [60, tf.step_secs()].iter().all(|&res| {
        let in_cache = [asset.to_string(), file.clone()]
            .iter()
            .any(|a| cache.path(a, res, market::Provenance::Real).exists());
        in_cache || matches!(market::lookup::locate(&file, res), Ok(Some(_)))
    })
}

/// Resolves presets, assets and the walk-forward size of a sweep. Real data only unless
/// `--synthetic`: an asset named in `--assets` without real data is an error; one of the default
/// list is skipped.
fn sweep_plan(
    presets: &[String],
    assets: &[String],
    tfs: &[Timeframe],
    c: &Common,
) -> Result<SweepPlan, CliError> {
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
    let mut competitions = Vec::new();
    for &tf in tfs {
        let mut planned = PlannedCompetition {
            timeframe: tf.as_str(),
            assets: Vec::new(),
            skipped: Vec::new(),
        };
        let explicit = !assets.is_empty();
        let list: Vec<String> = if explicit {
            assets.to_vec()
        } else {
            let cfg0 = config(c, tf, "BTC", ModelChoice::Baseline("gbm".into()));
            cfg0.prompt_config()
                .asset_list
                .iter()
                .map(|s| s.to_string())
                .collect()
        };
        for asset in list {
            if c.synthetic || has_real_data(&asset, tf) {
                planned.assets.push(asset);
            } else if explicit {
                return Err(CliError::input(format!(
                    "--assets {asset}: no real {} data (cache or shared data folder); import or \
                     download it, or pass --synthetic",
                    tf.as_str()
                )));
            } else {
                planned.skipped.push(format!("{asset}: no real data"));
            }
        }
        competitions.push(planned);
    }
    Ok(SweepPlan {
        presets: names,
        folds: c.folds.unwrap_or(SWEEP_FOLDS),
        max_prompts: c.max_prompts.unwrap_or(SWEEP_PROMPTS),
        data: if c.synthetic { "synthetic" } else { "real" },
        competitions,
    })
}

/// `synth-city sweep`.
pub fn sweep(
    presets: &[String],
    assets: &[String],
    tfs: &[Timeframe],
    c: &Common,
    dry_run: bool,
) -> CliResult {
    let plan = sweep_plan(presets, assets, tfs, c)?;
    if dry_run {
        if c.json {
            json_out(&plan)?;
        } else {
            println!(
                "presets {}; {} fold(s), {} prompts per fold and asset, {} data",
                plan.presets.join(","),
                plan.folds,
                plan.max_prompts,
                plan.data
            );
            for p in &plan.competitions {
                println!("{}: {}", p.timeframe, p.assets.join(","));
                for s in &p.skipped {
                    println!("  skipped {s}");
                }
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut c = c.clone();
    c.folds = Some(plan.folds);
    c.max_prompts = Some(plan.max_prompts);
    c.real_only = !c.synthetic;
    let c = &c;
    let names = plan.presets.clone();
    let (mut results, mut errors, mut weighted) = (Vec::new(), Vec::new(), Vec::new());
    for (tf, planned) in tfs.iter().copied().zip(&plan.competitions) {
        let cfg0 = config(c, tf, "BTC", ModelChoice::Baseline("gbm".into()));
        for s in &planned.skipped {
            errors.push(format!("{s} ({})", tf.as_str()));
        }
        let mut loaded = Vec::new();
        for asset in &planned.assets {
            match load(c, tf, asset) {
                Ok(d) => loaded.push((asset.clone(), d)),
                Err(e) => errors.push(format!("{} {}", e, tf.as_str())),
            }
        }
        let mut s = session(tf, &loaded, None, c.device)?;
        let mut rows: Vec<Row> = Vec::new();
        // Every (asset, preset) run of the competition at once: the session trains as many
        // in parallel as its runner has slots (remote workers), and records them in order.
        let mut planned = Vec::new();
        for (asset, d) in &loaded {
            let synthetic = d.history.provenance == market::Provenance::Synthetic;
            for n in &names {
                let p = preset(n).ok_or_else(|| CliError::input(format!("unknown preset {n}")))?;
                let mut model = p.model(tf, c.d_model, c.epochs, c.seed);
                if let (ModelChoice::Neural(spec), Some(w)) = (&mut model, c.max_windows) {
                    spec.training.max_windows = w;
                }
                match request(c, tf, asset, &model, synthetic) {
                    Ok(r) => planned.push((asset.clone(), model, r)),
                    Err(e) => errors.push(format!("{e} ({})", tf.as_str())),
                }
            }
        }
        let reqs = planned.iter().map(|(_, _, r)| r.clone()).collect();
        let outcomes = s.run_many(reqs);
        for ((asset, model, _), out) in planned.iter().zip(outcomes) {
            match row(&s, c, asset, model, out) {
                Ok(r) => {
                    if !c.json {
                        eprintln!(
                            "  {:<6} {:<4} {:<24} ratio {:.4} ({} prompts)",
                            asset,
                            cfg0.prompt_config().label,
                            r.result.model,
                            r.result.ratio,
                            r.result.n_prompts
                        );
                    }
                    rows.push(r)
                }
                Err(e) => errors.push(format!("{e} ({})", tf.as_str())),
            }
        }
        for n in &names {
            let rs: Vec<&ExperimentResult> = rows
                .iter()
                .map(|r| &r.result)
                .filter(|r| &r.model == n)
                .collect();
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
                assets: rs
                    .iter()
                    .map(|r| sn50::asset::canonical_asset(&r.asset))
                    .collect(),
                weighted_crps: wm,
                weighted_gbm_crps: wb,
                ratio: wm / wb,
            });
        }
        results.extend(rows);
    }
    if results.is_empty() {
        return Err(CliError::runtime(format!(
            "no sweep run succeeded: {}",
            if errors.is_empty() {
                "nothing to run".to_string()
            } else {
                errors.join("; ")
            }
        )));
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
