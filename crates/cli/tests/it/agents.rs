//! CLI tests of the `agents` area.
