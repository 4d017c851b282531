//! CLI tests of the `bridge` area.
