//! Chain access: the metagraph for the blacklist and `serve_axon` to
//! publish the axon address, through subtensor's RPC with `subxt` dynamic calls checked against
//! the node's own metadata (no static codegen: subtensor upgrades its runtime often).
//! What the miner reads from and writes to subtensor:
//!
//! - [`subnet_state`]: `SubnetInfoRuntimeApi.get_subnet_state(netuid)` → hotkeys, validator
//!   permits and stake weights → [`crate::Metagraph`];
//! - [`axon_call`], [`ip`]: `SubtensorModule.serve_axon` and the `Axons(netuid, hotkey)` it is
//!   compared with; bittensor's ip encoding;
//! - [`signer`]: the hotkey keypair from the wallet file;
//! - [`network`], [`external_ip`]: `--network` names, the published address (given or detected);
//! - [`client`], [`service`]: the connection, and the miner's background refresh.

pub mod axon_call;
pub mod client;
pub mod external_ip;
#[cfg(test)]
mod fake_node;
#[cfg(test)]
mod finney_tests;
pub mod ip;
#[cfg(test)]
mod loopback_tests;
pub mod network;
pub mod service;
pub mod signer;
pub mod subnet_state;

use std::time::Duration;

pub use axon_call::AxonEndpoint;
pub use client::{ChainClient, ServeOutcome};
pub use external_ip::ExternalIp;
pub use network::network_url;
pub use service::{ChainGuard, ChainService, Refresher, ServePlan};
pub use signer::hotkey_keypair;
pub use subnet_state::SubnetRows;
/// The hotkey's signing keypair (sr25519, `subxt-signer`).
pub use subxt_signer::sr25519::Keypair;

/// Finney's public entrypoint, the default network.
pub const DEFAULT_URL: &str = network::FINNEY_URL;
/// Synth's subnet on finney.
pub const DEFAULT_NETUID: u16 = 50;

/// A chain operation that failed (messages never contain secrets; URLs are shown redacted).
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// Could not connect or fetch the metadata.
    #[error("cannot connect to subtensor at {url}: {msg}")]
    Connect {
        /// Endpoint, redacted.
        url: String,
        /// Cause.
        msg: String,
    },
    /// An RPC, runtime API or storage call failed.
    #[error("subtensor {what}: {msg}")]
    Rpc {
        /// What was asked.
        what: &'static str,
        /// Cause.
        msg: String,
    },
    /// The node took too long.
    #[error("subtensor: {what} timed out after {}s", limit.as_secs())]
    Timeout {
        /// What was asked.
        what: &'static str,
        /// The limit.
        limit: Duration,
    },
    /// The subnet does not exist on this chain.
    #[error("subnet {0} does not exist on this chain")]
    NoSubnet(u16),
    /// An answer did not have the expected shape (runtime changed?).
    #[error("unexpected answer from subtensor: {0}")]
    Decode(String),
    /// The wallet cannot sign.
    #[error("{0}")]
    Wallet(String),
    /// `serve_axon` was refused or failed.
    #[error("{0}")]
    Serve(String),
}

/// `url` without user info, path or query (where API keys of RPC providers live).
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let hidden = rest != host;
    let shown = if scheme.is_empty() {
        host.to_string()
    } else {
        format!("{scheme}://{host}")
    };
    if hidden {
        format!("{shown}/…")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_url_redaction() {
        assert_eq!(redact_url(DEFAULT_URL), DEFAULT_URL);
        assert_eq!(redact_url("ws://127.0.0.1:9944"), "ws://127.0.0.1:9944");
        assert_eq!(
            redact_url("wss://user:pw@rpc.example:443/v1/KEY?x=1"),
            "wss://rpc.example:443/…"
        );
        assert_eq!(redact_url("wss://rpc.example/KEY"), "wss://rpc.example/…");
    }
}
