//! `publish hf|wandb|all|retry`, `models pull hf://…`, `history hf` and `openclaw publish`:
//! sharing runs on the Hugging Face Hub, logging them to Weights & Biases, and publishing the
//! OpenClaw skill on ClawHub.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use research::publish::{HubOptions, Outcome, PublishReport, Publisher, Target, TargetReport};
use research::store::block_on;
use research::Archive;
use services::clawhub::{ClawHubClient, ClawHubConfig, PublishOptions, SkillPackage};
use services::http::HttpSettings;

use crate::{CliError, CliResult};

/// Commands of this area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Publish a run: a Hugging Face Hub model repository, a W&B run, or every configured
    /// target (Hippius, Hub, W&B) with a report per target.
    Publish {
        #[command(subcommand)]
        cmd: PublishCmd,
    },
    /// Models shared on the Hugging Face Hub.
    Models {
        #[command(subcommand)]
        cmd: ModelsCmd,
    },
}

/// `publish …`.
#[derive(Subcommand, Debug)]
pub enum PublishCmd {
    /// Publish RUN as a Hugging Face Hub model repository: weights (safetensors) or a
    /// baseline's settings, model.json, record.json and a model card with the scores against
    /// the reference GBM. Needs HF_TOKEN (a write token); the repository defaults to HF_REPO_ID.
    Hf {
        /// Run id (or a unique prefix).
        run: String,
        #[command(flatten)]
        hub: HubArgs,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Log RUN to Weights & Biases (config, per-epoch loss, final CRPS, fan chart). Needs
    /// WANDB_PROJECT and WANDB_API_KEY (WANDB_ENTITY, WANDB_BASE_URL optional). Offline, it
    /// stays queued for `synth-city store sync`.
    Wandb {
        /// Run id (or a unique prefix).
        run: String,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Publish RUN to every configured target (Hippius, Hub, W&B): each reports published
    /// (with its address), skipped (not configured) or failed (why; queued for a retry).
    All {
        /// Run id (or a unique prefix).
        run: String,
        #[command(flatten)]
        hub: HubArgs,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Send again every Hub and W&B publication that failed (also done by `store sync`).
    Retry {
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Hub options.
#[derive(Args, Debug)]
pub struct HubArgs {
    /// Repository, owner/name (default: HF_REPO_ID).
    #[arg(long)]
    repo: Option<String>,
    /// Create the repository private (an existing one keeps its visibility).
    #[arg(long)]
    private: bool,
}

/// `models …`.
#[derive(Subcommand, Debug)]
pub enum ModelsCmd {
    /// Download a model published with `publish hf` (hf://owner/name[@revision]), check every
    /// file's SHA-256, and register it as a run: `backtest --competitors run:<id>`, champion
    /// promotion and the miner can use it. HF_TOKEN is needed only for private repositories.
    Pull {
        /// hf://owner/name[@revision] (revision: branch, tag or commit; default main).
        reference: String,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `openclaw publish`.
#[derive(Args, Debug)]
pub struct ClawHubArgs {
    /// Skill folder to publish (default: the skill built into this binary,
    /// skills/openclaw/synth-city).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Changelog of this version.
    #[arg(long, default_value = "")]
    changelog: String,
    /// Check the package and the version against ClawHub without publishing.
    #[arg(long)]
    dry_run: bool,
    /// Machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn open() -> Result<Archive, CliError> {
    Archive::open_default().map_err(research_err)
}

fn research_err(e: research::ResearchError) -> CliError {
    use research::ErrorKind as K;
    match e.kind {
        K::InvalidConfig | K::NotFound => CliError::input(e.to_string()),
        _ => CliError::runtime(e.to_string()),
    }
}

fn service_err(e: services::ServiceError) -> CliError {
    use services::ServiceError as E;
    match e {
        E::NotConfigured { .. } | E::Invalid(_) | E::NotFound { .. } | E::Auth { .. } => {
            CliError::input(e.to_string())
        }
        _ => CliError::runtime(e.to_string()),
    }
}

fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let s =
        serde_json::to_string_pretty(value).map_err(|e| CliError::runtime(format!("json: {e}")))?;
    println!("{s}");
    Ok(())
}

fn print_target(t: &TargetReport) {
    let (status, detail) = match &t.outcome {
        Outcome::Published { url } => ("published", url.clone()),
        Outcome::Skipped { reason } => ("skipped", reason.clone()),
        Outcome::Failed { error } => ("failed", error.clone()),
    };
    let dest = t
        .destination
        .as_deref()
        .map(|d| format!(" [{d}]"))
        .unwrap_or_default();
    println!("{:<8} {status:<10} {detail}{dest}", t.target.as_str());
}

/// Exit status of a set of target reports: 3 when any failed.
fn exit_of(reports: &[TargetReport]) -> CliResult {
    let failed: Vec<&str> = reports
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Failed { .. }))
        .map(|t| t.target.as_str())
        .collect();
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::runtime(format!(
            "publishing failed for {} (queued: `synth-city store sync` or `synth-city publish retry` tries again)",
            failed.join(", ")
        )))
    }
}

fn report(rep: &PublishReport, json: bool, explicit: bool) -> CliResult {
    if json {
        print_json(rep)?;
    } else {
        println!("run {}", rep.run_id);
        for t in &rep.targets {
            print_target(t);
        }
    }
    // Asking for one target that is not configured is an input error (exit 2, says what to set).
    if explicit {
        if let [TargetReport {
            outcome: Outcome::Skipped { reason },
            target,
            ..
        }] = rep.targets.as_slice()
        {
            return Err(CliError::input(format!("{}: {reason}", target.as_str())));
        }
    }
    exit_of(&rep.targets)
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Publish { cmd } => match cmd {
            PublishCmd::Hf { run, hub, json } => {
                let archive = open()?;
                let opts = HubOptions {
                    repo: hub.repo,
                    private: hub.private,
                };
                let rep = Publisher::from_env(&archive)
                    .publish(&run, &[Target::Hf], &opts)
                    .map_err(research_err)?;
                report(&rep, json, true)
            }
            PublishCmd::Wandb { run, json } => {
                let archive = open()?;
                let rep = Publisher::from_env(&archive)
                    .publish(&run, &[Target::Wandb], &HubOptions::default())
                    .map_err(research_err)?;
                report(&rep, json, true)
            }
            PublishCmd::All { run, hub, json } => {
                let archive = open()?;
                let opts = HubOptions {
                    repo: hub.repo,
                    private: hub.private,
                };
                let rep = Publisher::from_env(&archive)
                    .publish(&run, &Target::ALL, &opts)
                    .map_err(research_err)?;
                report(&rep, json, false)
            }
            PublishCmd::Retry { json } => {
                let archive = open()?;
                let reps = retry(&archive, json)?;
                exit_of(&reps)
            }
        },
        Cmd::Models { cmd } => match cmd {
            ModelsCmd::Pull { reference, json } => {
                let archive = open()?;
                let rep =
                    research::publish::pull_blocking(&archive, &reference, HttpSettings::default())
                        .map_err(research_err)?;
                if json {
                    print_json(&rep)?;
                } else if rep.already_present {
                    println!(
                        "run {} is already in the registry (nothing downloaded)",
                        rep.run_id
                    );
                } else {
                    println!(
                        "pulled hf://{}@{}: {} file(s), {} bytes, hashes verified; registered as run {}",
                        rep.repo, rep.revision, rep.files, rep.bytes, rep.run_id
                    );
                    println!(
                        "use it: synth-city backtest --competitors run:{},gbm",
                        rep.run_id
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

/// Retries pending Hub and W&B publications (used by `publish retry` and `store sync`).
pub fn retry_pending(archive: &Archive) -> Result<Vec<TargetReport>, CliError> {
    Publisher::from_env(archive)
        .retry_pending()
        .map_err(research_err)
}

/// Prints retried publications, a line each (or that none was pending).
pub fn print_retried(reps: &[TargetReport]) {
    if reps.is_empty() {
        println!("publications: none pending");
    }
    for t in reps {
        print_target(t);
    }
}

fn retry(archive: &Archive, json: bool) -> Result<Vec<TargetReport>, CliError> {
    let reps = retry_pending(archive)?;
    if json {
        print_json(&reps)?;
    } else {
        print_retried(&reps);
    }
    Ok(reps)
}

/// `history hf`: what was published to the Hub (and W&B), newest first.
pub fn history_hf(limit: usize, json: bool) -> CliResult {
    let archive = Archive::open(&market::home::data_dir(), None).map_err(research_err)?;
    let list = archive
        .registry
        .publications(Some("hf"), None, limit)
        .map_err(research_err)?;
    if json {
        print_json(&list)?;
        return Ok(ExitCode::SUCCESS);
    }
    if list.is_empty() {
        println!("nothing published to the Hugging Face Hub yet (synth-city publish hf RUN)");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<22} {:<32} {:<10} {:<26} PULL / LAST ERROR",
        "RUN", "REPOSITORY", "STATUS", "WHEN"
    );
    for p in &list {
        let when = p.published_at.as_deref().unwrap_or(&p.requested_at);
        let when: String = when.chars().take(19).collect();
        let tail = match (&p.revision, &p.last_error) {
            (Some(rev), _) if p.status == "published" => {
                format!("hf://{}@{rev}", p.destination)
            }
            (_, Some(e)) => e.clone(),
            _ => String::new(),
        };
        println!(
            "{:<22} {:<32} {:<10} {:<26} {tail}",
            p.run_id, p.destination, p.status, when
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `openclaw publish`: package the skill and publish it on ClawHub after the version check.
pub fn openclaw_publish(a: ClawHubArgs) -> CliResult {
    let pkg = match &a.dir {
        Some(d) => SkillPackage::from_dir(d),
        None => SkillPackage::from_files(
            bridge::skill::FILES
                .iter()
                .map(|(p, c, _)| (p.to_string(), c.as_bytes().to_vec()))
                .collect(),
        ),
    }
    .map_err(service_err)?;
    let cfg = ClawHubConfig::from_env();
    let client = ClawHubClient::new(&cfg).map_err(service_err)?;
    if a.dry_run {
        let latest = block_on(client.latest_version(&pkg.slug))
            .map_err(research_err)?
            .map_err(service_err)?;
        let ok = latest.is_none_or(|l| pkg.version > l);
        let out = serde_json::json!({
            "slug": pkg.slug,
            "version": pkg.version.to_string(),
            "published": latest.map(|l| l.to_string()),
            "files": pkg.files,
            "bytes": pkg.size(),
            "version_ok": ok,
        });
        if a.json {
            print_json(&out)?;
        } else {
            println!(
                "{} {}: {} file(s), {} bytes; on ClawHub: {}",
                pkg.slug,
                pkg.version,
                pkg.files.len(),
                pkg.size(),
                latest.map_or("not yet".to_string(), |l| l.to_string())
            );
        }
        if !ok {
            return Err(CliError::input(format!(
                "{} {} is not above the published version: bump `version` in SKILL.md",
                pkg.slug, pkg.version
            )));
        }
        return Ok(ExitCode::SUCCESS);
    }
    cfg.require_token().map_err(service_err)?;
    let opts = PublishOptions {
        display_name: Some(pkg.slug.clone()),
        changelog: a.changelog.clone(),
        categories: vec!["finance".into(), "research".into(), "agents".into()],
        topics: vec!["bittensor".into(), "sn50".into(), "forecasting".into()],
        tags: vec!["latest".into()],
    };
    let published = block_on(client.publish(&pkg, &opts))
        .map_err(research_err)?
        .map_err(service_err)?;
    if a.json {
        print_json(&published)?;
    } else {
        println!(
            "published {} {} on ClawHub ({}): {}",
            published.slug,
            published.version,
            published
                .publication_status
                .as_deref()
                .unwrap_or("submitted"),
            published.url
        );
    }
    Ok(ExitCode::SUCCESS)
}
