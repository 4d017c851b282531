//! `synth-city gradients submit|list|status|watch|cancel|upload`: fine-tuning jobs on Gradients
//! (SN56), kept in `<data>/gradients/jobs.json` so that a restart still knows them, and the
//! training set put in a Hugging Face dataset repository where the job can read it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use services::gradients::{
    upload_dataset, DatasetSource, Gradients, JobRecord, JobSpec, JobStore, Task,
};
use services::hf::{HubClient, HubConfig};

use super::{block_on, service_error};
use crate::{CliError, CliResult};

/// `synth-city gradients …`
#[derive(Subcommand, Debug)]
pub enum GradientsCmd {
    /// Submit a chat fine-tuning job (paid: the account's balance is charged per hour).
    Submit {
        /// The Hugging Face base model (e.g. Qwen/Qwen2.5-7B-Instruct).
        #[arg(long)]
        base: String,
        /// The training set: a Hugging Face dataset repository (owner/name) or the https://
        /// URL `gradients upload` printed.
        #[arg(long)]
        dataset: String,
        /// Hours the miners get (1-168).
        #[arg(long, default_value_t = 4)]
        hours: u32,
        /// The name of the trained model.
        #[arg(long)]
        output: Option<String>,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// The jobs submitted from here (kept in the data folder), with the last status seen;
    /// --refresh asks the service for the status of those not finished.
    List {
        /// Ask Gradients for the current status of the unfinished jobs (GRADIENTS_API_KEY).
        #[arg(long)]
        refresh: bool,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// The status of a job (the last one submitted from here when no id is given); the trained
    /// model's repository once it succeeded.
    Status {
        /// Task id (default: the job submitted last).
        id: Option<String>,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Follow a job through its lifecycle with a progress bar until it ends or --for runs out.
    Watch {
        /// Task id (default: the job submitted last).
        id: Option<String>,
        /// Seconds between polls.
        #[arg(long, default_value_t = 60)]
        every: u64,
        /// Stop watching after this many minutes (the job keeps running).
        #[arg(long = "for", default_value_t = 720)]
        minutes: u64,
    },
    /// Cancel (delete) a job.
    Cancel {
        /// Task id.
        id: String,
    },
    /// Upload a JSONL training set (from `agents export-dataset`) to a Hugging Face dataset
    /// repository (HF_TOKEN) and print the URL to give `gradients submit --dataset`.
    Upload {
        /// The JSONL file.
        file: PathBuf,
        /// The dataset repository (owner/name); HF_REPO_ID when left out.
        #[arg(long)]
        repo: Option<String>,
        /// The file's path in the repository.
        #[arg(long, default_value = "train.jsonl")]
        path: String,
        /// Create the repository private (Gradients' miners cannot read a private one).
        #[arg(long)]
        private: bool,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// The jobs kept in the data folder.
fn store() -> JobStore {
    JobStore::open_default()
}

/// Records what the service said of a job; a state file that cannot be written is a warning
/// (the answer was already printed or is about to be).
fn remember(t: &Task) {
    if let Err(e) = store().record_task(t) {
        eprintln!("warning: the job's status was not kept: {e}");
    }
}

fn print_records(jobs: &[JobRecord]) {
    if jobs.is_empty() {
        println!("no Gradients jobs submitted from here yet (synth-city gradients submit …)");
        return;
    }
    println!(
        "{:<38} {:<22} {:<20} {:<34} trained model",
        "task", "status", "recorded", "base model"
    );
    for j in jobs {
        println!(
            "{:<38} {:<22} {:<20} {:<34} {}",
            j.task_id,
            j.status.as_deref().unwrap_or("-"),
            j.recorded_at,
            j.spec.as_ref().map_or("-", |s| s.base_model.as_str()),
            j.trained_model.as_deref().unwrap_or("-")
        );
    }
}

fn list(refresh: bool, json: bool) -> CliResult {
    let s = store();
    let mut jobs = s.jobs().map_err(service_error)?;
    if refresh && jobs.iter().any(|j| !finished(j)) {
        let c = Gradients::from_env().map_err(service_error)?;
        for j in jobs.iter_mut().filter(|j| !finished(j)) {
            match block_on(c.task(&j.task_id))? {
                Ok(t) => {
                    if let Some(r) = s.record_task(&t).map_err(service_error)? {
                        *j = r;
                    }
                }
                Err(e) => eprintln!("{}: {e}", j.task_id),
            }
        }
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&jobs).unwrap_or_default()
        );
    } else {
        print_records(&jobs);
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether the last status seen is final.
fn finished(j: &JobRecord) -> bool {
    j.status
        .as_deref()
        .is_some_and(|s| s == "cancelled" || services::gradients::TaskStatus::parse(s).is_done())
}

/// `id`, else the job submitted last.
fn job_id(id: Option<String>) -> Result<String, CliError> {
    match id {
        Some(id) => Ok(id),
        None => store()
            .latest()
            .map_err(service_error)?
            .map(|j| j.task_id)
            .ok_or_else(|| CliError::input("no job submitted from here yet: give the task id")),
    }
}

fn print_task(t: &Task, as_json: bool) {
    if as_json {
        println!("{}", serde_json::to_string_pretty(t).unwrap_or_default());
        return;
    }
    let (step, of) = t.status.step();
    println!(
        "{}  {}  (step {step}/{of})",
        t.task_id.as_deref().unwrap_or("?"),
        t.status.as_str()
    );
    if let Some(b) = &t.base_model_repository {
        println!("  base model: {b}");
    }
    if let Some(d) = &t.ds_repo {
        println!("  dataset:    {d}");
    }
    if let Some(m) = &t.trained_model_repository {
        println!("  trained:    {m}  (serve it through Chutes, then LLM_MODEL=<its id>)");
    }
}

/// Runs one `gradients` command.
pub fn run(cmd: GradientsCmd) -> CliResult {
    match cmd {
        GradientsCmd::Submit {
            base,
            dataset,
            hours,
            output,
            json,
        } => {
            let spec = JobSpec {
                base_model: base,
                dataset: DatasetSource::parse(&dataset).map_err(service_error)?,
                hours,
                output_name: output,
            };
            spec.check().map_err(service_error)?;
            let c = Gradients::from_env().map_err(service_error)?;
            let id = block_on(c.submit(&spec))?.map_err(service_error)?;
            if let Err(e) = store().record_submitted(&id, &spec, "cli") {
                eprintln!("warning: task {id} was submitted but not kept in the data folder: {e}");
            }
            if json {
                println!("{}", serde_json::json!({"task_id": id, "spec": spec}));
            } else {
                println!("submitted Gradients task {id}");
                println!("follow it: synth-city gradients watch {id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        GradientsCmd::List { refresh, json } => list(refresh, json),
        GradientsCmd::Status { id, json } => {
            let id = job_id(id)?;
            let c = Gradients::from_env().map_err(service_error)?;
            let t = block_on(c.task(&id))?.map_err(service_error)?;
            remember(&t);
            print_task(&t, json);
            Ok(if t.status.is_failure() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        GradientsCmd::Watch { id, every, minutes } => watch(&job_id(id)?, every, minutes),
        GradientsCmd::Cancel { id } => {
            let c = Gradients::from_env().map_err(service_error)?;
            block_on(c.cancel(&id))?.map_err(service_error)?;
            if let Err(e) = store().record_cancelled(&id) {
                eprintln!("warning: the cancellation was not kept: {e}");
            }
            println!("cancelled {id}");
            Ok(ExitCode::SUCCESS)
        }
        GradientsCmd::Upload {
            file,
            repo,
            path,
            private,
            json,
        } => {
            let meta = std::fs::metadata(&file)
                .map_err(|e| CliError::input(format!("{}: {e}", file.display())))?;
            if meta.len() > services::gradients::MAX_DATASET_BYTES as u64 {
                return Err(CliError::input(format!(
                    "{} is larger than {} bytes",
                    file.display(),
                    services::gradients::MAX_DATASET_BYTES
                )));
            }
            let bytes = std::fs::read(&file)
                .map_err(|e| CliError::input(format!("{}: {e}", file.display())))?;
            let rows = services::gradients::check_jsonl(&bytes)
                .map_err(|e| CliError::input(format!("{}: {e}", file.display())))?;
            let cfg = HubConfig::from_env().map_err(service_error)?;
            cfg.require_token().map_err(service_error)?;
            let repo = cfg.repo(repo.as_deref()).map_err(service_error)?;
            let hub = HubClient::new(&cfg).map_err(service_error)?;
            let up = block_on(upload_dataset(&hub, &repo, &path, bytes, private))?
                .map_err(service_error)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&up).unwrap_or_default());
            } else {
                eprintln!("{rows} rows uploaded to the dataset repository {repo}");
                eprintln!(
                    "submit with --dataset {} (custom-dataset route) or --dataset {repo} (HF dataset route)",
                    up.url
                );
                println!("{}", up.url);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn watch(id: &str, every: u64, minutes: u64) -> CliResult {
    if every == 0 || minutes == 0 {
        return Err(CliError::input("--every and --for must be at least 1"));
    }
    let c = Gradients::from_env().map_err(service_error)?;
    let bar = ProgressBar::new(8);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:20}] {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_prefix(id.to_string());
    let deadline = std::time::Instant::now() + Duration::from_secs(minutes.saturating_mul(60));
    let r = block_on(async {
        loop {
            let t = c.task(id).await?;
            let (step, of) = t.status.step();
            bar.set_length(of);
            bar.set_position(step);
            bar.set_message(t.status.as_str().to_string());
            if t.status.is_done() || std::time::Instant::now() >= deadline {
                return Ok::<_, services::ServiceError>(t);
            }
            tokio::time::sleep(Duration::from_secs(every)).await;
        }
    })?;
    bar.finish_and_clear();
    let t = r.map_err(service_error)?;
    remember(&t);
    print_task(&t, false);
    Ok(if t.status.is_failure() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
