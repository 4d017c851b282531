//! The ClawHub client: the published version of a skill, and publishing a new one.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{ClawHubConfig, SkillPackage, Version, SERVICE};
use crate::http::{Auth, HttpSettings};
use crate::{HttpClient, Retry, ServiceError, ServiceResult};

/// What to publish with the files.
#[derive(Debug, Clone, Default)]
pub struct PublishOptions {
    /// Display name (default: the slug).
    pub display_name: Option<String>,
    /// Changelog of this version.
    pub changelog: String,
    /// Up to 3 categories (`integrations`, `finance`, …).
    pub categories: Vec<String>,
    /// Up to 5 topics.
    pub topics: Vec<String>,
    /// Tags (`latest`).
    pub tags: Vec<String>,
}

/// What the registry answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    /// Slug.
    #[serde(default)]
    pub slug: String,
    /// Version published.
    #[serde(default)]
    pub version: String,
    /// Id of the version.
    #[serde(default)]
    pub version_id: Option<String>,
    /// `pending` (security scans running) or `published`.
    #[serde(default)]
    pub publication_status: Option<String>,
    /// Web address of the skill.
    #[serde(default)]
    pub url: String,
}

/// A ClawHub client.
#[derive(Debug, Clone)]
pub struct ClawHubClient {
    api: HttpClient,
}

impl ClawHubClient {
    /// A client for `cfg` (the token is sent when set).
    pub fn new(cfg: &ClawHubConfig) -> ServiceResult<Self> {
        Self::with_settings(cfg, HttpSettings::default())
    }

    /// [`ClawHubClient::new`] with explicit timeouts and retries (tests).
    pub fn with_settings(cfg: &ClawHubConfig, settings: HttpSettings) -> ServiceResult<Self> {
        let auth = cfg.token.clone().map_or(Auth::None, Auth::Bearer);
        Ok(Self {
            api: HttpClient::new(SERVICE, cfg.base_url.clone(), auth, settings)?,
        })
    }

    /// The latest published version of `slug`, or `None` when it was never published.
    pub async fn latest_version(&self, slug: &str) -> ServiceResult<Option<Version>> {
        let v: Value = match self
            .api
            .get_json(&format!("/api/v1/skills/{slug}"), &[])
            .await
        {
            Ok(v) => v,
            Err(ServiceError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Tolerant: the version sits in `latestVersion.version` (or a `skill` wrapper, or the
        // `latest` tag).
        let candidates = [
            &v["latestVersion"]["version"],
            &v["skill"]["latestVersion"]["version"],
            &v["latestVersion"],
            &v["skill"]["tags"]["latest"],
            &v["tags"]["latest"],
            &v["version"],
        ];
        for c in candidates {
            if let Some(s) = c.as_str() {
                return Version::parse(s).map(Some);
            }
        }
        Ok(None)
    }

    /// Publishes `pkg` after checking its version is above the published one (the error says
    /// which version to bump past). Needs a token.
    pub async fn publish(
        &self,
        pkg: &SkillPackage,
        opts: &PublishOptions,
    ) -> ServiceResult<Published> {
        if opts.categories.len() > 3 || opts.topics.len() > 5 {
            return Err(ServiceError::Invalid(
                "ClawHub takes at most 3 categories and 5 topics".into(),
            ));
        }
        if let Some(published) = self.latest_version(&pkg.slug).await? {
            if pkg.version <= published {
                return Err(ServiceError::Invalid(format!(
                    "{} {} is already published (latest {published}): bump `version` in SKILL.md",
                    pkg.slug, pkg.version
                )));
            }
        }
        let payload = json!({
            "slug": pkg.slug,
            "displayName": opts.display_name.clone().unwrap_or_else(|| pkg.slug.clone()),
            "version": pkg.version.to_string(),
            "changelog": opts.changelog,
            "acceptLicenseTerms": true,
            "tags": if opts.tags.is_empty() { vec!["latest".to_string()] } else { opts.tags.clone() },
            "categories": opts.categories,
            "topics": opts.topics,
            "files": pkg.files,
        });
        let boundary = format!("synthcity{:016x}", fnv(&payload.to_string()));
        let body = multipart(&boundary, &payload, pkg);
        let ct = format!("multipart/form-data; boundary={boundary}");
        let resp = self
            .api
            .send(Method::POST, "/api/v1/skills", Retry::Once, |rb| {
                rb.header("content-type", ct.as_str()).body(body.clone())
            })
            .await?;
        let mut out: Published = resp.json(SERVICE).unwrap_or(Published {
            slug: String::new(),
            version: String::new(),
            version_id: None,
            publication_status: None,
            url: String::new(),
        });
        if out.slug.is_empty() {
            out.slug = pkg.slug.clone();
        }
        if out.version.is_empty() {
            out.version = pkg.version.to_string();
        }
        if out.url.is_empty() {
            out.url = format!("{}/skills/{}", self.api.base_url(), pkg.slug);
        }
        Ok(out)
    }
}

/// A `multipart/form-data` body: the `payload` JSON part, then one `files` part per file named
/// by its path (as the `clawhub` CLI sends them).
fn multipart(boundary: &str, payload: &Value, pkg: &SkillPackage) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"payload\"\r\nContent-Type: application/json\r\n\r\n{payload}\r\n"
        )
        .as_bytes(),
    );
    for f in &pkg.files {
        let name = f.path.replace(['"', '\r', '\n'], "_");
        b.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: {}\r\n\r\n",
                f.content_type
            )
            .as_bytes(),
        );
        b.extend_from_slice(&f.bytes);
        b.extend_from_slice(b"\r\n");
    }
    b.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    b
}

/// FNV-1a of `s`: a boundary that depends on the content (deterministic, unlikely in it).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
