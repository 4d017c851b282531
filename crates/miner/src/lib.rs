//! synth-city `miner`: a Bittensor axon for SN50's `Simulation` synapse.
//!
//! - [`headers`], [`crypto`], [`ss58`], [`nonce`], [`metagraph`]: the axon protocol
//!   (`bt_header_*` headers, sr25519 `default_verify`, nonce rules, blacklist and priority).
//! - [`answer`], [`champion`], [`registry`], [`history`], [`wire`], [`prices`]: answers from the
//!   research registry's champion (reference GBM as fallback) conditioned on recent history,
//!   written straight to the validator's JSON, from live Pyth Hermes prices or a static table.
//! - [`autosync`]: the history kept fresh from Pyth in the background when it grows stale.
//! - [`axon`], [`axon_headers`], [`metrics`]: the HTTP server, the bittensor response headers it
//!   sets, and its Prometheus metrics.
//! - `chain`: the metagraph from subtensor and `serve_axon`.

pub mod answer;
pub mod autosync;
pub mod axon;
pub mod axon_headers;
pub mod chain;
pub mod champion;
pub mod crypto;
pub mod headers;
pub mod history;
pub mod metagraph;
pub mod metrics;
pub mod nonce;
pub mod prices;
pub mod registry;
pub mod serve;
pub mod ss58;
pub mod wallet;
pub mod wire;

pub use answer::{parse_prompt, Answer, AnswerError, Answerer, Prompt};
pub use autosync::{AutoSync, AutoSyncConfig, SyncReport, SyncStats};
pub use axon::{router, AxonConfig, AxonState, MetricsSource};
pub use champion::{
    ChampionSource, DefaultModel, ModelCache, NoChampions, OrDefault, ReferenceGbm,
};
pub use history::{HistorySource, MarketHistory, NoHistory, SeriesAge};
pub use metagraph::{BlacklistPolicy, Metagraph, Neuron};
pub use metrics::Metrics;
pub use prices::{PriceError, PriceFeed};
pub use registry::RegistryChampions;
pub use serve::serve_blocking;
pub use wallet::{read_hotkey, Hotkey};
