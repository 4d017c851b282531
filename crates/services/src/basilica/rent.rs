//! Renting one synth-city worker: the one implementation behind `synth-city compute up` and
//! the Trainer's `compute_up` tool. [`plan`] ends orphans of ours, picks the cheapest offer the
//! filter allows and cuts the lease to what the budget still pays for (nothing is created when
//! it is too small) and reserves that lease's cost in the spend ledger under the run's
//! deployment name, under the ledger's lock; [`worker_request`] is the labelled deployment of the worker image with a
//! lease timeout; [`super::lease::Lease::start`] then rents it.

use super::budget::{Budget, Ledger};
use super::lease::{host_name, pid_alive, reap_orphans};
use super::{Basilica, DeploymentRequest, GpuRequest, OfferFilter, Resources};
use crate::ServiceError;

/// The worker image unless `--image` / `BASILICA_DEPLOY_IMAGE` says otherwise.
pub const DEFAULT_IMAGE: &str = "ghcr.io/synth-city/worker:latest";

/// The variable naming another worker image.
pub const IMAGE_ENV: &str = "BASILICA_DEPLOY_IMAGE";

/// The port the worker listens on inside the container.
pub const WORKER_PORT: u16 = 7070;

/// What renting would cost, decided before anything is created.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RentPlan {
    /// GPU type of the chosen offer.
    pub gpu_type: String,
    /// GPUs rented.
    pub gpus: u32,
    /// USD per hour for all of them.
    pub hourly_usd: f64,
    /// The lease (and the deployment's `ttlSeconds`), cut to the budget.
    pub lease_secs: u64,
    /// USD today's other runs had spent or reserved (what [`Budget::exhausted`] adds to this
    /// run's accrued cost while it runs).
    pub spent_by_others_usd: f64,
    /// Deployments of ours whose owner process was gone, ended first.
    pub reaped: Vec<String>,
}

/// What to rent and within which limits.
#[derive(Debug, Clone, Copy)]
pub struct RentLimits<'a> {
    /// Offers allowed.
    pub filter: &'a OfferFilter,
    /// Per-run and per-day caps.
    pub budget: &'a Budget,
    /// GPUs wanted (at least 1).
    pub gpus: u32,
    /// Longest lease wanted, seconds.
    pub max_secs: u64,
    /// End every host's orphans, not only this host's.
    pub all_hosts: bool,
}

/// Ends orphans (this host's; every host's with `limits.all_hosts`), then plans a rent of
/// `limits.gpus` of the cheapest offer the filter allows, for at most `limits.max_secs`, and
/// reserves its lease in `ledger` under `run` (the deployment's name,
/// [`super::lease::Owner::instance_name`]) within the budget left after today's other runs —
/// one locked step, so that processes renting at once cannot together pass the day cap. The
/// caller records the real cost under the same `run` at the end ([`Ledger::record`]) or
/// releases the reservation if the deployment is not created ([`Ledger::release`]). Errors:
/// no offer, over the rate cap, a budget that buys under the minimum lease, an unreadable
/// ledger.
pub async fn plan(
    client: &Basilica,
    limits: RentLimits<'_>,
    ledger: &Ledger,
    run: &str,
) -> Result<RentPlan, ServiceError> {
    let RentLimits {
        filter,
        budget,
        gpus,
        max_secs,
        all_hosts,
    } = limits;
    // Orphans first: a crashed earlier run must not keep billing.
    let reaped = reap_orphans(client, &host_name(), pid_alive, all_hosts).await?;
    let offers = client.offers(filter).await?;
    let Some(offer) = offers.first() else {
        return Err(ServiceError::Invalid(format!(
            "no available Basilica GPU offer within {} and {}",
            super::MAX_RATE_ENV,
            super::GPU_TYPES_ENV
        )));
    };
    let gpus = gpus.max(1);
    let rate = offer.hourly_rate().unwrap_or(f64::INFINITY) * f64::from(gpus)
        / f64::from(offer.gpu_count.max(1));
    if filter.max_hourly_rate.is_some_and(|m| rate > m) {
        return Err(ServiceError::Invalid(format!(
            "{gpus} x {} costs ${rate:.2}/h, over {}",
            offer.gpu_type,
            super::MAX_RATE_ENV
        )));
    }
    let granted = ledger.reserve(budget, run, rate, max_secs)?;
    Ok(RentPlan {
        gpu_type: offer.gpu_type.clone(),
        gpus,
        hourly_usd: rate,
        lease_secs: granted.lease_secs,
        spent_by_others_usd: granted.spent_by_others,
        reaped,
    })
}

/// The worker deployment of `plan`: `synth-city worker` on [`WORKER_PORT`] with `token`, on
/// `image`, public, with the plan's lease as `ttlSeconds` (labels are added by the lease).
pub fn worker_request(image: &str, plan: &RentPlan, token: &str) -> DeploymentRequest {
    DeploymentRequest {
        image: image.to_string(),
        replicas: 1,
        port: WORKER_PORT,
        command: vec!["synth-city".into(), "worker".into()],
        args: vec![
            "--listen".into(),
            format!("0.0.0.0:{WORKER_PORT}"),
            "--device".into(),
            "auto".into(),
        ],
        env: [("SYNTH_CITY_WORKER_TOKEN".to_string(), token.to_string())].into(),
        resources: Resources {
            cpu: "4".into(),
            memory: "16Gi".into(),
            gpus: Some(GpuRequest {
                count: plan.gpus,
                model: vec![plan.gpu_type.clone()],
                min_gpu_memory_gb: None,
            }),
        },
        ttl_seconds: plan.lease_secs,
        public: true,
        ..Default::default()
    }
}

/// 32 random bytes as hex: a fresh worker token.
pub fn random_token() -> Result<String, ServiceError> {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| ServiceError::Invalid(format!("random token: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}
