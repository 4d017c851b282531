//! Commands of the `research` area: the run history, champions and the artifact store.

mod champion;
mod history;
mod store;

use clap::Subcommand;

use crate::{CliError, CliResult};

/// Commands of the `research` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List past runs (best, most recent or worst first), or show one run in detail.
    History(history::HistoryArgs),
    /// The promoted champions the miner serves (default: list), their history, and
    /// `promote RUN` (paired comparison on the same prompts) / `rollback`.
    Champion(champion::ChampionCmdArgs),
    /// Sync the artifact store with the remote (Hippius S3), restore from it, or show status.
    Store {
        #[command(subcommand)]
        cmd: store::StoreCmd,
    },
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::History(a) => history::history(a),
        Cmd::Champion(a) => champion::champion(a),
        Cmd::Store { cmd } => store::run(cmd),
    }
}

/// Maps a research error to the CLI's exit codes: bad input → 2, everything else → 3.
fn cli_err(e: research::ResearchError) -> CliError {
    use research::ErrorKind as K;
    match e.kind {
        K::InvalidConfig | K::NotFound => CliError::input(e.to_string()),
        _ => CliError::runtime(e.to_string()),
    }
}

/// Prints `value` as pretty JSON on stdout.
fn print_json<T: serde::Serialize>(value: &T) -> Result<(), CliError> {
    let s =
        serde_json::to_string_pretty(value).map_err(|e| CliError::runtime(format!("json: {e}")))?;
    println!("{s}");
    Ok(())
}

/// A number with 3 decimals, or `-`.
fn num(v: Option<f64>) -> String {
    v.filter(|x| x.is_finite())
        .map(|x| format!("{x:.3}"))
        .unwrap_or_else(|| "-".into())
}
