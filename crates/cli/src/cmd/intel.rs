//! Commands of the intelligence services (Bittensor subnets synth-city's agents and bots build
//! on): `synth-city search` (Desearch, SN22), `synth-city agents models` (Chutes, SN64),
//! `synth-city social` (Data Universe, SN13), `synth-city gradients` (Gradients, SN56), and the
//! fine-tuning cycle's `agents export-dataset` and `agents compare-models`.
//! Each needs its service's key in the environment or `.env`; without it the command says which
//! variable to set.

mod compare;
mod export;
mod gradients;
mod models;
pub mod openclaw_chutes;
mod search;
pub mod social;

use clap::Subcommand;
use services::ServiceError;

use crate::{CliError, CliResult};

/// Commands of the intelligence services.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Real-time search of X/Twitter, Reddit and the web through Desearch (SN22).
    ///
    /// Hits are normalised (source, author, time, text, url, score); the call's cost, as the
    /// service reports it, is printed on stderr (and in --json). Needs DESEARCH_API_KEY.
    Search(search::Args),
    /// Bulk social data from X, Reddit and YouTube through Data Universe (SN13): on-demand
    /// queries and Gravity crawls, saved as Parquet files in the data folder (`<data>/social`),
    /// task ids kept so a task survives a restart. Needs MC_API (or MACROCOSMOS_API_KEY).
    Social {
        #[command(subcommand)]
        cmd: social::SocialCmd,
    },
    /// Fine-tuning jobs on Gradients (SN56): submit, status, watch, cancel; upload a training
    /// set to the Hugging Face Hub. Needs GRADIENTS_API_KEY (HF_TOKEN for upload).
    Gradients {
        #[command(subcommand)]
        cmd: gradients::GradientsCmd,
    },
    /// What synth-city's agents can use from the intelligence services.
    Agents {
        #[command(subcommand)]
        cmd: AgentsCmd,
    },
}

/// `synth-city agents …`
#[derive(Subcommand, Debug)]
pub enum AgentsCmd {
    /// List the models Chutes (SN64) serves, with context length, features and price per 1M
    /// tokens; pick one with LLM_MODEL (or per agent).
    Models(models::Args),
    /// Export the transcripts of the pipeline's successful runs (plans that led to promoted
    /// champions, passing checks and fixes) as a JSONL chat training set.
    ExportDataset(export::Args),
    /// Run the same planning tasks through a base and a tuned model and score the plans'
    /// validity with the research backend's validator.
    CompareModels(compare::Args),
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Search(a) => search::run(a),
        Cmd::Agents {
            cmd: AgentsCmd::Models(a),
        } => models::run(a),
        Cmd::Agents {
            cmd: AgentsCmd::ExportDataset(a),
        } => export::run(a),
        Cmd::Agents {
            cmd: AgentsCmd::CompareModels(a),
        } => compare::run(a),
        Cmd::Social { cmd } => social::run(cmd),
        Cmd::Gradients { cmd } => gradients::run(cmd),
    }
}

/// A service failure as a CLI error: missing credentials and bad input exit 2, the rest 3.
pub fn service_error(e: ServiceError) -> CliError {
    match e {
        ServiceError::NotConfigured { .. } | ServiceError::Invalid(_) => {
            CliError::input(e.to_string())
        }
        e => CliError::runtime(e.to_string()),
    }
}

/// Runs a service call on a private runtime ([`block_on`]), its error mapped by
/// [`service_error`].
pub fn call<T>(
    fut: impl std::future::Future<Output = Result<T, ServiceError>>,
) -> Result<T, CliError> {
    block_on(fut)?.map_err(service_error)
}

/// Runs `fut` on a private single-threaded runtime (the CLI is synchronous).
pub fn block_on<T>(fut: impl std::future::Future<Output = T>) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(fut))
        .map_err(|e| CliError::runtime(format!("starting the async runtime: {e}")))
}
