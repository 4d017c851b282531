//! synth-city `agents` layer.
