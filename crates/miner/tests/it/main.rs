//! Integration tests of the miner: a signed round trip against the axon on loopback, the
//! registry's champions, and the live price clients against stub Hermes, Lazer and Hyperliquid
//! servers.

mod hermes;
mod pro_prices;
mod registry;
mod roundtrip;
