//! CLI tests of the `market` area.
