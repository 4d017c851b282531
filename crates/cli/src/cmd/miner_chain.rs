//! The miner's chain side (`synth-city` built with `--features chain`): flags, the metagraph
//! loaded from subtensor at start and refreshed in the background, and `serve_axon`.

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{expand_home, MinerArgs};
use crate::CliError;
use miner::chain::{self, AxonEndpoint, ChainGuard, ChainService, Keypair};

/// Chain options of `synth-city miner` (not used with --no-chain).
#[derive(Args, Debug)]
pub struct ChainArgs {
    /// Subtensor RPC endpoint (`wss://…`; `ws://` for a local node).
    #[arg(long, env = "SUBTENSOR_URL", default_value = chain::DEFAULT_URL)]
    subtensor_url: String,
    /// Subnet uid.
    #[arg(long, default_value_t = chain::DEFAULT_NETUID)]
    netuid: u16,
    /// Seconds between metagraph refreshes from chain (the last good one is kept on error).
    #[arg(long, default_value_t = chain::service::DEFAULT_REFRESH.as_secs())]
    metagraph_refresh_secs: u64,
    /// Public IP validators reach this axon at, published with `serve_axon` (required unless
    /// --no-serve-axon).
    #[arg(long)]
    external_ip: Option<String>,
    /// Public port published with `serve_axon` (default: --port).
    #[arg(long)]
    external_port: Option<u16>,
    /// Do not publish the axon address (e.g. it is already on chain).
    #[arg(long)]
    no_serve_axon: bool,
}

/// The chain side, connected, with the first metagraph handed out.
pub struct Started {
    service: ChainService,
    serve: Option<(AxonEndpoint, Keypair)>,
    every: Duration,
}

impl Started {
    /// Starts the background refresh (into `state`) and `serve_axon`; stops when the guard drops.
    pub fn run(self, state: Arc<miner::AxonState>) -> ChainGuard {
        self.service
            .spawn(self.every, self.serve, move |m| state.set_metagraph(m))
    }
}

/// What to publish, checked before connecting: the endpoint and the hotkey that signs it.
fn serve_plan(a: &MinerArgs, hotkey: &str) -> Result<Option<(AxonEndpoint, Keypair)>, CliError> {
    let c = &a.chain;
    if c.no_serve_axon {
        return Ok(None);
    }
    let ip = c.external_ip.as_deref().ok_or_else(|| {
        CliError::input(
            "--external-ip IP is required to publish the axon with serve_axon (or pass --no-serve-axon)",
        )
    })?;
    let ip = chain::ip::parse_ip(ip).map_err(|e| CliError::input(format!("--external-ip: {e}")))?;
    let port = c.external_port.unwrap_or(a.port);
    chain::ip::check_servable(ip, port).map_err(CliError::input)?;
    if a.hotkey.is_some() {
        return Err(CliError::input(
            "serve_axon is signed by the hotkey: use the wallet flags instead of --hotkey (or pass --no-serve-axon)",
        ));
    }
    let path = miner::wallet::hotkey_path(
        &expand_home(&a.wallet_path),
        &a.wallet_name,
        &a.wallet_hotkey,
    );
    let (keypair, ss58) =
        chain::hotkey_keypair(&path).map_err(|e| CliError::input(e.to_string()))?;
    debug_assert_eq!(ss58, hotkey);
    Ok(Some((AxonEndpoint::new(c.netuid, ip, port), keypair)))
}

/// Connects, loads the metagraph (fatal on error) and prepares `serve_axon`.
pub fn start(a: &MinerArgs, hotkey: &str) -> Result<(Started, miner::Metagraph), CliError> {
    if a.metagraph.is_some() {
        return Err(CliError::input(
            "--metagraph FILE is for --no-chain runs; without --no-chain the metagraph comes from chain",
        ));
    }
    let c = &a.chain;
    let serve = serve_plan(a, hotkey)?;
    let shown = chain::redact_url(&c.subtensor_url);
    eprintln!(
        "synth-city miner: loading the netuid {} metagraph from {shown}",
        c.netuid
    );
    let (service, rows) = ChainService::start(&c.subtensor_url, c.netuid)
        .map_err(|e| CliError::runtime(e.to_string()))?;
    let metagraph = rows.to_metagraph();
    let validators = rows.validator_permit.iter().filter(|p| **p).count();
    eprintln!(
        "synth-city miner: metagraph: {} neurons, {validators} with a validator permit; refreshed every {}s",
        metagraph.len(),
        c.metagraph_refresh_secs.max(1)
    );
    if metagraph.get(hotkey).is_none() {
        eprintln!(
            "synth-city miner: warning: hotkey {hotkey} is not registered on netuid {}: validators will not query this axon",
            c.netuid
        );
    }
    Ok((
        Started {
            service,
            serve,
            every: Duration::from_secs(c.metagraph_refresh_secs.max(1)),
        },
        metagraph,
    ))
}
