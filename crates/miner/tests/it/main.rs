//! Integration tests of the miner: a signed round trip against the axon on loopback.

mod roundtrip;
