//! Commands of the `miner` area.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::{CliError, CliResult};

#[path = "miner_chain.rs"]
mod chain;

/// Commands of the `miner` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Serve SN50 validators: an axon answering `POST /Simulation` (metrics at `/metrics`).
    Miner(MinerArgs),
}

/// Options of `synth-city miner`.
#[derive(Args, Debug)]
pub struct MinerArgs {
    /// Address to bind.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Port to bind (the axon port published on chain).
    #[arg(long, default_value_t = 8091)]
    port: u16,
    /// Bittensor wallets folder.
    #[arg(
        long,
        env = "SYNTH_CITY_WALLET_PATH",
        default_value = "~/.bittensor/wallets"
    )]
    wallet_path: String,
    /// Wallet name.
    #[arg(long, env = "SYNTH_CITY_WALLET_NAME", default_value = "default")]
    wallet_name: String,
    /// Hotkey name in the wallet.
    #[arg(long, env = "SYNTH_CITY_WALLET_HOTKEY", default_value = "default")]
    wallet_hotkey: String,
    /// This miner's hotkey SS58 address, instead of reading the wallet file.
    #[arg(long)]
    hotkey: Option<String>,
    /// Metagraph JSON (`{"neurons":[{uid,hotkey,stake,validator_permit}]}` or bittensor
    /// columns `{"hotkeys","S","validator_permit"}`) for the blacklist.
    #[arg(long)]
    metagraph: Option<PathBuf>,
    /// Do not contact the chain (offline use): the metagraph comes from --metagraph and the
    /// axon is not published.
    #[arg(long)]
    no_chain: bool,
    #[command(flatten)]
    chain: chain::ChainArgs,
    /// Refuse callers whose stake weight is at or below this.
    #[arg(long, default_value_t = 0.0)]
    min_stake: f64,
    /// Serve registered hotkeys without a validator permit too.
    #[arg(long)]
    no_force_validator_permit: bool,
    /// Serve hotkeys that are not in the metagraph (local testing only).
    #[arg(long)]
    allow_non_registered: bool,
    /// Static start prices, a JSON object `{"BTC": 97000.5}` (offline runs); else live Pyth
    /// prices from --pyth-backend.
    #[arg(long)]
    price_file: Option<PathBuf>,
    /// Live price service, as the reference miner's PYTH_BACKEND: `hermes` (Pyth Hermes) or
    /// `pro` (Pyth Pro / Lazer with the PYTH_API_KEY bearer key; WTIOIL from Hyperliquid).
    #[arg(long, env = "PYTH_BACKEND", default_value = "hermes")]
    pyth_backend: String,
    /// Pyth Hermes base URL (`hermes` backend).
    #[arg(long, env = "PYTH_HERMES_URL", default_value = miner::prices::HERMES_DEFAULT_URL)]
    pyth_url: String,
    /// Pyth Lazer base URL (`pro` backend).
    #[arg(long, env = "PYTH_LAZER_URL", default_value = miner::prices::LAZER_DEFAULT_URL)]
    pyth_lazer_url: String,
    /// Hyperliquid API base URL (`pro` backend, WTIOIL).
    #[arg(long, env = "HYPERLIQUID_URL", default_value = miner::prices::HYPERLIQUID_DEFAULT_URL)]
    hyperliquid_url: String,
    /// Answers computed at once.
    #[arg(long, default_value_t = 2)]
    max_concurrent: usize,
    /// Answer every prompt with the reference GBM, ignoring the research registry's champions.
    #[arg(long)]
    gbm_only: bool,
    /// Device neural champions sample on: cpu, cuda, cuda:N or auto (CUDA GPU 0 when this
    /// build has the `cuda` feature and a GPU answers, else the CPU).
    #[arg(long, default_value = "auto", env = "SYNTH_CITY_DEVICE")]
    device: models::device::DeviceChoice,
    /// Seconds between reloads of the champions (from the registry in $SYNTH_CITY_HOME) and
    /// of the history they condition on (market cache, else the shared data folder).
    #[arg(long, default_value_t = 600)]
    refresh_secs: u64,
    /// Seconds after which a history series' newest candle counts as stale: said at start, in
    /// the log when a request meets it, and in `/metrics` (`synth_miner_history_stale`).
    #[arg(long, env = "SYNTH_CITY_MAX_HISTORY_AGE", default_value_t = miner::history::DEFAULT_MAX_AGE.as_secs())]
    max_history_age_secs: u64,
    /// Do not sync stale history from Pyth (by default the miner checks the age of its history
    /// at start and on requests, at most every 5 minutes, and syncs the stale series into the
    /// market cache in the background: `synth_miner_history_sync*` in `/metrics`).
    #[arg(long, env = "SYNTH_CITY_NO_AUTO_SYNC")]
    no_auto_sync: bool,
    /// Furthest back an automatic sync reaches, in days (older gaps stay gaps).
    #[arg(long, env = "SYNTH_CITY_SYNC_MAX_DAYS", default_value_t = miner::autosync::DEFAULT_MAX_DAYS)]
    sync_max_days: u32,
}

