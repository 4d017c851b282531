//! `synth-city gradients submit|status|watch|cancel|upload`: fine-tuning jobs on Gradients
//! (SN56), and the training set put on the Hugging Face Hub where the job can read it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use services::gradients::{upload_dataset, DatasetSource, Gradients, JobSpec, Task};
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
    /// The status of a job; the trained model's repository once it succeeded.
    Status {
        /// Task id.
        id: String,
        /// Print JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Follow a job through its lifecycle with a progress bar until it ends or --for runs out.
    Watch {
        /// Task id.
        id: String,
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
    /// Upload a JSONL training set (from `agents export-dataset`) to a Hugging Face repository
    /// (HF_TOKEN) and print the URL to give `gradients submit --dataset`.
    Upload {
        /// The JSONL file.
        file: PathBuf,
        /// The repository (owner/name); HF_REPO_ID when left out.
        #[arg(long)]
        repo: Option<String>,
        /// The file's path in the repository.
        #[arg(long, default_value = "train.jsonl")]
        path: String,
        /// Create the repository private (Gradients' miners cannot read a private one).
        #[arg(long)]
        private: bool,
    },
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
            if json {
                println!("{}", serde_json::json!({"task_id": id, "spec": spec}));
            } else {
                println!("submitted Gradients task {id}");
                println!("follow it: synth-city gradients watch {id}");
            }
            Ok(ExitCode::SUCCESS)
        }
        GradientsCmd::Status { id, json } => {
            let c = Gradients::from_env().map_err(service_error)?;
            let t = block_on(c.task(&id))?.map_err(service_error)?;
            print_task(&t, json);
            Ok(if t.status.is_failure() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        GradientsCmd::Watch { id, every, minutes } => watch(&id, every, minutes),
        GradientsCmd::Cancel { id } => {
            let c = Gradients::from_env().map_err(service_error)?;
            block_on(c.cancel(&id))?.map_err(service_error)?;
            println!("cancelled {id}");
            Ok(ExitCode::SUCCESS)
        }
        GradientsCmd::Upload {
            file,
            repo,
            path,
            private,
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
            let url = block_on(upload_dataset(&hub, &repo, &path, bytes, private))?
                .map_err(service_error)?;
            eprintln!("{rows} rows uploaded to {repo}");
            println!("{url}");
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
    print_task(&t, false);
    Ok(if t.status.is_failure() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
