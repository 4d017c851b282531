//! The HTTP core against a real server on loopback: retries, `Retry-After`, caps, errors.

mod basilica;
mod chutes;
mod desearch;
mod http_core;
mod moltbook;
mod openclaw_deploy;
mod openclaw_image;
mod clawhub;
mod hf;
mod hub_stub;
mod wandb;
mod wandb_stub;