/// SN50 assets whose champions are loaded at startup.
const ASSETS: [&str; 12] = sn50::Asset::ALL_NAMES;

/// The champion source: the registry's promoted champions in `$SYNTH_CITY_HOME` unless
/// `--gbm-only`, and the default model (`models::baselines::DEFAULT_MODEL`) where none was
/// promoted or there is no registry (said on stderr).
fn champions(a: &MinerArgs) -> Arc<dyn miner::ChampionSource> {
    if a.gbm_only {
        eprintln!("synth-city miner: --gbm-only: every answer comes from the reference GBM");
        return Arc::new(miner::NoChampions);
    }
    match miner::RegistryChampions::open_default() {
        Ok(r) => {
            eprintln!(
                "synth-city miner: champions from {} (neural ones sample on {})",
                r.registry_path().display(),
                a.device.resolved_name()
            );
            Arc::new(miner::OrDefault::new(r.with_device(a.device)))
        }
        Err(e) => {
            eprintln!(
                "synth-city miner: {e}; every answer comes from the default model ({})",
                models::baselines::DEFAULT_MODEL
            );
            Arc::new(miner::OrDefault::new(miner::NoChampions))
        }
    }
}

/// The live price feed of --pyth-backend; `pro` without PYTH_API_KEY is refused at start-up
/// (every Lazer request would fail). The key is never printed.
fn live_prices(a: &MinerArgs) -> Result<miner::PriceFeed, CliError> {
    let backend: miner::prices::PriceBackend = a.pyth_backend.parse().map_err(CliError::input)?;
    let key = std::env::var("PYTH_API_KEY").ok();
    let feed = match backend {
        miner::prices::PriceBackend::Hermes => miner::PriceFeed::hermes(a.pyth_url.clone(), key),
        miner::prices::PriceBackend::Pro => {
            miner::PriceFeed::pro(a.pyth_lazer_url.clone(), a.hyperliquid_url.clone(), key)
        }
    };
    if backend == miner::prices::PriceBackend::Pro && !feed.has_api_key() {
        return Err(CliError::input(
            "PYTH_BACKEND=pro (Pyth Lazer) needs an API key: set PYTH_API_KEY, or use --pyth-backend hermes",
        ));
    }
    Ok(feed)
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(p),
    }
}

/// Says at start how fresh the champions' history is (stale series are named).
fn report_history(answerer: &miner::Answerer) {
    let ages = answerer.history().ages();
    if ages.is_empty() {
        return;
    }
    let stale: Vec<String> = ages
        .iter()
        .filter(|a| a.stale)
        .map(|a| match a.age_secs {
            Some(s) => format!(
                "{} {}s ({:.1} h old)",
                a.asset,
                a.resolution_secs,
                s as f64 / 3600.0
            ),
            None => format!("{} {}s (empty)", a.asset, a.resolution_secs),
        })
        .collect();
    if stale.is_empty() {
        eprintln!(
            "synth-city miner: history: {} series, all fresh",
            ages.len()
        );
    } else {
        eprintln!(
            "synth-city miner: warning: stale history ({} of {} series): {}; the miner syncs it from Pyth in the background (`synth-city data sync` does it by hand)",
            stale.len(),
            ages.len(),
            stale.join(", ")
        );
    }
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Miner(a) => miner_cmd(a),
    }
}

