//! ClawHub, OpenClaw's skill registry: package a skill folder (`SKILL.md` + its files) as the
//! `clawhub` CLI does and publish it (`POST /api/v1/skills`, multipart: a `payload` JSON part and
//! one `files` part per file), refusing a version that is not above the published one
//! (services.md §1.4).
//!
//! Configuration: `CLAWHUB_TOKEN` (`clh_…`), `CLAWHUB_URL` (or the CLI's `CLAWHUB_REGISTRY`;
//! default `https://clawhub.ai`).

mod client;
mod package;

pub use client::{ClawHubClient, PublishOptions, Published};
pub use package::{SkillFile, SkillPackage, Version, MAX_BUNDLE_BYTES};

use crate::{Secret, ServiceResult};

/// Service name in messages.
pub const SERVICE: &str = "ClawHub";
/// Variable holding the token.
pub const TOKEN_VAR: &str = "CLAWHUB_TOKEN";
/// Variable holding the registry's address.
pub const URL_VAR: &str = "CLAWHUB_URL";
/// The `clawhub` CLI's name for the same.
pub const REGISTRY_VAR: &str = "CLAWHUB_REGISTRY";
/// The public registry.
pub const DEFAULT_URL: &str = "https://clawhub.ai";

/// Registry address and token, from the environment.
#[derive(Debug, Clone)]
pub struct ClawHubConfig {
    /// Base URL.
    pub base_url: String,
    /// Token (publishing needs it; reading does not).
    pub token: Option<Secret>,
}

impl ClawHubConfig {
    /// Reads `CLAWHUB_URL` (else `CLAWHUB_REGISTRY`, else the public registry) and
    /// `CLAWHUB_TOKEN`.
    pub fn from_env() -> Self {
        let fallback = crate::env::base_url(REGISTRY_VAR, DEFAULT_URL);
        Self {
            base_url: crate::env::base_url(URL_VAR, &fallback),
            token: crate::env::secret(SERVICE, TOKEN_VAR).ok(),
        }
    }

    /// The token, or an error naming `CLAWHUB_TOKEN`.
    pub fn require_token(&self) -> ServiceResult<Secret> {
        self.token
            .clone()
            .ok_or(crate::ServiceError::NotConfigured {
                service: SERVICE,
                var: TOKEN_VAR,
            })
    }
}
