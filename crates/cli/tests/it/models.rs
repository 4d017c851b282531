//! CLI tests of the `models` area.
