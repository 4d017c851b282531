//! Weights & Biases, without the Python SDK: the GraphQL `upsertBucket` mutation creates or
//! updates a run (config, summary), `file_stream` appends its history lines and finishes it,
//! and `createRunFiles` hands out upload URLs for media (services.md §10b).
//!
//! Configuration: `WANDB_API_KEY` (HTTP Basic, user `api`), `WANDB_PROJECT`, `WANDB_ENTITY`
//! (default: the key's own entity), `WANDB_BASE_URL` (default `https://api.wandb.ai`; self-hosted
//! servers and tests).

mod client;
mod run;

pub use client::{LoggedRun, WandbClient};
pub use run::{RunFile, RunLog};

use crate::{Secret, ServiceError, ServiceResult};

/// Service name in messages.
pub const SERVICE: &str = "Weights & Biases";
/// Variable holding the API key.
pub const KEY_VAR: &str = "WANDB_API_KEY";
/// Variable holding the project.
pub const PROJECT_VAR: &str = "WANDB_PROJECT";
/// Variable holding the entity.
pub const ENTITY_VAR: &str = "WANDB_ENTITY";
/// Variable holding the server's address.
pub const BASE_URL_VAR: &str = "WANDB_BASE_URL";
/// The public service.
pub const DEFAULT_BASE_URL: &str = "https://api.wandb.ai";

/// Where runs go, from the environment.
#[derive(Debug, Clone)]
pub struct WandbConfig {
    /// API base URL.
    pub base_url: String,
    /// API key.
    pub api_key: Secret,
    /// Project.
    pub project: String,
    /// Entity (user or team); `None`: the key's default entity.
    pub entity: Option<String>,
}

impl WandbConfig {
    /// Reads `WANDB_PROJECT` and `WANDB_API_KEY` (both required: the error names the missing
    /// one), `WANDB_ENTITY` and `WANDB_BASE_URL`.
    pub fn from_env() -> ServiceResult<Self> {
        let project = non_blank(PROJECT_VAR).ok_or(ServiceError::NotConfigured {
            service: SERVICE,
            var: PROJECT_VAR,
        })?;
        check_name(&project, PROJECT_VAR)?;
        let entity = non_blank(ENTITY_VAR);
        if let Some(e) = &entity {
            check_name(e, ENTITY_VAR)?;
        }
        Ok(Self {
            base_url: crate::env::base_url(BASE_URL_VAR, DEFAULT_BASE_URL),
            api_key: crate::env::secret(SERVICE, KEY_VAR)?,
            project,
            entity,
        })
    }

    /// True when `WANDB_PROJECT` is set (the user wants runs logged), key or not.
    pub fn wanted() -> bool {
        non_blank(PROJECT_VAR).is_some()
    }
}

fn non_blank(var: &str) -> Option<String> {
    std::env::var(var)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Entity, project and run names go into URL paths: letters, digits, `-`, `_`, `.` only.
pub(crate) fn check_name(v: &str, what: &str) -> ServiceResult<()> {
    if !v.is_empty()
        && v.len() <= 128
        && !v.contains("..")
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "{what} {v:?}: use letters, digits, - _ . only"
        )))
    }
}
