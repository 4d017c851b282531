//! Commands of the `bridge` area.

use clap::Subcommand;

use crate::CliResult;

/// Commands of the `bridge` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {}
}
