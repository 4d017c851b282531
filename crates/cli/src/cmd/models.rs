//! Commands of the `models` area: list blocks, heads and presets; run an experiment, a quick
//! demo, or a sweep of presets scored like the SN50 validators against the reference GBM.

use clap::Subcommand;

use crate::{CliError, CliResult};

pub mod components;
mod list;
mod run;

/// Commands of the `models` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// List the backbone blocks (name, hyperparameters, defaults).
    Blocks {
        /// Print JSON (with each block's JSON schema).
        #[arg(long)]
        json: bool,
    },
    /// List the heads (stochastic processes the network parameterises).
    Heads {
        /// Print JSON (with each head's JSON schema).
        #[arg(long)]
        json: bool,
    },
    /// User components (declarative blocks and heads, scripts): add, list, show, remove.
    Components {
        #[command(subcommand)]
        cmd: components::Cmd,
    },
    /// List the named presets: every statistical baseline and a neural model per head/block.
    Presets {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Train and evaluate one model walk-forward against the reference GBM.
    Experiment {
        /// Comma-separated blocks (e.g. lstm or revin,transformer); or a baseline with --baseline.
        #[arg(long, value_delimiter = ',', required_unless_present = "baseline")]
        blocks: Vec<String>,
        /// Head name.
        #[arg(long, default_value = "student_t")]
        head: String,
        /// Run a statistical baseline instead of a neural model (gbm, garch_t, bootstrap, …).
        #[arg(long, conflicts_with = "blocks")]
        baseline: Option<String>,
        /// 5m (LOW, 24 h at 5 min) or 1m (HIGH, 1 h at 1 min).
        #[arg(long, default_value = "5m", value_parser = crate::cmd::args::timeframe())]
        timeframe: sn50::Timeframe,
        #[command(flatten)]
        common: run::Common,
    },
    /// A tiny experiment that finishes in about a minute (MLP + Student-t, 1 fold, few prompts).
    Quick {
        /// 5m (LOW, 24 h at 5 min) or 1m (HIGH, 1 h at 1 min).
        #[arg(long, default_value = "5m", value_parser = crate::cmd::args::timeframe())]
        timeframe: sn50::Timeframe,
        #[command(flatten)]
        common: run::Common,
    },
    /// Run presets over assets and both competitions; a table and the SN50-weighted ratio to the
    /// reference GBM per competition.
    Sweep {
        /// Comma-separated presets (default: every statistical baseline).
        #[arg(long, value_delimiter = ',')]
        presets: Vec<String>,
        /// Comma-separated assets (default: the competition's SN50 assets that have real data;
        /// all of them with --synthetic).
        #[arg(long, value_delimiter = ',', value_parser = crate::cmd::args::asset)]
        assets: Vec<String>,
        /// 5m (LOW), 1m (HIGH) or both.
        #[arg(long, default_value = "both", value_parser = crate::cmd::args::timeframes)]
        timeframe: &'static [sn50::Timeframe],
        /// Print what would run (presets, assets per competition, folds, prompts) and stop.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        common: run::Common,
    },
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Blocks { json } => list::components(
            models::registry::blocks(),
            components::user_listed(research::ComponentKind::Block),
            "blocks",
            json,
        ),
        Cmd::Heads { json } => list::components(
            models::registry::heads(),
            components::user_listed(research::ComponentKind::Head),
            "heads",
            json,
        ),
        Cmd::Components { cmd } => components::run(cmd),
        Cmd::Presets { json } => list::presets(json),
        Cmd::Experiment {
            blocks,
            head,
            baseline,
            timeframe,
            common,
        } => run::experiment(&blocks, &head, baseline.as_deref(), timeframe, &common),
        Cmd::Quick { timeframe, common } => run::quick(timeframe, common),
        Cmd::Sweep {
            presets,
            assets,
            timeframe,
            dry_run,
            common,
        } => run::sweep(&presets, &assets, timeframe, &common, dry_run),
    }
}

fn json_out(v: &impl serde::Serialize) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v).map_err(|e| CliError::runtime(format!("json: {e}")))?;
    println!("{s}");
    Ok(())
}
