//! Renting without leaking: labelled deployments owned by a process and a run, a lease that
//! ends its deployment on every exit path, and the reaper of orphans.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::{
    Basilica, Deployment, DeploymentRequest, LABEL_HOST, LABEL_MANAGED_BY, LABEL_PID, LABEL_RUN,
    NAME_PREFIX,
};
use crate::{ServiceError, ServiceResult};

/// Who owns a deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Host name.
    pub host: String,
    /// Process id there.
    pub pid: u32,
    /// Run id (unique per `compute up`).
    pub run: String,
}

impl Owner {
    /// This process, for run `run`.
    pub fn current(run: &str) -> Self {
        Self {
            host: host_name(),
            pid: std::process::id(),
            run: run.to_string(),
        }
    }

    /// The labels every deployment of this owner carries.
    pub fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (LABEL_MANAGED_BY.to_string(), "synth-city".to_string()),
            (LABEL_HOST.to_string(), self.host.clone()),
            (LABEL_PID.to_string(), self.pid.to_string()),
            (LABEL_RUN.to_string(), self.run.clone()),
        ])
    }

    /// The owner a deployment's labels name (`None`: not one of ours).
    pub fn of(d: &Deployment) -> Option<Self> {
        if d.label(LABEL_MANAGED_BY) != Some("synth-city") {
            return None;
        }
        Some(Self {
            host: d.label(LABEL_HOST)?.to_string(),
            pid: d.label(LABEL_PID)?.parse().ok()?,
            run: d.label(LABEL_RUN).unwrap_or("").to_string(),
        })
    }

    /// The instance name of this owner's deployment (`synth-city-<run>`).
    pub fn instance_name(&self) -> String {
        let run: String = self
            .run
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(63 - NAME_PREFIX.len())
            .collect();
        format!("{NAME_PREFIX}{run}")
    }
}

/// This machine's host name (`HOSTNAME`, `/etc/hostname`, else `localhost`).
pub fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// True while process `pid` exists on this machine (Linux: `/proc/<pid>`; elsewhere assumed
/// alive, so nothing is reaped by mistake).
pub fn pid_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Ends every deployment labelled as ours from `host` whose owning process is gone (`alive`
/// says which are not), and, with `all_hosts`, every one of ours whatever its host. Returns the
/// names ended.
pub async fn reap_orphans(
    client: &Basilica,
    host: &str,
    alive: impl Fn(u32) -> bool,
    all_hosts: bool,
) -> ServiceResult<Vec<String>> {
    let mut ended = Vec::new();
    for d in client.list_labelled(LABEL_MANAGED_BY, "synth-city").await? {
        let Some(owner) = Owner::of(&d) else { continue };
        let orphan = if owner.host == host {
            owner.pid != std::process::id() && !alive(owner.pid)
        } else {
            all_hosts
        };
        if orphan {
            tracing::warn!(deployment = %d.instance_name, run = %owner.run, "ending an orphaned deployment");
            client.delete(&d.instance_name).await?;
            ended.push(d.instance_name);
        }
    }
    Ok(ended)
}

/// A rented deployment that ends itself: [`Lease::end`] on every normal path, and, if the
/// lease is dropped without it (an error unwinding, a panic), a blocking delete from `Drop`.
/// `ttlSeconds` on the deployment is the last guard when the process is killed outright.
#[derive(Debug)]
pub struct Lease {
    client: Basilica,
    /// The deployment as created.
    pub deployment: Deployment,
    /// USD per hour.
    pub rate: f64,
    started: Instant,
    ended: bool,
}

impl Lease {
    /// Creates the deployment `req` (labelled by `owner`, with a lease timeout) at `rate` USD/h.
    pub async fn start(
        client: &Basilica,
        mut req: DeploymentRequest,
        owner: &Owner,
        rate: f64,
    ) -> ServiceResult<Self> {
        req.instance_name = owner.instance_name();
        req.public_metadata.extend(owner.labels());
        let deployment = client.create(&req).await?;
        Ok(Self {
            client: client.clone(),
            deployment,
            rate,
            started: Instant::now(),
            ended: false,
        })
    }

    /// The deployment's name.
    pub fn name(&self) -> &str {
        &self.deployment.instance_name
    }

    /// USD accrued so far (rate × time held).
    pub fn accrued(&self) -> f64 {
        self.rate * self.started.elapsed().as_secs_f64() / 3600.0
    }

    /// Polls until the deployment is ready (slow starts included), failed, or `timeout`.
    pub async fn wait_ready(&mut self, timeout: Duration, poll: Duration) -> ServiceResult<()> {
        let t0 = Instant::now();
        loop {
            let d = self.client.get(self.name()).await?;
            if d.is_failed() {
                return Err(ServiceError::Invalid(format!(
                    "deployment {} failed: {}",
                    d.instance_name,
                    d.message.as_deref().unwrap_or(&d.state)
                )));
            }
            let ready = d.is_ready();
            self.deployment = d;
            if ready {
                return Ok(());
            }
            if t0.elapsed() >= timeout {
                return Err(ServiceError::Invalid(format!(
                    "deployment {} not ready after {} s (phase {})",
                    self.name(),
                    timeout.as_secs(),
                    self.deployment.phase.as_deref().unwrap_or("?")
                )));
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// Deletes the deployment (already gone counts as ended); returns the USD accrued.
    pub async fn end(mut self) -> ServiceResult<f64> {
        let cost = self.accrued();
        self.client.delete(self.name()).await?;
        self.ended = true;
        Ok(cost)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let (client, name) = (self.client.clone(), self.deployment.instance_name.clone());
        tracing::warn!(deployment = %name, "lease dropped without end(): deleting the deployment");
        // A fresh thread and runtime: Drop may run inside a runtime that cannot block.
        let done = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(client.delete(&name)))
        })
        .join();
        if !matches!(done, Ok(Ok(Ok(_)))) {
            tracing::error!(deployment = %self.deployment.instance_name, "could not delete on drop; its ttlSeconds lease ends it");
        }
    }
}
