//! `synth-city`: the one binary. Each area of the engine owns one module under `cmd/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod error;
mod pipe;

pub use error::{CliError, CliResult};

/// synth-city: research, train, check and ship forecasting models for Bittensor SN50 (Synth).
///
/// SN50 validators ask for 1,000 Monte Carlo price paths per prompt and score them with CRPS.
/// synth-city replicates that scoring bit for bit and runs the research loop around it.
/// Works offline with no keys; real services switch on through environment variables.
#[derive(Parser, Debug)]
#[command(name = "synth-city", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace). RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    #[command(flatten)]
    Sn50(cmd::sn50::Cmd),
    #[command(flatten)]
    Market(cmd::market::Cmd),
    #[command(flatten)]
    Models(cmd::models::Cmd),
    #[command(flatten)]
    Research(cmd::research::Cmd),
    #[command(flatten)]
    Agents(cmd::agents::Cmd),
    #[command(flatten)]
    Miner(cmd::miner::Cmd),
    #[command(flatten)]
    Autopilot(cmd::autopilot::Cmd),
    #[command(flatten)]
    Bridge(cmd::bridge::Cmd),
    #[command(flatten)]
    Backtest(cmd::backtest::Cmd),
    #[command(flatten)]
    Worker(cmd::worker::Cmd),
    #[command(flatten)]
    Compute(cmd::compute::Cmd),
    #[command(flatten)]
    Intel(cmd::intel::Cmd),
    #[command(flatten)]
    Moltbook(cmd::moltbook::Cmd),
    #[command(flatten)]
    Publish(cmd::publish::Cmd),
}

impl Command {
    /// Long-running services: they keep SIGPIPE ignored (see `pipe`).
    fn is_service(&self) -> bool {
        matches!(
            self,
            Command::Miner(_)
                | Command::Autopilot(_)
                | Command::Worker(_)
                | Command::Bridge(cmd::bridge::Cmd::Bridge { .. })
        )
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Colour only on a terminal: logs sent to a file or a pipe stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .with_target(false)
        .try_init();
}

fn main() -> ExitCode {
    // Tensor ops allocate large buffers per op: keep freed memory instead of unmapping it.
    models::alloc::keep_freed_memory();
    // Rayon workers flush denormals (models::fpenv; training and sampling scope it themselves).
    models::fpenv::install();
    // `.env` files first: they may set what the arguments' defaults read.
    cmd::env::load();
    let cli = Cli::parse();
    if !cli.command.is_service() {
        pipe::die_quietly_on_closed_stdout();
    }
    init_tracing(cli.verbose);
    let result = match cli.command {
        Command::Sn50(c) => cmd::sn50::run(c),
        Command::Market(c) => cmd::market::run(c),
        Command::Models(c) => cmd::models::run(c),
        Command::Research(c) => cmd::research::run(c),
        Command::Agents(c) => cmd::agents::run(c),
        Command::Miner(c) => cmd::miner::run(c),
        Command::Autopilot(c) => cmd::autopilot::run(c),
        Command::Bridge(c) => cmd::bridge::run(c),
        Command::Backtest(c) => cmd::backtest::run(c),
        Command::Worker(c) => cmd::worker::run(c),
        Command::Compute(c) => cmd::compute::run(c),
        Command::Intel(c) => cmd::intel::run(c),
        Command::Moltbook(c) => cmd::moltbook::run(c),
        Command::Publish(c) => cmd::publish::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.code)
        }
    }
}

#[cfg(test)]
mod tests {
    /// clap checks the whole command tree (unique argument names — a subcommand's own
    /// `--version` clashed with the program's —, valid defaults) only in debug builds and only
    /// for the command that runs; this checks every command at once.
    #[test]
    fn every_command_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
