//! The Publisher: a run goes to every configured target — Hippius (the archive's remote), the
//! Hugging Face Hub (a model repository) and Weights & Biases (a logged run) — and each target
//! reports on its own: published (with the address), skipped (not configured: the variable to
//! set is named) or failed (why). One target failing never stops the others.
//!
//! Hub and W&B publications are rows of the registry (`pending` until the service confirmed
//! them): a failure leaves the row pending, and [`Publisher::retry_pending`] (run by
//! `synth-city store sync` and `synth-city publish retry`) completes it later. A Hub upload that
//! broke off halfway is never recorded as published.

pub mod card;
pub mod hub;
pub mod wandb;

use serde::Serialize;
use serde_json::json;
use services::hf::{HubClient, HubConfig, HubRef, RepoId};
use services::http::HttpSettings;
use services::wandb::{WandbClient, WandbConfig};
use services::ServiceError;

pub use hub::{pull, PullReport};

use crate::registry::Publication;
use crate::store::{block_on, Archive};
use crate::{ErrorKind, ResearchError, Result};

/// A service error as a research error: bad input and missing settings are `invalid_config`,
/// "no such thing" is `not_found`, the rest `environment`.
pub fn service_err(e: ServiceError) -> ResearchError {
    let kind = match &e {
        ServiceError::NotConfigured { .. } | ServiceError::Invalid(_) => ErrorKind::InvalidConfig,
        ServiceError::NotFound { .. } => ErrorKind::NotFound,
        _ => ErrorKind::Environment,
    };
    ResearchError::new(kind, e.to_string())
}

/// A publishing target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The archive's remote (Hippius S3).
    Hippius,
    /// A Hugging Face Hub model repository.
    Hf,
    /// A Weights & Biases run.
    Wandb,
}

impl Target {
    /// Every target.
    pub const ALL: [Target; 3] = [Target::Hippius, Target::Hf, Target::Wandb];

    /// `hippius`, `hf` or `wandb` (the registry's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Hippius => "hippius",
            Target::Hf => "hf",
            Target::Wandb => "wandb",
        }
    }
}

/// How one target went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// On the service.
    Published {
        /// Where.
        url: String,
    },
    /// Not configured (the reason names what to set).
    Skipped {
        /// Why.
        reason: String,
    },
    /// Tried and failed; queued for a retry where the target keeps a queue.
    Failed {
        /// Why.
        error: String,
    },
}

/// One target's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetReport {
    /// The target.
    pub target: Target,
    /// Repository, project or bucket, when known.
    pub destination: Option<String>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// A run's publication to its targets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishReport {
    /// The run.
    pub run_id: String,
    /// One report per target asked for.
    pub targets: Vec<TargetReport>,
}

impl PublishReport {
    /// True when some target failed.
    pub fn any_failed(&self) -> bool {
        self.targets
            .iter()
            .any(|t| matches!(t.outcome, Outcome::Failed { .. }))
    }

    /// True when some target published.
    pub fn any_published(&self) -> bool {
        self.targets
            .iter()
            .any(|t| matches!(t.outcome, Outcome::Published { .. }))
    }
}

/// Hub options of one publication.
#[derive(Debug, Clone, Default)]
pub struct HubOptions {
    /// Repository (`owner/name`); default `HF_REPO_ID`.
    pub repo: Option<String>,
    /// Create the repository private.
    pub private: bool,
}

/// Publishes runs of an archive.
#[derive(Debug)]
pub struct Publisher<'a> {
    archive: &'a Archive,
    hub: std::result::Result<HubConfig, ServiceError>,
    wandb: std::result::Result<WandbConfig, ServiceError>,
    settings: HttpSettings,
}

impl<'a> Publisher<'a> {
    /// A publisher with the targets configured in the environment (`HF_*`, `WANDB_*`; Hippius
    /// is the archive's remote).
    pub fn from_env(archive: &'a Archive) -> Self {
        Self {
            archive,
            hub: HubConfig::from_env(),
            wandb: WandbConfig::from_env(),
            settings: HttpSettings::default(),
        }
    }

    /// A publisher with explicit settings (tests: stub servers, fast retries).
    pub fn with_config(
        archive: &'a Archive,
        hub: std::result::Result<HubConfig, ServiceError>,
        wandb: std::result::Result<WandbConfig, ServiceError>,
        settings: HttpSettings,
    ) -> Self {
        Self {
            archive,
            hub,
            wandb,
            settings,
        }
    }

