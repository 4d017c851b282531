//! Commands of the `sn50` area: score predictions like a validator, validate a response, print
//! the prompt configs.

use std::path::Path;

use clap::{Subcommand, ValueEnum};

use crate::{CliError, CliResult};

mod config;
mod score;
mod validate;

/// Commands of the `sn50` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Score predictions against realised prices exactly as an SN50 validator does (CRPS per
    /// interval, bit for bit; with several predictions also the prompt scores).
    Score(score::Args),
    /// Check a miner response with the validator's rules; prints CORRECT or its exact error
    /// (exit 1 on an error).
    Validate(validate::Args),
    /// SN50 protocol constants.
    Sn50 {
        #[command(subcommand)]
        cmd: Sn50Cmd,
    },
}

/// `synth-city sn50 …` subcommands.
#[derive(Subcommand, Debug)]
pub enum Sn50Cmd {
    /// Print the LOW (24 h) and HIGH (1 h) prompt configs with every validator field.
    Config(config::Args),
}

/// Which prompt competition.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// 24 h at 5-minute steps.
    Low,
    /// 1 h at 1-minute steps.
    High,
}

impl Prompt {
    fn config(self) -> &'static sn50::PromptConfig {
        match self {
            Prompt::Low => &sn50::LOW,
            Prompt::High => &sn50::HIGH,
        }
    }
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Score(a) => score::run(a),
        Cmd::Validate(a) => validate::run(a),
        Cmd::Sn50 {
            cmd: Sn50Cmd::Config(a),
        } => config::run(a),
    }
}

/// Reads a whole file; the error names the file.
fn read_file(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path)
        .map_err(|e| CliError::input(format!("{}: cannot read: {e}", path.display())))
}

/// `PathBuf` display helper for messages.
fn shown(p: &Path) -> String {
    p.display().to_string()
}
