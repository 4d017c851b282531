//! Integration tests of the miner: a signed round trip against the axon on loopback (and with
//! bittensor's own Python `Dendrite` when it is installed), the
//! registry's champions, and the live price clients against stub Hermes, Lazer and Hyperliquid
//! servers; the fuzz targets of `fuzz/` over their corpus.

mod bittensor_client;
mod fuzz_targets;
mod hermes;
mod pro_prices;
mod registry;
mod roundtrip;
