//! Integration tests of the miner: a signed round trip against the axon on loopback, the
//! registry's champions, and the live price client against a stub Hermes server.

mod hermes;
mod registry;
mod roundtrip;
