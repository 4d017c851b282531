//! CLI tests of the `miner` area.
