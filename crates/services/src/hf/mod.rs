//! Hugging Face Hub: create a model or dataset repository ([`RepoKind`]), commit files to it
//! (small ones inline, large and binary ones through Git LFS), list a revision's files and
//! download them with their hashes checked. The protocol is the Hub's commit API (services.md
//! §10a): preupload → LFS batch + PUT → NDJSON commit; a dataset repository's API paths are
//! `/api/datasets/…` and its Git and file paths `/datasets/<owner>/<name>…`.
//!
//! Configuration: `HF_TOKEN` (a write token; reading public repositories needs none),
//! `HF_ENDPOINT` (default `https://huggingface.co`; self-hosted hubs and tests), `HF_REPO_ID`
//! (the default repository, `owner/name`).

mod client;
mod commit;
mod lfs;

pub use client::{CommitInfo, HubClient, RepoFile, UploadFile};
pub use commit::{preupload_sample, CommitOp, UploadMode};

use crate::{Secret, ServiceError, ServiceResult};

/// Service name in messages.
pub const SERVICE: &str = "Hugging Face Hub";
/// Variable holding the token.
pub const TOKEN_VAR: &str = "HF_TOKEN";
/// Variable holding the endpoint.
pub const ENDPOINT_VAR: &str = "HF_ENDPOINT";
/// Variable holding the default repository.
pub const REPO_VAR: &str = "HF_REPO_ID";
/// The public Hub.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// Where the Hub is and who we are there, from the environment.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Base URL (no trailing `/`).
    pub endpoint: String,
    /// Token, when set.
    pub token: Option<Secret>,
    /// Default repository (`HF_REPO_ID`), when set.
    pub default_repo: Option<RepoId>,
}

impl HubConfig {
    /// Reads `HF_ENDPOINT`, `HF_TOKEN` and `HF_REPO_ID`. A malformed `HF_REPO_ID` is an error.
    pub fn from_env() -> ServiceResult<Self> {
        let default_repo = match std::env::var(REPO_VAR) {
            Ok(v) if !v.trim().is_empty() => Some(RepoId::parse(v.trim())?),
            _ => None,
        };
        Ok(Self {
            endpoint: crate::env::base_url(ENDPOINT_VAR, DEFAULT_ENDPOINT),
            token: crate::env::secret(SERVICE, TOKEN_VAR).ok(),
            default_repo,
        })
    }

    /// The token, or [`ServiceError::NotConfigured`] naming `HF_TOKEN`.
    pub fn require_token(&self) -> ServiceResult<Secret> {
        self.token.clone().ok_or(ServiceError::NotConfigured {
            service: SERVICE,
            var: TOKEN_VAR,
        })
    }

    /// `explicit`, else `HF_REPO_ID`, else an error naming both.
    pub fn repo(&self, explicit: Option<&str>) -> ServiceResult<RepoId> {
        match explicit {
            Some(r) => RepoId::parse(r),
            None => self
                .default_repo
                .clone()
                .ok_or(ServiceError::NotConfigured {
                    service: SERVICE,
                    var: REPO_VAR,
                }),
        }
    }
}

/// The kind of a Hub repository: where its API and file paths live.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum RepoKind {
    /// A model repository (`/api/models/…`, files at `/<owner>/<name>/…`).
    #[default]
    Model,
    /// A dataset repository (`/api/datasets/…`, files at `/datasets/<owner>/<name>/…`).
    Dataset,
}

impl RepoKind {
    /// The `type` of `POST /api/repos/create`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model => "model",
            Self::Dataset => "dataset",
        }
    }

    /// The API path segment (`models`, `datasets`).
    pub(crate) fn api_segment(self) -> &'static str {
        match self {
            Self::Model => "models",
            Self::Dataset => "datasets",
        }
    }

    /// The prefix of the repository's web, Git and file paths (empty for models).
    pub(crate) fn url_prefix(self) -> &'static str {
        match self {
            Self::Model => "",
            Self::Dataset => "datasets/",
        }
    }
}

/// A repository id, `owner/name`, checked to the Hub's rules (letters, digits, `-`, `_`, `.`;
/// no `..`, nothing else), so it is safe in a URL path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoId {
    owner: String,
    name: String,
}

impl RepoId {
    /// Parses `owner/name`.
    pub fn parse(s: &str) -> ServiceResult<Self> {
        let bad = || {
            ServiceError::Invalid(format!(
                "{s:?} is not a Hub repository id: expected owner/name (letters, digits, - _ .)"
            ))
        };
        let (owner, name) = s.split_once('/').ok_or_else(bad)?;
        let ok = |p: &str| {
            !p.is_empty()
                && p.len() <= 96
                && !p.contains("..")
                && !p.starts_with(['.', '-'])
                && !p.ends_with('.')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !ok(owner) || !ok(name) {
            return Err(bad());
        }
        Ok(Self {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    /// The owner (user or organisation).
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The repository name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl std::fmt::Display for RepoId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl TryFrom<String> for RepoId {
    type Error = ServiceError;
    fn try_from(s: String) -> ServiceResult<Self> {
        RepoId::parse(&s)
    }
}

impl From<RepoId> for String {
    fn from(r: RepoId) -> String {
        r.to_string()
    }
}

/// A model reference `hf://owner/name[@revision]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRef {
    /// The repository.
    pub repo: RepoId,
    /// Branch, tag or commit (default `main`).
    pub revision: String,
}

impl HubRef {
    /// Parses `hf://owner/name[@revision]` (the `hf://` prefix may be left out).
    pub fn parse(s: &str) -> ServiceResult<Self> {
        let rest = s.trim().strip_prefix("hf://").unwrap_or(s.trim());
        let (repo, rev) = match rest.split_once('@') {
            Some((r, v)) => (r, v),
            None => (rest, "main"),
        };
        if rev.is_empty()
            || rev.len() > 128
            || rev.contains("..")
            || !rev
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        {
            return Err(ServiceError::Invalid(format!(
                "{rev:?} is not a revision (a branch, tag or commit id)"
            )));
        }
        Ok(Self {
            repo: RepoId::parse(repo)?,
            revision: rev.to_string(),
        })
    }
}

/// `s` percent-encoded as one URL path segment (`/` included).
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `path` with each segment percent-encoded (separators kept).
pub(crate) fn encode_path(path: &str) -> String {
    path.split('/')
        .map(encode_segment)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_ids_are_checked() {
        assert_eq!(
            RepoId::parse("synth-city/btc_lstm.v1").unwrap().to_string(),
            "synth-city/btc_lstm.v1"
        );
        for bad in [
            "x",
            "/x",
            "a/",
            "a/b/c",
            "a/../b",
            "a/b?c",
            "a/.hidden",
            "../x",
        ] {
            assert!(RepoId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hub_refs_parse() {
        let r = HubRef::parse("hf://a/b@v1.0").unwrap();
        assert_eq!(
            (r.repo.to_string(), r.revision.as_str()),
            ("a/b".into(), "v1.0")
        );
        assert_eq!(HubRef::parse("a/b").unwrap().revision, "main");
        assert!(HubRef::parse("hf://a/b@").is_err());
        assert!(HubRef::parse("hf://a/b@x y").is_err());
        assert_eq!(encode_segment("refs/pr/1"), "refs%2Fpr%2F1");
    }
}
