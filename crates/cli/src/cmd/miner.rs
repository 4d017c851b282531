//! Commands of the `miner` area.

use clap::Subcommand;

use crate::CliResult;

/// Commands of the `miner` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {}
}
