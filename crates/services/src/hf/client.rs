//! The Hub client: repositories, commits (preupload → LFS → NDJSON commit), listing and
//! verified downloads.

use std::time::Duration;

use reqwest::Method;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::commit::{ndjson, CommitOp, PreuploadAnswer, PreuploadFile, PreuploadRequest};
use super::lfs::{self, LfsObject};
use super::{encode_path, encode_segment, HubConfig, RepoId, RepoKind, UploadMode, SERVICE};
use crate::http::{Auth, HttpSettings};
use crate::{HttpClient, Retry, ServiceError, ServiceResult};

/// Largest single file [`HubClient::download`] reads (2 GiB).
pub const MAX_DOWNLOAD: usize = 2 << 30;

/// A file to commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadFile {
    /// Path in the repository (`/`-separated, relative).
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What a commit made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommitInfo {
    /// Web address of the commit.
    pub commit_url: String,
    /// Commit id.
    pub commit_oid: String,
    /// Files sent through LFS storage (already-stored objects not counted).
    #[serde(default, skip_deserializing)]
    pub lfs_uploaded: usize,
}

/// A file of a revision, as the tree listing reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RepoFile {
    /// Path in the repository.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 (hex) for LFS files; downloads are checked against it.
    pub lfs_sha256: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TreeEntry {
    #[serde(rename = "type")]
    kind: String,
    path: String,
    #[serde(default)]
    size: u64,
    #[serde(default)]
    lfs: Option<TreeLfs>,
}

#[derive(Debug, Deserialize)]
struct TreeLfs {
    oid: String,
    #[serde(default)]
    size: u64,
}

/// A Hub client: `api` carries the token; `storage` (no token) PUTs to pre-signed LFS URLs.
#[derive(Debug, Clone)]
pub struct HubClient {
    api: HttpClient,
    storage: HttpClient,
}

impl HubClient {
    /// A client for `cfg` (token optional: enough for public downloads).
    pub fn new(cfg: &HubConfig) -> ServiceResult<Self> {
        Self::with_settings(cfg, HttpSettings::default())
    }

