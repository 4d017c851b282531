//! `synth-city autopilot`: the miner, periodic data sync, the research loop and champion
//! promotion with hot swap in one restartable service (crate `autopilot`); `autopilot status`
//! reads what it did.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::{CliError, CliResult};

/// Commands of the `autopilot` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Mine and improve what is mined, in one service: the miner (every `miner` flag applies),
    /// data sync from Pyth on a schedule, research rounds within a daily budget (the agents'
    /// built-in planner, or the LLM when one is configured), promotion of the best new run by a
    /// paired comparison with the champion, and hot swap of the new champion into the miner.
    /// Restartable at any point: the state lives next to the research registry. Ctrl-C or
    /// SIGTERM stops it cleanly. `autopilot status` reports.
    Autopilot(Box<AutopilotArgs>),
}

/// Options of `synth-city autopilot`.
#[derive(Args, Debug)]
pub struct AutopilotArgs {
    #[command(subcommand)]
    sub: Option<Sub>,
    #[command(flatten)]
    miner: super::miner::MinerArgs,
    /// Assets researched and promoted (comma-separated).
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_ASSETS", value_delimiter = ',', default_value = "BTC,ETH,SOL,XAU", value_parser = super::args::asset)]
    assets: Vec<String>,
    /// Competitions researched and promoted: 5m (LOW), 1m (HIGH).
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_TIMEFRAMES", value_delimiter = ',', default_value = "5m,1m", value_parser = super::args::timeframe())]
    timeframes: Vec<sn50::Timeframe>,
    /// Time between scheduled data syncs (s, m or h: 30s, 15m, 1h).
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_SYNC_EVERY", default_value = "15m", value_parser = duration)]
    sync_every: Duration,
    /// Time between research rounds.
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_RESEARCH_EVERY", default_value = "6h", value_parser = duration)]
    research_every: Duration,
    /// Time between promotion rounds (one also follows every research round).
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_PROMOTE_EVERY", default_value = "1h", value_parser = duration)]
    promote_every: Duration,
    /// How research proposes experiments: pipeline (the agents; the LLM when configured, else
    /// the built-in planner), builtin, llm, baselines (re-run --baselines on fresh data), off.
    #[arg(
        long,
        env = "SYNTH_CITY_AUTOPILOT_RESEARCH",
        default_value = "pipeline"
    )]
    research: String,
    /// The statistical baselines of `--research baselines`.
    #[arg(
        long,
        env = "SYNTH_CITY_AUTOPILOT_BASELINES",
        value_delimiter = ',',
        default_value = "garch_t,bootstrap_sess,mix_sess"
    )]
    baselines: Vec<String>,
    /// Experiments per pipeline round and asset × timeframe.
    #[arg(
        long,
        env = "SYNTH_CITY_AUTOPILOT_EXPERIMENTS_PER_ROUND",
        default_value_t = 4
    )]
    experiments_per_round: u32,
    /// Most experiments per UTC day.
    #[arg(
        long,
        env = "SYNTH_CITY_AUTOPILOT_DAILY_EXPERIMENTS",
        default_value_t = 48
    )]
    daily_experiments: u32,
    /// Most research wall-clock time per UTC day (s, m or h).
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_DAILY_COMPUTE", default_value = "6h", value_parser = duration)]
    daily_compute: Duration,
    /// Paired comparison: walk-forward folds.
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_FOLDS", default_value_t = 2)]
    folds: usize,
    /// Paired comparison: prompts per fold (folds × prompts must reach 100 per competition).
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_PROMPTS", default_value_t = 100)]
    prompts: usize,
    /// Seconds the step in progress gets to finish on Ctrl-C / SIGTERM.
    #[arg(long, env = "SYNTH_CITY_AUTOPILOT_STOP_GRACE", default_value_t = 30)]
    stop_grace_secs: u64,
    /// Stop after this many research rounds (and the promotion after the last); default: run
    /// until stopped.
    #[arg(long)]
    rounds: Option<u32>,
}

