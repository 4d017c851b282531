//! [`ChainService`]: the miner's chain side. It owns a small tokio runtime of its own (the axon
//! has another), loads the metagraph once at start (an error there is fatal: no blacklist, no
//! miner), then in the background keeps the axon published with `serve_axon` (checked at each
//! tick against the chain's `Axons` entry, so a changed external address is published again)
//! and re-syncs the metagraph periodically, keeping the last good one when a re-sync fails and
//! reconnecting for the next try.

use std::time::{Duration, Instant};

use subxt_signer::sr25519::Keypair;

use super::axon_call::AxonEndpoint;
use super::client::{ChainClient, ServeOutcome};
use super::external_ip::{self, ExternalIp};
use super::ip::check_servable;
use super::subnet_state::SubnetRows;
use super::{redact_url, ChainError};
use crate::metagraph::Metagraph;

/// Subtensor's block time.
pub const BLOCK_TIME: Duration = Duration::from_secs(12);
/// Default blocks between re-syncs (bittensor's reference miner syncs every epoch-ish few
/// minutes): 25 blocks, 5 minutes.
pub const DEFAULT_SYNC_BLOCKS: u32 = 25;

/// Applies refresh results to the axon's metagraph: a good one replaces it, a failure keeps the
/// last good one and is logged with its age.
#[derive(Debug)]
pub struct Refresher {
    last_ok: Instant,
    failures: u32,
}

impl Default for Refresher {
    fn default() -> Self {
        Self::new()
    }
}

impl Refresher {
    /// Starts counting from a metagraph loaded now.
    pub fn new() -> Self {
        Self {
            last_ok: Instant::now(),
            failures: 0,
        }
    }

    /// Consecutive failed refreshes.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Hands a good metagraph to `sink` (true), or logs the error and keeps the old one (false).
    pub fn apply(
        &mut self,
        result: Result<Metagraph, ChainError>,
        sink: &dyn Fn(Metagraph),
    ) -> bool {
        match result {
            Ok(m) if m.is_empty() => {
                self.failures += 1;
                tracing::warn!(
                    age_s = self.last_ok.elapsed().as_secs(),
                    "metagraph refresh returned no neurons; keeping the last good metagraph"
                );
                false
            }
            Ok(m) => {
                tracing::info!(neurons = m.len(), "metagraph refreshed from chain");
                sink(m);
                self.last_ok = Instant::now();
                self.failures = 0;
                true
            }
            Err(e) => {
                self.failures += 1;
                tracing::warn!(
                    error = %e,
                    failures = self.failures,
                    age_s = self.last_ok.elapsed().as_secs(),
                    "metagraph refresh failed; keeping the last good metagraph"
                );
                false
            }
        }
    }
}

/// The chain side of a running miner.
pub struct ChainService {
    rt: tokio::runtime::Runtime,
    client: ChainClient,
    url: String,
}

impl std::fmt::Debug for ChainService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainService")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

impl ChainService {
    /// Connects and reads the subnet state (blocking); the metagraph is
    /// [`SubnetRows::to_metagraph`] of it.
    pub fn start(url: &str, netuid: u16) -> Result<(Self, SubnetRows), ChainError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("chain")
            .enable_all()
            .build()
            .map_err(|e| ChainError::Connect {
                url: redact_url(url),
                msg: format!("cannot start the chain runtime: {e}"),
            })?;
        let (client, rows) = rt.block_on(async {
            let client = ChainClient::connect(url, netuid).await?;
            let rows = client.subnet_rows().await?;
            Ok::<_, ChainError>((client, rows))
        })?;
        Ok((
            Self {
                rt,
                client,
                url: url.to_string(),
            },
            rows,
        ))
    }

    /// The endpoint, without credentials.
    pub fn url(&self) -> &str {
        self.client.url()
    }

    /// Runs the background work: at start and after every `every`, `serve_axon` of `serve`
    /// (when set) unless the chain already holds its endpoint (so a changed external address,
    /// or an axon changed by someone else, is published again; a failure is retried at the
    /// next tick), then a metagraph re-sync, each good one handed to `sink`. Returns a guard;
    /// the work stops when it is dropped.
    pub fn spawn(
        self,
        every: Duration,
        serve: Option<ServePlan>,
        sink: impl Fn(Metagraph) + Send + Sync + 'static,
    ) -> ChainGuard {
        let Self { rt, client, url } = self;
        let every = every.max(Duration::from_millis(100));
        rt.spawn(async move {
            let netuid = client.netuid();
            let mut client = Some(client);
            let mut publisher = serve.map(Publisher::new);
            let mut refresher = Refresher::new();
            loop {
                if client.is_none() {
                    match ChainClient::connect(&url, netuid).await {
                        Ok(c) => client = Some(c),
                        Err(e) => tracing::warn!(error = %e, "subtensor reconnect failed"),
                    }
                }
                if let (Some(c), Some(p)) = (&client, &mut publisher) {
                    p.tick(c, every).await;
                }
                tokio::time::sleep(every).await;
                let result = match &client {
                    Some(c) => c.metagraph().await,
                    None => Err(ChainError::Connect {
                        url: redact_url(&url),
                        msg: "not connected".into(),
                    }),
                };
                if result.is_err() {
                    client = None; // reconnect before the next try
                }
                refresher.apply(result, &sink);
            }
        });
        ChainGuard { rt: Some(rt) }
    }
}

