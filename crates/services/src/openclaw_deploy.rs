//! An OpenClaw agent (the `deploy/openclaw` image) run 24/7 as a Basilica deployment, on the
//! one Basilica client ([`crate::basilica`]). The deployment outlives the command that starts
//! it, so it is owned by its *agent name*, not by a process: labels `managed-by:
//! synth-city-openclaw` and `openclaw-agent: <name>` (never `managed-by: synth-city`, which the
//! compute reaper ends once its owning process is gone). Every deployment carries a
//! `ttlSeconds` lease cut to what the budget pays for, so spending stops server-side even if
//! nothing here runs again. [`deploy`] first reconciles: failed (crashed) deployments of the
//! agent and duplicates (a create whose answer was lost) are deleted, a healthy one is kept
//! instead of starting a second.

use std::collections::BTreeMap;

use crate::basilica::budget::Budget;
use crate::basilica::{Basilica, Deployment, DeploymentRequest, GpuRequest, Resources};
use crate::{ServiceError, ServiceResult};

/// `managed-by` value of agent deployments.
pub const MANAGED_BY: &str = "synth-city-openclaw";
/// Label naming the agent.
pub const LABEL_AGENT: &str = "openclaw-agent";
/// Longest lease asked for (then `deploy` again renews it).
pub const MAX_LEASE_SECS: u64 = 30 * 86_400;

/// What to run.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    /// Agent name (its state lives under `openclaw/<agent>` on Hippius).
    pub agent: String,
    /// Container image.
    pub image: String,
    /// GPU type (`None`: CPU only).
    pub gpu: Option<String>,
    /// USD per hour the deployment costs (the GPU offer's rate, or an estimate for CPU).
    pub rate_usd_per_hour: f64,
    /// USD the deployment may spend in all (its lease is cut to this).
    pub budget_usd: f64,
    /// Environment for the container (keys go here; never printed).
    pub env: BTreeMap<String, String>,
}

/// What [`deploy`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct DeployOutcome {
    /// The agent's deployment now.
    pub deployment: Deployment,
    /// False when a healthy one was already running (nothing created).
    pub created: bool,
    /// Deployments deleted by the reconciliation (crashed, duplicates).
    pub removed: Vec<String>,
    /// Lease of a new deployment, seconds.
    pub ttl_seconds: Option<u64>,
}

/// The instance name of an agent's deployment.
pub fn instance_name(agent: &str) -> String {
    let a: String = agent
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(40)
        .collect();
    format!("openclaw-{a}")
}

/// The labels of an agent's deployment.
pub fn labels(agent: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            crate::basilica::LABEL_MANAGED_BY.to_string(),
            MANAGED_BY.to_string(),
        ),
        (LABEL_AGENT.to_string(), agent.to_string()),
    ])
}

/// The agent's deployments (by label), newest first.
pub async fn find(client: &Basilica, agent: &str) -> ServiceResult<Vec<Deployment>> {
    let mut v: Vec<Deployment> = client
        .list_labelled(crate::basilica::LABEL_MANAGED_BY, MANAGED_BY)
        .await?
        .into_iter()
        .filter(|d| d.label(LABEL_AGENT) == Some(agent))
        .collect();
    v.sort_by(|a, b| b.created_at.cmp(&a.created_at));
    Ok(v)
}

/// The request for `spec` with a lease of `ttl` seconds.
pub fn request(spec: &AgentSpec, ttl: u64) -> DeploymentRequest {
    DeploymentRequest {
        instance_name: instance_name(&spec.agent),
        image: spec.image.clone(),
        replicas: 1,
        port: 18789,
        command: Vec::new(),
        args: Vec::new(),
        env: spec.env.clone(),
        resources: Resources {
            cpu: "2".into(),
            memory: "4Gi".into(),
            gpus: spec.gpu.as_ref().map(|g| GpuRequest {
                count: 1,
                model: vec![g.clone()],
                min_gpu_memory_gb: None,
            }),
        },
        ttl_seconds: ttl,
        public: false,
        public_metadata: labels(&spec.agent),
    }
}

/// Reconciles, then starts the agent unless a healthy deployment of it runs already.
pub async fn deploy(client: &Basilica, spec: &AgentSpec) -> ServiceResult<DeployOutcome> {
    let budget = Budget {
        per_run_usd: spec.budget_usd,
        per_day_usd: spec.budget_usd,
    };
    let ttl = budget.lease_secs(spec.rate_usd_per_hour, 0.0, MAX_LEASE_SECS)?;
    let mut removed = Vec::new();
    let mut keep: Option<Deployment> = None;
    for d in find(client, &spec.agent).await? {
        if d.is_failed() || keep.is_some() {
            client.delete(&d.instance_name).await?;
            removed.push(d.instance_name);
        } else {
            keep = Some(d);
        }
    }
    if let Some(d) = keep {
        return Ok(DeployOutcome {
            deployment: d,
            created: false,
            removed,
            ttl_seconds: None,
        });
    }
    let d = client.create(&request(spec, ttl)).await?;
    Ok(DeployOutcome {
        deployment: d,
        created: true,
        removed,
        ttl_seconds: Some(ttl),
    })
}

/// Stops every deployment of the agent (its entrypoint pushes the state on SIGTERM). Returns
/// the names deleted.
pub async fn stop(client: &Basilica, agent: &str) -> ServiceResult<Vec<String>> {
    let mut out = Vec::new();
    for d in find(client, agent).await? {
        if client.delete(&d.instance_name).await? {
            out.push(d.instance_name);
        }
    }
    Ok(out)
}

/// The logs of the agent's current deployment.
pub async fn logs(client: &Basilica, agent: &str, tail: u32) -> ServiceResult<String> {
    let d = find(client, agent)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| ServiceError::Invalid(format!("no deployment of agent {agent}")))?;
    client.logs(&d.instance_name, tail).await
}