    /// The same publisher with other HTTP timeouts and retries.
    pub fn with_http(mut self, settings: HttpSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Publishes `run_id` (a full id or unique prefix) to `targets`, each independently.
    pub fn publish(
        &self,
        run_id: &str,
        targets: &[Target],
        hub: &HubOptions,
    ) -> Result<PublishReport> {
        let rec = self.archive.registry.get_run(run_id)?;
        let mut report = PublishReport {
            run_id: rec.run_id.clone(),
            targets: Vec::new(),
        };
        for t in targets {
            report.targets.push(match t {
                Target::Hippius => self.hippius(&rec.run_id),
                Target::Hf => self.hf(&rec.run_id, hub),
                Target::Wandb => self.wandb(&rec.run_id),
            });
        }
        Ok(report)
    }

    /// Sends again every pending Hub and W&B publication (a target not configured now is
    /// reported skipped and stays queued). One report per publication tried.
    pub fn retry_pending(&self) -> Result<Vec<TargetReport>> {
        let pending = self
            .archive
            .registry
            .publications(None, Some("pending"), 10_000)?;
        let mut out = Vec::new();
        for p in pending.into_iter().rev() {
            out.push(match p.target.as_str() {
                "hf" => self.attempt_hf(&p),
                "wandb" => self.attempt_wandb(&p),
                other => TargetReport {
                    target: Target::Hippius,
                    destination: Some(p.destination.clone()),
                    outcome: Outcome::Skipped {
                        reason: format!("unknown target {other:?} (written by a newer build?)"),
                    },
                },
            });
        }
        Ok(out)
    }

    fn hippius(&self, run_id: &str) -> TargetReport {
        let Some(remote) = &self.archive.remote else {
            return TargetReport {
                target: Target::Hippius,
                destination: None,
                outcome: Outcome::Skipped {
                    reason: "not configured: set HIPPIUS_ACCESS_KEY and HIPPIUS_SECRET_KEY".into(),
                },
            };
        };
        let destination = Some(remote.label().to_string());
        let outcome = match self.archive.sync() {
            Err(e) => Outcome::Failed {
                error: e.to_string(),
            },
            Ok(rep) => match self.archive.registry.run_synced(run_id) {
                Ok(true) => Outcome::Published {
                    url: format!("{}/runs/{run_id}/", remote.label()),
                },
                Ok(false) => Outcome::Failed {
                    error: rep
                        .error
                        .unwrap_or_else(|| "some of the run's objects are still queued".into())
                        + " (queued: `synth-city store sync` retries)",
                },
                Err(e) => Outcome::Failed {
                    error: e.to_string(),
                },
            },
        };
        TargetReport {
            target: Target::Hippius,
            destination,
            outcome,
        }
    }

    fn skipped(target: Target, e: &ServiceError) -> TargetReport {
        let reason = match e {
            ServiceError::NotConfigured { var, .. } => format!("not configured: set {var}"),
            other => other.to_string(),
        };
        TargetReport {
            target,
            destination: None,
            outcome: Outcome::Skipped { reason },
        }
    }

    fn hf(&self, run_id: &str, opts: &HubOptions) -> TargetReport {
        let cfg = match &self.hub {
            Ok(c) => c,
            Err(e) => return Self::skipped(Target::Hf, e),
        };
        if let Err(e) = cfg.require_token() {
            return Self::skipped(Target::Hf, &e);
        }
        let repo = match cfg.repo(opts.repo.as_deref()) {
            Ok(r) => r,
            Err(ServiceError::NotConfigured { .. }) => {
                return Self::skipped(
                    Target::Hf,
                    &ServiceError::Invalid(
                        "not configured: set HF_REPO_ID (or pass --repo owner/name)".into(),
                    ),
                )
            }
            Err(e) => return Self::failed(Target::Hf, None, e.to_string()),
        };
        match self.archive.registry.request_publication(
            "hf",
            run_id,
            &repo.to_string(),
            &json!({"private": opts.private}),
        ) {
            Ok(p) => self.attempt_hf(&p),
            Err(e) => Self::failed(Target::Hf, Some(repo.to_string()), e.to_string()),
        }
    }

    fn wandb(&self, run_id: &str) -> TargetReport {
        let cfg = match &self.wandb {
            Ok(c) => c,
            Err(e) => return Self::skipped(Target::Wandb, e),
        };
        let dest = match &cfg.entity {
            Some(e) => format!("{e}/{}", cfg.project),
            None => cfg.project.clone(),
        };
        match self
            .archive
            .registry
            .request_publication("wandb", run_id, &dest, &json!({}))
        {
            Ok(p) => self.attempt_wandb(&p),
            Err(e) => Self::failed(Target::Wandb, Some(dest), e.to_string()),
        }
    }

    fn failed(target: Target, destination: Option<String>, error: String) -> TargetReport {
        TargetReport {
            target,
            destination,
            outcome: Outcome::Failed { error },
        }
    }

    /// Records the outcome of an attempt on publication `p`.
    fn settle(
        &self,
        target: Target,
        p: &Publication,
        r: Result<(String, Option<String>)>,
    ) -> TargetReport {
        let dest = Some(p.destination.clone());
        match r {
            Ok((url, revision)) => {
                match self
                    .archive
                    .registry
                    .publication_published(p.id, &url, revision.as_deref())
                {
                    Ok(()) => TargetReport {
                        target,
                        destination: dest,
                        outcome: Outcome::Published { url },
                    },
                    Err(e) => {
                        Self::failed(target, dest, format!("published, but not recorded: {e}"))
                    }
                }
            }
            Err(e) => {
                let msg = format!("{} (queued: `synth-city store sync` retries)", e.message);
                let _ = self.archive.registry.publication_failed(p.id, &e.message);
                Self::failed(target, dest, msg)
            }
        }
    }

    /// A queued publication whose target is not configured now: reported skipped, kept queued.
    fn queued_skip(target: Target, p: &Publication, e: &ServiceError) -> TargetReport {
        let mut rep = Self::skipped(target, e);
        rep.destination = Some(p.destination.clone());
        if let Outcome::Skipped { reason } = &mut rep.outcome {
            reason.push_str(" (stays queued)");
        }
        rep
    }

    fn attempt_hf(&self, p: &Publication) -> TargetReport {
        let cfg = match &self.hub {
            Ok(c) => match c.require_token() {
                Ok(_) => c,
                Err(e) => return Self::queued_skip(Target::Hf, p, &e),
            },
            Err(e) => return Self::queued_skip(Target::Hf, p, e),
        };
        let r = (|| {
            let repo = RepoId::parse(&p.destination).map_err(service_err)?;
            let private = p.options["private"].as_bool().unwrap_or(false);
            let rec = self.archive.registry.get_run(&p.run_id)?;
            let files = hub::hub_files(self.archive, &rec, &repo)?;
            let client =
                HubClient::with_settings(cfg, self.settings.clone()).map_err(service_err)?;
            let summary = format!("synth-city: {} ({})", rec.name, rec.run_id);
            let info = block_on(async {
                client.create_repo(&repo, private).await?;
                client.upload_files(&repo, "main", &files, &summary).await
            })?
            .map_err(service_err)?;
            let url = if info.commit_url.is_empty() {
                client.repo_url(&repo)
            } else {
                info.commit_url.clone()
            };
            Ok((url, Some(info.commit_oid)))
        })();
        self.settle(Target::Hf, p, r)
    }

    fn attempt_wandb(&self, p: &Publication) -> TargetReport {
        let mut cfg = match &self.wandb {
            Ok(c) => c.clone(),
            Err(e) => return Self::queued_skip(Target::Wandb, p, e),
        };
        // The destination it was queued for, whatever the environment says now.
        match p.destination.split_once('/') {
            Some((e, proj)) => {
                cfg.entity = Some(e.to_string());
                cfg.project = proj.to_string();
            }
            None => cfg.project = p.destination.clone(),
        }
        let r = (|| {
            let rec = self.archive.registry.get_run(&p.run_id)?;
            let log = wandb::run_log(self.archive, &rec)?;
            let client =
                WandbClient::with_settings(&cfg, self.settings.clone()).map_err(service_err)?;
            let logged = block_on(client.log(&log))?.map_err(service_err)?;
            Ok((logged.url, Some(logged.name)))
        })();
        self.settle(Target::Wandb, p, r)
    }
}

/// After a research run is recorded: when `WANDB_PROJECT` is set, queue the run for W&B and
/// try to send it now (offline, it stays queued for `synth-city store sync`). Never fails the
/// run; problems are logged.
pub fn after_run(archive: &Archive, run_id: &str) {
    if !WandbConfig::wanted() {
        return;
    }
    // One quick try: offline, the queue (not this research run) waits for the service.
    let p = Publisher::from_env(archive).with_http(HttpSettings {
        max_retries: 1,
        timeout: std::time::Duration::from_secs(30),
        ..HttpSettings::default()
    });
    let r = p.wandb(run_id);
    match &r.outcome {
        Outcome::Published { url } => tracing::info!(url = %url, "run logged to W&B"),
        Outcome::Skipped { reason } => tracing::warn!("W&B logging skipped: {reason}"),
        Outcome::Failed { error } => tracing::warn!("W&B logging failed: {error}"),
    }
}

/// Pulls `hf://owner/name[@revision]` into `archive` (blocking; token optional).
pub fn pull_blocking(
    archive: &Archive,
    reference: &str,
    settings: HttpSettings,
) -> Result<PullReport> {
    let r = HubRef::parse(reference).map_err(service_err)?;
    let cfg = HubConfig::from_env().map_err(service_err)?;
    let client = HubClient::with_settings(&cfg, settings).map_err(service_err)?;
    block_on(pull(archive, &client, &r))?
}