fn miner_cmd(a: MinerArgs) -> CliResult {
    let built = build(&a)?;
    let sync = built.autosync(&ASSETS)?;
    if let Some(sync) = &sync {
        built.state.set_autosync(sync.clone());
        // The start check: a stale history is synced in the background while serving.
        sync.check_now();
    }
    let addr = built.addr;
    let (state, _chain_guard) = built.start_chain();
    miner::serve_blocking(addr, state)
        .map_err(|e| CliError::runtime(format!("axon on {addr}: {e}")))?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// The miner built from its flags, not serving yet (`miner` and `autopilot` serve it).
pub(crate) struct Built {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The axon's state.
    pub state: Arc<miner::AxonState>,
    history: Arc<dyn miner::HistorySource>,
    max_history_age: Duration,
    auto_sync: bool,
    sync_max_days: u32,
    chain_side: Option<chain::Started>,
}

impl Built {
    /// The history auto-sync of `assets` at 1 and 5 minutes (`None` with --no-auto-sync).
    pub fn autosync(&self, assets: &[&str]) -> Result<Option<Arc<miner::AutoSync>>, CliError> {
        if !self.auto_sync {
            return Ok(None);
        }
        let pyth =
            market::pyth::PythConfig::from_env().map_err(|e| CliError::input(e.to_string()))?;
        let series = assets
            .iter()
            .flat_map(|a| [(a.to_string(), 300), (a.to_string(), 60)])
            .collect();
        let cfg = miner::AutoSyncConfig {
            max_age: self.max_history_age,
            check_every: miner::autosync::DEFAULT_CHECK_EVERY,
            max_days: self.sync_max_days,
            series,
        };
        Ok(Some(Arc::new(miner::AutoSync::new(
            cfg,
            pyth,
            market::Cache::open_default(),
            self.history.clone(),
        ))))
    }

    /// Starts the chain side (metagraph re-sync, `serve_axon`) unless --no-chain; it stops
    /// when the guard drops.
    pub fn start_chain(self) -> (Arc<miner::AxonState>, Option<miner::chain::ChainGuard>) {
        let guard = self.chain_side.map(|side| side.run(self.state.clone()));
        (self.state, guard)
    }
}

/// Builds the miner from its flags: hotkey, metagraph (chain or file), prices, champions,
/// history (warmed and reported).
pub(crate) fn build(a: &MinerArgs) -> Result<Built, CliError> {
    let addr: SocketAddr = format!("{}:{}", a.host, a.port)
        .parse()
        .map_err(|e| CliError::input(format!("invalid --host/--port: {e}")))?;
    a.device
        .resolve()
        .map_err(|e| CliError::input(format!("--device: {e}")))?;
    let hotkey = match &a.hotkey {
        Some(h) => {
            miner::ss58::decode(h).map_err(|e| CliError::input(format!("--hotkey {h}: {e}")))?;
            h.clone()
        }
        None => {
            let p = miner::wallet::hotkey_path(
                &expand_home(&a.wallet_path),
                &a.wallet_name,
                &a.wallet_hotkey,
            );
            miner::read_hotkey(&p)
                .map_err(|e| CliError::input(e.to_string()))?
                .ss58
        }
    };
    let (chain_side, metagraph) = if a.no_chain {
        (None, None)
    } else {
        let (side, m) = chain::start(a, &hotkey)?;
        (Some(side), Some(m))
    };
    let metagraph = match (metagraph, &a.metagraph) {
        (Some(from_chain), _) => from_chain,
        (None, Some(p)) => miner::Metagraph::load(p).map_err(|e| CliError::input(e.to_string()))?,
        (None, None) if a.allow_non_registered => miner::Metagraph::default(),
        (None, None) => {
            return Err(CliError::input(
                "--metagraph FILE is required with --no-chain (or --allow-non-registered for local tests)",
            ))
        }
    };
    let prices = match &a.price_file {
        Some(p) => miner::PriceFeed::from_file(p).map_err(|e| CliError::input(e.to_string()))?,
        None => live_prices(a)?,
    };
    let policy = miner::BlacklistPolicy {
        allow_non_registered: a.allow_non_registered,
        force_validator_permit: !a.no_force_validator_permit,
        min_stake: a.min_stake,
    };
    let refresh = Duration::from_secs(a.refresh_secs.max(1));
    let cache = miner::ModelCache::new(champions(a), refresh);
    let history = miner::MarketHistory::new(refresh)
        .with_max_age(Duration::from_secs(a.max_history_age_secs));
    let history: Arc<dyn miner::HistorySource> = Arc::new(history);
    let answerer = miner::Answerer::new(cache, history.clone());
    answerer.warm(&ASSETS);
    report_history(&answerer);
    let config = miner::AxonConfig {
        hotkey,
        policy,
        max_concurrent_answers: a.max_concurrent,
        seed_salt: std::process::id() as u64 ^ 0x5eed,
        self_check: true,
    };
    let state = Arc::new(miner::AxonState::new(config, metagraph, answerer, prices));
    Ok(Built {
        addr,
        state,
        history,
        max_history_age: Duration::from_secs(a.max_history_age_secs),
        auto_sync: !a.no_auto_sync,
        sync_max_days: a.sync_max_days,
        chain_side,
    })
}
