//! Basilica (Bittensor SN39): GPU offers and container deployments, with the guards a rented
//! machine needs so that none is ever left running.
//!
//! Protocol (`shared/research/services.md` §4, upstream `one-covenant/basilica`
//! `crates/basilica-sdk`): `Authorization: Bearer <BASILICA_API_TOKEN>`;
//! `GET /secure-cloud/gpu-prices?available_only=true` → `{nodes: [GpuOffering]}`;
//! `POST /deployments` (camelCase body: `instanceName, image, replicas, port, command, args,
//! env, resources{cpu, memory, gpus{count, model, minGpuMemoryGb}}, ttlSeconds, public,
//! publicMetadata`), `GET /deployments`, `GET|DELETE /deployments/{instanceName}`,
//! `GET /deployments/{instanceName}/logs?tail=N`. Errors are `{error:{code, message}}`.
//!
//! Guards ([`lease`]): a price cap and GPU allowlist on offers, a budget per run and per day
//! checked before renting and while running ([`budget`]), labels naming the owning host,
//! process and run on every deployment (in `publicMetadata` and the instance name), a
//! server-side lease timeout (`ttlSeconds`) on every deployment, and [`lease::reap_orphans`]
//! which ends every deployment of ours whose owning process is gone.

pub mod budget;
mod client;
pub mod lease;
pub mod rent;
mod types;

pub use client::Basilica;
pub use types::{
    Deployment, DeploymentRequest, GpuOffering, GpuRequest, OfferFilter, Replicas, Resources,
};

/// The variable holding the API token (`basilica tokens create`).
pub const TOKEN_ENV: &str = "BASILICA_API_TOKEN";
/// The older name of the token variable, still read.
pub const TOKEN_ENV_ALIAS: &str = "BASILICA_API_KEY";
/// The variable that overrides the base URL (tests, proxies).
pub const URL_ENV: &str = "BASILICA_API_URL";
/// The service's base URL.
pub const DEFAULT_URL: &str = "https://api.basilica.ai";
/// The service's name in messages.
pub const SERVICE: &str = "Basilica";
/// Highest USD per hour of a deployment (all its GPUs).
pub const MAX_RATE_ENV: &str = "BASILICA_MAX_HOURLY_RATE";
/// Comma list of GPU types allowed (case-insensitive substrings: `A100,H100,RTX-A6000`).
pub const GPU_TYPES_ENV: &str = "BASILICA_ALLOWED_GPU_TYPES";
/// Label key every deployment of synth-city carries (value `synth-city`).
pub const LABEL_MANAGED_BY: &str = "managed-by";
/// Label key: the host that owns the deployment.
pub const LABEL_HOST: &str = "owner-host";
/// Label key: the owning process id on that host.
pub const LABEL_PID: &str = "owner-pid";
/// Label key: the run (one `compute up`).
pub const LABEL_RUN: &str = "run";
/// Prefix of the instance names synth-city gives deployments.
pub const NAME_PREFIX: &str = "synth-city-";
