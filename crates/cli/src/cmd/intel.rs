//! Commands of the intelligence services (Bittensor subnets synth-city's agents and bots build
//! on): `synth-city search` (Desearch, SN22) and `synth-city agents models` (Chutes, SN64).
//! Each needs its service's key in the environment or `.env`; without it the command says which
//! variable to set.

mod models;
pub mod openclaw_chutes;
mod search;

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
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Search(a) => search::run(a),
        Cmd::Agents {
            cmd: AgentsCmd::Models(a),
        } => models::run(a),
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

/// Runs `fut` on a private single-threaded runtime (the CLI is synchronous).
pub fn block_on<T>(fut: impl std::future::Future<Output = T>) -> Result<T, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map(|rt| rt.block_on(fut))
        .map_err(|e| CliError::runtime(format!("starting the async runtime: {e}")))
}
