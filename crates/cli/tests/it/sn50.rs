//! CLI tests of the `sn50` area.
