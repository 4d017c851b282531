//! synth-city `sn50` layer.