/// What `serve_axon` publishes: the subnet, the address (fixed or detected at each sync), the
/// port and the hotkey that signs.
pub struct ServePlan {
    /// Subnet.
    pub netuid: u16,
    /// The external address, or where to ask for it.
    pub ip: ExternalIp,
    /// The external port.
    pub port: u16,
    /// The hotkey's keypair.
    pub keypair: Keypair,
}

impl std::fmt::Debug for ServePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServePlan")
            .field("netuid", &self.netuid)
            .field("ip", &self.ip)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Keeps the axon published: remembers the endpoint last found on chain, so that only changes
/// are logged.
struct Publisher {
    plan: ServePlan,
    http: Option<reqwest::Client>,
    published: Option<AxonEndpoint>,
}

impl Publisher {
    fn new(plan: ServePlan) -> Self {
        let http = match external_ip::http_client() {
            Ok(h) => Some(h),
            Err(e) => {
                tracing::warn!(error = %e, "external IP detection unavailable");
                None
            }
        };
        Self {
            plan,
            http,
            published: None,
        }
    }

    async fn tick(&mut self, c: &ChainClient, every: Duration) {
        let ip = match (&self.plan.ip, &self.http) {
            (ExternalIp::Fixed(ip), _) => Ok(*ip),
            (detect, Some(http)) => detect.resolve(http).await,
            (_, None) => Err("no HTTP client to detect the external IP".to_string()),
        };
        let ip = match ip.and_then(|ip| check_servable(ip, self.plan.port).map(|()| ip)) {
            Ok(ip) => ip,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_s = every.as_secs(), "serve_axon skipped: no usable external address");
                return;
            }
        };
        let endpoint = AxonEndpoint::new(self.plan.netuid, ip, self.plan.port);
        if let Some(old) = self.published {
            if old != endpoint {
                eprintln!(
                    "synth-city miner: external address changed from {}:{} to {}:{}; publishing it",
                    old.ip, old.port, endpoint.ip, endpoint.port
                );
            }
        }
        let netuid = self.plan.netuid;
        match c.serve_axon(&endpoint, &self.plan.keypair).await {
            Ok(ServeOutcome::AlreadyServed) => {
                if self.published != Some(endpoint) {
                    eprintln!(
                        "synth-city miner: axon {}:{} already published on netuid {netuid}",
                        endpoint.ip, endpoint.port
                    );
                }
                self.published = Some(endpoint);
            }
            Ok(ServeOutcome::Served { block }) => {
                eprintln!(
                    "synth-city miner: serve_axon {}:{} on netuid {netuid} included in block {block}",
                    endpoint.ip, endpoint.port
                );
                self.published = Some(endpoint);
            }
            Err(e) => tracing::warn!(
                error = %e,
                retry_in_s = every.as_secs(),
                "serve_axon failed; validators may not find this axon"
            ),
        }
    }
}

/// Keeps the chain's background work running; dropping it stops the work without waiting.
pub struct ChainGuard {
    rt: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for ChainGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainGuard")
    }
}

impl Drop for ChainGuard {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metagraph::Neuron;
    use std::sync::Mutex;

    #[test]
    fn chain_refresh_keeps_last_good_metagraph() {
        let current = Mutex::new(Metagraph::from_neurons([Neuron {
            uid: 0,
            hotkey: "old".into(),
            stake: 1.0,
            validator_permit: true,
        }]));
        let sink = |m: Metagraph| *current.lock().unwrap() = m;
        let mut r = Refresher::new();
        let err = ChainError::Timeout {
            what: "reading the subnet state",
            limit: Duration::from_secs(60),
        };
        assert!(!r.apply(Err(err), &sink));
        assert!(!r.apply(Ok(Metagraph::default()), &sink));
        assert_eq!(r.failures(), 2);
        assert!(current.lock().unwrap().get("old").is_some());
        let new = Metagraph::from_neurons([Neuron {
            uid: 3,
            hotkey: "new".into(),
            stake: 2.0,
            validator_permit: false,
        }]);
        assert!(r.apply(Ok(new), &sink));
        assert_eq!(r.failures(), 0);
        let g = current.lock().unwrap();
        assert!(g.get("old").is_none());
        assert_eq!(g.get("new").map(|n| n.uid), Some(3));
    }
}