    /// [`HubClient::new`] with explicit timeouts and retries (tests).
    pub fn with_settings(cfg: &HubConfig, settings: HttpSettings) -> ServiceResult<Self> {
        let auth = cfg.token.clone().map_or(Auth::None, Auth::Bearer);
        let api = HttpClient::new(SERVICE, cfg.endpoint.clone(), auth, settings.clone())?;
        let storage = HttpClient::new(
            SERVICE,
            cfg.endpoint.clone(),
            Auth::None,
            HttpSettings {
                // Weights can be large; an upload may take a while.
                timeout: settings.timeout.max(Duration::from_secs(600)),
                ..settings
            },
        )?;
        Ok(Self { api, storage })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &str {
        self.api.base_url()
    }

    /// Web address of a model repository.
    pub fn repo_url(&self, repo: &RepoId) -> String {
        self.repo_url_of(RepoKind::Model, repo)
    }

    /// Web address of a repository of `kind` (`…/datasets/owner/name` for a dataset).
    pub fn repo_url_of(&self, kind: RepoKind, repo: &RepoId) -> String {
        format!("{}/{}{repo}", self.endpoint(), kind.url_prefix())
    }

    /// Download address of `path` at `revision` of a repository of `kind` (what
    /// `hf_hub_url` gives: `…/[datasets/]owner/name/resolve/<rev>/<path>`).
    pub fn file_url(&self, kind: RepoKind, repo: &RepoId, revision: &str, path: &str) -> String {
        format!(
            "{}/resolve/{}/{}",
            self.repo_url_of(kind, repo),
            encode_segment(revision),
            encode_path(path)
        )
    }

    /// Creates model repository `repo` (private or public). One that exists already is fine
    /// (the Hub answers 409): returns whether it was created now.
    pub async fn create_repo(&self, repo: &RepoId, private: bool) -> ServiceResult<bool> {
        self.create_repo_of(RepoKind::Model, repo, private).await
    }

    /// Creates repository `repo` of `kind` (private or public); one that exists already is
    /// fine: returns whether it was created now.
    pub async fn create_repo_of(
        &self,
        kind: RepoKind,
        repo: &RepoId,
        private: bool,
    ) -> ServiceResult<bool> {
        let body = serde_json::json!({
            "name": repo.name(),
            "organization": repo.owner(),
            "type": kind.as_str(),
            "private": private,
        });
        let bytes = serde_json::to_vec(&body).map_err(|e| ServiceError::Invalid(e.to_string()))?;
        match self
            .api
            .send(Method::POST, "/api/repos/create", Retry::Once, |rb| {
                rb.header("content-type", "application/json")
                    .body(bytes.clone())
            })
            .await
        {
            Ok(_) => Ok(true),
            Err(ServiceError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Commits `files` to `revision` of model repository `repo` in one commit: asks the Hub
    /// which need LFS, uploads those, then sends the commit. Nothing is committed unless every
    /// upload succeeded; uploaded LFS objects without a commit are invisible in the repository.
    pub async fn upload_files(
        &self,
        repo: &RepoId,
        revision: &str,
        files: &[UploadFile],
        summary: &str,
    ) -> ServiceResult<CommitInfo> {
        self.upload_files_to(RepoKind::Model, repo, revision, files, summary)
            .await
    }

    /// [`HubClient::upload_files`] for a repository of `kind`.
    pub async fn upload_files_to(
        &self,
        kind: RepoKind,
        repo: &RepoId,
        revision: &str,
        files: &[UploadFile],
        summary: &str,
    ) -> ServiceResult<CommitInfo> {
        let api = kind.api_segment();
        for f in files {
            check_path(&f.path)?;
        }
        let shas: Vec<String> = files
            .iter()
            .map(|f| hex::encode(Sha256::digest(&f.bytes)))
            .collect();
        let rev = encode_segment(revision);
        let repo_path = encode_path(&repo.to_string());
        // 1. Preupload: which files go through LFS.
        let req = PreuploadRequest {
            files: files
                .iter()
                .zip(&shas)
                .map(|(f, sha)| PreuploadFile {
                    path: &f.path,
                    sample: super::preupload_sample(&f.bytes),
                    size: f.bytes.len() as u64,
                    sha,
                })
                .collect(),
        };
        let answer: PreuploadAnswer = self
            .api
            .json(
                Method::POST,
                &format!("/api/{api}/{repo_path}/preupload/{rev}"),
                &req,
                Retry::Idempotent,
            )
            .await?;
        // 2. LFS uploads; 3. the commit naming everything.
        let mut ops = Vec::new();
        let mut lfs_objects = Vec::new();
        for (f, sha) in files.iter().zip(&shas) {
            let a = answer.files.iter().find(|a| a.path == f.path);
            if a.is_some_and(|a| a.should_ignore) {
                return Err(ServiceError::Invalid(format!(
                    "the Hub ignores {} (.gitignore of the repository)",
                    f.path
                )));
            }
            match a.map_or(UploadMode::Regular, |a| a.upload_mode) {
                UploadMode::Lfs => {
                    lfs_objects.push(LfsObject {
                        oid: sha,
                        bytes: &f.bytes,
                    });
                    ops.push(CommitOp::LfsFile {
                        path: f.path.clone(),
                        oid: sha.clone(),
                        size: f.bytes.len() as u64,
                    });
                }
                UploadMode::Regular => ops.push(CommitOp::File {
                    path: f.path.clone(),
                    content: f.bytes.clone(),
                }),
            }
        }
        let git_repo = format!("{}{repo}", kind.url_prefix());
        let lfs_uploaded = lfs::upload(&self.api, &self.storage, &git_repo, &lfs_objects).await?;
        let body = ndjson(summary, &ops)?;
        // Not retried after it may have reached the server: a second identical commit would be
        // an empty one at best, a conflict at worst.
        let mut info: CommitInfo = self
            .api
            .send(
                Method::POST,
                &format!("/api/{api}/{repo_path}/commit/{rev}"),
                Retry::Once,
                |rb| {
                    rb.header("content-type", "application/x-ndjson")
                        .body(body.clone())
                },
            )
            .await?
            .json(SERVICE)?;
        info.lfs_uploaded = lfs_uploaded;
        Ok(info)
    }

    /// Every file of `revision` of model repository `repo` (recursive listing).
    pub async fn list_files(&self, repo: &RepoId, revision: &str) -> ServiceResult<Vec<RepoFile>> {
        self.list_files_of(RepoKind::Model, repo, revision).await
    }

    /// Every file of `revision` of repository `repo` of `kind` (recursive listing).
    pub async fn list_files_of(
        &self,
        kind: RepoKind,
        repo: &RepoId,
        revision: &str,
    ) -> ServiceResult<Vec<RepoFile>> {
        let path = format!(
            "/api/{}/{}/tree/{}",
            kind.api_segment(),
            encode_path(&repo.to_string()),
            encode_segment(revision)
        );
        let entries: Vec<TreeEntry> = self.api.get_json(&path, &[("recursive", "true")]).await?;
        Ok(entries
            .into_iter()
            .filter(|e| e.kind == "file")
            .map(|e| RepoFile {
                size: e.lfs.as_ref().map_or(e.size, |l| l.size.max(e.size)),
                lfs_sha256: e.lfs.map(|l| l.oid.to_ascii_lowercase()),
                path: e.path,
            })
            .collect())
    }

    /// Downloads `file` of `revision`, refusing more than `max_bytes` (capped at
    /// [`MAX_DOWNLOAD`]) and checking the size and, for LFS files, the SHA-256 the listing gave.
    pub async fn download(
        &self,
        repo: &RepoId,
        revision: &str,
        file: &RepoFile,
        max_bytes: usize,
    ) -> ServiceResult<Vec<u8>> {
        check_path(&file.path)?;
        let url = format!(
            "/{}/resolve/{}/{}",
            encode_path(&repo.to_string()),
            encode_segment(revision),
            encode_path(&file.path)
        );
        let cap = max_bytes.min(MAX_DOWNLOAD);
        let body = self
            .api
            .send_capped(Method::GET, &url, Retry::Idempotent, cap, |rb| rb)
            .await?
            .body;
        if body.len() as u64 != file.size {
            return Err(ServiceError::Parse {
                service: SERVICE,
                detail: format!(
                    "{}: got {} bytes, the listing says {}",
                    file.path,
                    body.len(),
                    file.size
                ),
            });
        }
        if let Some(want) = &file.lfs_sha256 {
            let got = hex::encode(Sha256::digest(&body));
            if &got != want {
                return Err(ServiceError::Parse {
                    service: SERVICE,
                    detail: format!("{}: sha256 {got} differs from the Hub's {want}", file.path),
                });
            }
        }
        Ok(body)
    }
}

/// A repository path: relative, `/`-separated, no `..`, no empty or hidden-control segments.
fn check_path(p: &str) -> ServiceResult<()> {
    let ok = !p.is_empty()
        && p.len() <= 512
        && !p.starts_with('/')
        && p.split('/').all(|s| !s.is_empty() && s != "." && s != "..")
        && !p.chars().any(|c| c.is_control() || c == '\\');
    if ok {
        Ok(())
    } else {
        Err(ServiceError::Invalid(format!(
            "{p:?} is not a safe repository path"
        )))
    }
}