/// Subcommands of `autopilot`.
#[derive(Subcommand, Debug)]
enum Sub {
    /// What the autopilot did and does: each part's last round, the day's budget, the
    /// candidates compared, the champion served (reads its state file and the registry; works
    /// while it runs).
    Status {
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn duration(s: &str) -> Result<Duration, String> {
    market::timeparse::parse_resolution(s).map(|v| Duration::from_secs(u64::from(v)))
}

fn research_mode(a: &AutopilotArgs) -> Result<autopilot::ResearchMode, CliError> {
    use autopilot::ResearchMode as M;
    Ok(match a.research.as_str() {
        "pipeline" | "auto" => M::Pipeline(agents::Planner::Auto),
        "builtin" => M::Pipeline(agents::Planner::Builtin),
        "llm" => M::Pipeline(agents::Planner::Llm),
        "baselines" => M::Baselines(a.baselines.clone()),
        "off" => M::Off,
        other => {
            return Err(CliError::input(format!(
                "--research {other:?}: use pipeline, builtin, llm, baselines or off"
            )))
        }
    })
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    let Cmd::Autopilot(a) = cmd;
    match a.sub {
        Some(Sub::Status { json }) => status(json),
        None => serve(*a),
    }
}

fn status(json: bool) -> CliResult {
    let s = autopilot::status::read(&market::home::data_dir()).map_err(CliError::runtime)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&s).map_err(|e| CliError::runtime(e.to_string()))?
        );
    } else {
        print!("{}", autopilot::status::render_text(&s));
    }
    Ok(ExitCode::SUCCESS)
}

fn serve(a: AutopilotArgs) -> CliResult {
    let mut cfg = autopilot::AutopilotConfig::new(market::home::data_dir());
    cfg.assets = a.assets.clone();
    cfg.timeframes = a.timeframes.clone();
    cfg.sync_every = a.sync_every;
    cfg.research_every = a.research_every;
    cfg.promote_every = a.promote_every;
    cfg.research.mode = research_mode(&a)?;
    cfg.research.experiments_per_round = a.experiments_per_round;
    cfg.research.daily_experiments = a.daily_experiments;
    cfg.research.daily_compute = a.daily_compute;
    cfg.promote.folds = a.folds;
    cfg.promote.max_prompts = a.prompts;
    cfg.stop_grace = Duration::from_secs(a.stop_grace_secs);
    cfg.max_rounds = a.rounds;
    cfg.validate().map_err(CliError::input)?;
    if let autopilot::ResearchMode::Pipeline(p) = &cfg.research.mode {
        // Refuse `llm` without an LLM before anything starts.
        agents::choose_planner(*p).map_err(CliError::input)?;
    }
    let built = super::miner::build(&a.miner)?;
    let names: Vec<&str> = cfg.assets.iter().map(String::as_str).collect();
    let sync = built.autosync(&names)?.ok_or_else(|| {
        CliError::input("--no-auto-sync: the autopilot syncs data itself; leave it out")
    })?;
    let archive = research::Archive::open_default()
        .map_err(|e| CliError::runtime(format!("research archive: {e}")))?;
    let addr = built.addr;
    let (state, _chain_guard) = built.start_chain();
    // Promotion's comparisons go to the workers of SYNTH_CITY_WORKERS when it names any.
    let runner = super::worker::dispatch(research::ModelsRunner::new(), None)?;
    let service = autopilot::Autopilot::new(cfg, state, sync, Arc::new(archive))
        .map_err(|e| CliError::input(e.to_string()))?
        .with_runner(runner);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::runtime(format!("starting the async runtime: {e}")))?;
    let end = rt.block_on(async move {
        let shutdown = miner::serve::shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!(
            "synth-city autopilot: serving POST /Simulation and GET /metrics on {}; state in {}",
            listener.local_addr()?,
            autopilot::state::state_path(&market::home::data_dir()).display()
        );
        service
            .run(listener, shutdown)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
    });
    let state = end.map_err(|e| CliError::runtime(format!("autopilot on {addr}: {e}")))?;
    eprintln!(
        "synth-city autopilot: stopped ({} sync, {} research, {} promotion round(s) in all; {} swap(s))",
        state.sync.rounds, state.research.rounds, state.promote.rounds, state.swaps
    );
    Ok(ExitCode::SUCCESS)
}
