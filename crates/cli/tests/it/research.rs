//! CLI tests of the `research` area.
