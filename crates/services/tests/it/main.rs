//! The HTTP core against a real server on loopback: retries, `Retry-After`, caps, errors.

mod basilica;
mod chutes;
mod clawhub;
mod data_universe;
mod desearch;
mod gradients;
mod hf;
mod http_core;
mod hub_stub;
mod moltbook;
mod openclaw_deploy;
mod openclaw_image;
mod state_lock;
mod stub;
mod wandb;
mod wandb_stub;
