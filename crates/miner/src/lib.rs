//! synth-city `miner`: a Bittensor axon for SN50's `Simulation` synapse.
//!
//! - [`headers`], [`crypto`], [`ss58`], [`nonce`], [`metagraph`]: the axon protocol
//!   (`bt_header_*` headers, sr25519 `default_verify`, nonce rules, blacklist and priority).
//! - [`answer`], [`champion`], [`prices`]: answers from the champion model (reference GBM as
//!   fallback), live start prices from Pyth Hermes or a static table.
//! - [`axon`], [`metrics`]: the HTTP server and its Prometheus metrics.

pub mod answer;
pub mod axon;
pub mod champion;
pub mod crypto;
pub mod headers;
pub mod metagraph;
pub mod metrics;
pub mod nonce;
pub mod prices;
pub mod serve;
pub mod ss58;
pub mod wallet;

pub use answer::{parse_prompt, Answer, AnswerError, Answerer, HistorySource, NoHistory, Prompt};
pub use axon::{router, AxonConfig, AxonState};
pub use champion::{ChampionSource, ModelCache, NoChampions, ReferenceGbm, Timeframe};
pub use metagraph::{BlacklistPolicy, Metagraph, Neuron};
pub use metrics::Metrics;
pub use prices::{PriceError, PriceFeed};
pub use serve::serve_blocking;
pub use wallet::{read_hotkey, Hotkey};
