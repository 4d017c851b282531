//! synth-city `miner`.
