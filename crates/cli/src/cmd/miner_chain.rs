//! The miner's chain side: flags, the metagraph loaded from subtensor at start and re-synced in
//! the background, and `serve_axon` (at start, and again when the external address changes).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::{expand_home, MinerArgs};
use crate::CliError;
use miner::chain::{self, ChainGuard, ChainService, ExternalIp, ServePlan};

/// Chain options of `synth-city miner` (not used with --no-chain).
#[derive(Args, Debug)]
pub struct ChainArgs {
    /// Subtensor network: `finney` (the default), `test`, `archive`, `local`
    /// (ws://127.0.0.1:9944), or a `ws://` / `wss://` endpoint URL.
    #[arg(
        long,
        visible_alias = "subtensor-url",
        env = "SUBTENSOR_NETWORK",
        default_value = "finney"
    )]
    network: String,
    /// Subnet uid.
    #[arg(long, default_value_t = chain::DEFAULT_NETUID)]
    netuid: u16,
    /// Re-sync the metagraph (and check the published axon) every N blocks of 12 s; the last
    /// good metagraph is kept when a re-sync fails.
    #[arg(long, default_value_t = chain::service::DEFAULT_SYNC_BLOCKS, value_parser = clap::value_parser!(u32).range(1..))]
    sync_blocks: u32,
    /// Public IP validators reach this axon at, published with `serve_axon`. Without it the
    /// address is asked of --external-ip-url at start and at each re-sync, and published again
    /// when it changes.
    #[arg(long)]
    external_ip: Option<String>,
    /// Service that answers this machine's public IP as plain text (used without --external-ip).
    #[arg(long, env = "SYNTH_CITY_EXTERNAL_IP_URL", default_value = chain::external_ip::DEFAULT_ECHO_URL)]
    external_ip_url: String,
    /// Public port published with `serve_axon` (default: --port).
    #[arg(long)]
    external_port: Option<u16>,
    /// Do not publish the axon address (e.g. it is published some other way).
    #[arg(long)]
    no_serve_axon: bool,
}

/// The chain side, connected, with the first metagraph handed out.
pub struct Started {
    service: ChainService,
    serve: Option<ServePlan>,
    every: Duration,
}

impl Started {
    /// Starts the background re-sync (into `state`) and `serve_axon`; stops when the guard drops.
    pub fn run(self, state: Arc<miner::AxonState>) -> ChainGuard {
        self.service
            .spawn(self.every, self.serve, move |m| state.set_metagraph(m))
    }
}

/// What to publish, checked before connecting: the address (or where to detect it), the port
/// and the hotkey that signs.
fn serve_plan(a: &MinerArgs, hotkey: &str) -> Result<Option<ServePlan>, CliError> {
    let c = &a.chain;
    if c.no_serve_axon {
        return Ok(None);
    }
    let port = c.external_port.unwrap_or(a.port);
    let ip = match c.external_ip.as_deref() {
        Some(ip) => {
            let ip = chain::ip::parse_ip(ip)
                .map_err(|e| CliError::input(format!("--external-ip: {e}")))?;
            chain::ip::check_servable(ip, port).map_err(CliError::input)?;
            ExternalIp::Fixed(ip)
        }
        None => {
            if !(c.external_ip_url.starts_with("http://")
                || c.external_ip_url.starts_with("https://"))
            {
                return Err(CliError::input(
                    "--external-ip-url must be an http:// or https:// URL (or pass --external-ip IP)",
                ));
            }
            eprintln!(
                "synth-city miner: external IP asked of {} at each sync (--external-ip IP to fix it)",
                chain::redact_url(&c.external_ip_url)
            );
            ExternalIp::Detect(c.external_ip_url.clone())
        }
    };
    if port == 0 {
        return Err(CliError::input(
            "serve_axon needs a non-zero port: pass --external-port (or --no-serve-axon)",
        ));
    }
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
    Ok(Some(ServePlan {
        netuid: c.netuid,
        ip,
        port,
        keypair,
    }))
}

/// Connects, loads the metagraph (fatal on error) and prepares `serve_axon`.
pub fn start(a: &MinerArgs, hotkey: &str) -> Result<(Started, miner::Metagraph), CliError> {
    if a.metagraph.is_some() {
        return Err(CliError::input(
            "--metagraph FILE is for --no-chain runs; without --no-chain the metagraph comes from chain",
        ));
    }
    let c = &a.chain;
    let url = chain::network_url(&c.network).map_err(CliError::input)?;
    let serve = serve_plan(a, hotkey)?;
    let shown = chain::redact_url(&url);
    eprintln!(
        "synth-city miner: loading the netuid {} metagraph from {shown} (--no-chain --metagraph FILE to run offline)",
        c.netuid
    );
    let (service, rows) =
        ChainService::start(&url, c.netuid).map_err(|e| CliError::runtime(e.to_string()))?;
    let metagraph = rows.to_metagraph();
    let validators = rows.validator_permit.iter().filter(|p| **p).count();
    let every = chain::service::BLOCK_TIME * c.sync_blocks;
    eprintln!(
        "synth-city miner: metagraph: {} neurons, {validators} with a validator permit; re-synced every {} blocks ({}s)",
        metagraph.len(),
        c.sync_blocks,
        every.as_secs()
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
            every,
        },
        metagraph,
    ))
}
