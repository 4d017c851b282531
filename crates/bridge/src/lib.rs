//! synth-city `bridge`.
