//! synth-city `market` layer.
