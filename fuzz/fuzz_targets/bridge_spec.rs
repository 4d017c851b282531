//! cargo-fuzz target: see `synth_city_fuzz::bridge_spec`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| synth_city_fuzz::bridge_spec(data));
