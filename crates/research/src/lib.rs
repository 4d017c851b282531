//! synth-city `research` layer.
