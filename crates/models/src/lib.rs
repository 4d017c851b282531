//! synth-city `models` layer.
