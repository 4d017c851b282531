//! [`ChainClient`]: a subtensor RPC connection doing only dynamic, metadata-checked calls.
//! Subxt's `SubstrateConfig` fits subtensor (`runtime/src/lib.rs`): AccountId32, MultiSignature,
//! BlakeTwo256, and its transaction extensions are the standard ones plus zero-sized subtensor ones
//! (`chain_finney_transaction_extensions_are_signable`). Our address is always
//! `MultiAddress::Id`, which encodes the same whatever the index type.

use std::time::Duration;

use subxt::dynamic::Value;
use subxt::transactions::TransactionStatus;
use subxt::{OnlineClient, SubstrateConfig};
use subxt_signer::sr25519::Keypair;

use super::axon_call::{AxonEndpoint, PALLET};
use super::ip::check_servable;
use super::subnet_state::SubnetRows;
use super::{redact_url, ChainError};
use crate::metagraph::Metagraph;

/// Runtime API that answers the metagraph (subtensor `pallets/subtensor/runtime-api`).
pub const SUBNET_INFO_API: &str = "SubnetInfoRuntimeApi";
/// Its method: `get_subnet_state(netuid: NetUid) -> Option<SubnetState<AccountId32>>`.
pub const GET_SUBNET_STATE: &str = "get_subnet_state";
/// Storage double map `(NetUid, AccountId32) -> AxonInfo` (`Identity`, `Blake2_128Concat`).
pub const AXONS: &str = "Axons";

/// Connecting (metadata download included) gives up after this.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// One metagraph read gives up after this.
pub const READ_TIMEOUT: Duration = Duration::from_secs(60);
/// `serve_axon` gives up waiting for inclusion after this (a block is 12 s).
pub const SERVE_TIMEOUT: Duration = Duration::from_secs(120);

/// What [`ChainClient::serve_axon`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServeOutcome {
    /// The chain already held this endpoint for the hotkey; nothing was submitted.
    AlreadyServed,
    /// Included and successful in this block (hex hash).
    Served {
        /// Block hash, `0x…`.
        block: String,
    },
}

/// A connection to a subtensor node for one subnet.
pub struct ChainClient {
    api: OnlineClient<SubstrateConfig>,
    url: String,
    netuid: u16,
}

impl std::fmt::Debug for ChainClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainClient")
            .field("url", &self.url)
            .field("netuid", &self.netuid)
            .finish_non_exhaustive()
    }
}

fn rpc(what: &'static str) -> impl Fn(subxt::Error) -> ChainError {
    move |e| ChainError::Rpc {
        what,
        msg: e.to_string(),
    }
}

async fn within<F: std::future::Future>(
    limit: Duration,
    what: &'static str,
    f: F,
) -> Result<F::Output, ChainError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| ChainError::Timeout { what, limit })
}

impl ChainClient {
    /// Connects to `url` (`wss://…`, or `ws://…` for a local node) and downloads the metadata.
    pub async fn connect(url: &str, netuid: u16) -> Result<Self, ChainError> {
        let shown = redact_url(url);
        let api = within(
            CONNECT_TIMEOUT,
            "connecting to subtensor",
            OnlineClient::<SubstrateConfig>::from_insecure_url(url),
        )
        .await?
        .map_err(|e| ChainError::Connect {
            url: shown.clone(),
            // Transport errors may quote the URL, with its credentials.
            msg: e.to_string().replace(url, &shown),
        })?;
        Ok(Self {
            api,
            url: shown,
            netuid,
        })
    }

    /// The endpoint, without credentials.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The subnet.
    pub fn netuid(&self) -> u16 {
        self.netuid
    }

    /// `SubnetInfoRuntimeApi.get_subnet_state(netuid)` at the latest finalized block.
    pub async fn subnet_rows(&self) -> Result<SubnetRows, ChainError> {
        within(READ_TIMEOUT, "reading the subnet state", async {
            let at = self
                .api
                .at_current_block()
                .await
                .map_err(|e| rpc("latest block")(e.into()))?;
            let call = subxt::dynamic::runtime_api_call::<_, Value>(
                SUBNET_INFO_API,
                GET_SUBNET_STATE,
                (self.netuid,),
            );
            let v = at
                .runtime_apis()
                .call(call)
                .await
                .map_err(|e| rpc("SubnetInfoRuntimeApi.get_subnet_state")(e.into()))?;
            SubnetRows::from_value(&v)
                .map_err(ChainError::Decode)?
                .ok_or(ChainError::NoSubnet(self.netuid))
        })
        .await?
    }

    /// The blacklist's metagraph, from [`Self::subnet_rows`].
    pub async fn metagraph(&self) -> Result<Metagraph, ChainError> {
        Ok(self.subnet_rows().await?.to_metagraph())
    }

    /// `SubtensorModule.Axons(netuid, hotkey)`, decoded; `None` when never served.
    pub async fn stored_axon(&self, hotkey: [u8; 32]) -> Result<Option<Value>, ChainError> {
        let at = self
            .api
            .at_current_block()
            .await
            .map_err(|e| rpc("latest block")(e.into()))?;
        let addr = subxt::dynamic::storage::<(u16, [u8; 32]), Value>(PALLET, AXONS);
        let stored = at
            .storage()
            .try_fetch(addr, (self.netuid, hotkey))
            .await
            .map_err(|e| rpc("SubtensorModule.Axons")(e.into()))?;
        stored
            .map(|v| {
                v.decode()
                    .map_err(|e| ChainError::Decode(format!("AxonInfo: {e}")))
            })
            .transpose()
    }

    /// Publishes `endpoint` for the signer's hotkey with `SubtensorModule.serve_axon`, unless
    /// the chain already holds it; waits for inclusion in a block and for the call's success.
    pub async fn serve_axon(
        &self,
        endpoint: &AxonEndpoint,
        signer: &Keypair,
    ) -> Result<ServeOutcome, ChainError> {
        check_servable(endpoint.ip, endpoint.port).map_err(ChainError::Serve)?;
        if let Some(stored) = self.stored_axon(signer.public_key().0).await? {
            if endpoint.matches_stored(&stored) {
                return Ok(ServeOutcome::AlreadyServed);
            }
        }
        within(SERVE_TIMEOUT, "serve_axon inclusion", async {
            let at = self
                .api
                .at_current_block()
                .await
                .map_err(|e| rpc("latest block")(e.into()))?;
            let mut progress = at
                .transactions()
                .sign_and_submit_then_watch_default(&endpoint.payload(), signer)
                .await
                .map_err(|e| rpc("submitting serve_axon")(e.into()))?;
            while let Some(status) = progress.next().await {
                let status = status.map_err(|e| rpc("serve_axon status")(e.into()))?;
                let in_block = match status {
                    TransactionStatus::InBestBlock(b) | TransactionStatus::InFinalizedBlock(b) => b,
                    TransactionStatus::Error { message }
                    | TransactionStatus::Invalid { message }
                    | TransactionStatus::Dropped { message } => {
                        return Err(ChainError::Serve(format!("serve_axon rejected: {message}")))
                    }
                    _ => continue,
                };
                in_block
                    .wait_for_success()
                    .await
                    .map_err(|e| ChainError::Serve(format!("serve_axon failed: {e}")))?;
                return Ok(ServeOutcome::Served {
                    block: format!("{:?}", in_block.block_hash()),
                });
            }
            Err(ChainError::Serve(
                "serve_axon: the node closed the status stream before inclusion".into(),
            ))
        })
        .await?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Live read against `SUBTENSOR_URL` (netuid `SUBTENSOR_NETUID`, default 50):
    /// `SUBTENSOR_URL=wss://entrypoint-finney.opentensor.ai:443 cargo nextest run -p miner
    /// --cargo-profile ci --profile ci --run-ignored only chain_live`.
    #[test]
    #[ignore = "needs a subtensor node (SUBTENSOR_URL)"]
    fn chain_live_metagraph() {
        let Ok(url) = std::env::var("SUBTENSOR_URL") else {
            eprintln!("SUBTENSOR_URL is not set: nothing to check");
            return;
        };
        let netuid = std::env::var("SUBTENSOR_NETUID")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(super::super::DEFAULT_NETUID);
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let c = ChainClient::connect(&url, netuid).await.unwrap();
            let rows = c.subnet_rows().await.unwrap();
            assert!(!rows.hotkeys.is_empty());
            assert_eq!(rows.validator_permit.len(), rows.hotkeys.len());
            assert_eq!(rows.total_stake.len(), rows.hotkeys.len());
            let g = rows.to_metagraph();
            let validators = rows.validator_permit.iter().filter(|p| **p).count();
            eprintln!(
                "netuid {netuid}: {} neurons, {validators} with a validator permit",
                g.len()
            );
            // Every hotkey has an `Axons` entry or none; reading one must decode.
            let _ = c.stored_axon(rows.hotkeys[0]).await.unwrap();
        });
    }
}
