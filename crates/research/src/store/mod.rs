//! Artifact storage: every result is written locally first (atomic files + a registry row and
//! outbox entries in one transaction), then synced to the remote (Hippius S3) when configured.

pub mod local;
pub mod remote;
pub mod sync;

use std::future::Future;
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use local::LocalStore;
pub use remote::{Remote, RemoteConfig};
pub use sync::{ManifestEntry, RestoreReport, SyncReport};

use crate::record::{ArtifactRef, RunRecord};
use crate::registry::{OutboxStatus, Registry, REGISTRY_FILE};
use crate::{ResearchError, Result};

/// Objects per manifest segment.
pub const SYNC_BATCH: usize = 64;

/// The registry, the local artifact store and the optional remote, together.
#[derive(Debug)]
pub struct Archive {
    /// The registry.
    pub registry: Registry,
    /// Local artifacts (`<data dir>/artifacts`).
    pub local: LocalStore,
    /// The remote, when configured.
    pub remote: Option<Remote>,
    dir: PathBuf,
}

/// Where the archive stands (for `store status`).
#[derive(Debug, Clone, Serialize)]
pub struct StoreStatus {
    /// Registry file.
    pub registry: PathBuf,
    /// Local artifacts directory.
    pub artifacts: PathBuf,
    /// Remote location (endpoint/bucket), or `None` when local-only.
    pub remote: Option<String>,
    /// Runs in the registry.
    pub runs: u64,
    /// Outbox counts.
    pub outbox: OutboxStatus,
}

impl Archive {
    /// Opens the archive in `market::home::data_dir()`, with the remote from `HIPPIUS_*`.
    pub fn open_default() -> Result<Self> {
        Self::open(&market::home::data_dir(), Remote::from_env()?)
    }

    /// Opens the archive in `dir` (registry file and `artifacts/` inside it).
    pub fn open(dir: &Path, remote: Option<Remote>) -> Result<Self> {
        Ok(Self {
            registry: Registry::open(dir.join(REGISTRY_FILE))?,
            local: LocalStore::new(dir.join("artifacts")),
            remote,
            dir: dir.to_path_buf(),
        })
    }

    /// The data directory holding the registry and artifacts.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where plots rendered on demand (not stored as artifacts) go: `<dir>/plots`.
    pub fn plots_dir(&self) -> PathBuf {
        self.dir.join("plots")
    }

    /// Stores a finished run: writes its files under `runs/<run_id>/`, then `record.json`
    /// (the record with its artifact list), then the registry row and outbox entries in one
    /// transaction. Returns the record with `artifacts` filled in.
    pub fn record_run(
        &self,
        mut rec: RunRecord,
        files: Vec<(String, Vec<u8>)>,
    ) -> Result<RunRecord> {
        for (name, bytes) in files {
            let key = format!("runs/{}/{name}", rec.run_id);
            let (sha256, size) = self.local.write(&key, &bytes)?;
            rec.artifacts.retain(|a| a.name != name);
            rec.artifacts.push(ArtifactRef {
                name,
                key,
                size,
                sha256,
            });
        }
        let key = format!("runs/{}/record.json", rec.run_id);
        let json =
            serde_json::to_vec_pretty(&rec).map_err(|e| ResearchError::env(e.to_string()))?;
        let (sha, size) = self.local.write(&key, &json)?;
        self.registry.insert_run(&rec, Some((&key, &sha, size)))?;
        Ok(rec)
    }

    /// Local path of a run's `record.json`.
    pub fn record_path(&self, run_id: &str) -> PathBuf {
        self.local.path(&format!("runs/{run_id}/record.json"))
    }

    /// Local path of a stored artifact.
    pub fn artifact_path(&self, a: &ArtifactRef) -> PathBuf {
        self.local.path(&a.key)
    }

    /// Uploads everything pending (blocking; safe to call inside or outside a tokio runtime).
    /// Local-only archives report everything as pending with an explanatory error.
    pub fn sync(&self) -> Result<SyncReport> {
        let Some(remote) = &self.remote else {
            return Ok(SyncReport {
                pending: self.registry.outbox_status()?.pending,
                error: Some(
                    "no remote configured (set HIPPIUS_ACCESS_KEY and HIPPIUS_SECRET_KEY)".into(),
                ),
                ..Default::default()
            });
        };
        block_on(sync::sync(&self.registry, &self.local, remote, SYNC_BATCH))?
    }

    /// Downloads the whole remote history named by its manifest (blocking).
    pub fn restore(&self) -> Result<RestoreReport> {
        let remote = self.remote.as_ref().ok_or_else(|| {
            ResearchError::env(
                "no remote configured (set HIPPIUS_ACCESS_KEY and HIPPIUS_SECRET_KEY)",
            )
        })?;
        block_on(sync::restore(&self.registry, &self.local, remote))?
    }

    /// Counts for `store status`.
    pub fn status(&self) -> Result<StoreStatus> {
        Ok(StoreStatus {
            registry: self.registry.path().to_path_buf(),
            artifacts: self.local.root().to_path_buf(),
            remote: self.remote.as_ref().map(|r| r.label().to_string()),
            runs: self.registry.count_runs()?,
            outbox: self.registry.outbox_status()?,
        })
    }
}

/// Runs a future to completion on a private single-thread runtime in a scoped thread, so it
/// works from sync code and from inside another runtime alike.
pub fn block_on<F: Future + Send>(fut: F) -> Result<F::Output>
where
    F::Output: Send,
{
    std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ResearchError::env(format!("tokio runtime: {e}")))?;
            Ok(rt.block_on(fut))
        })
        .join()
        .map_err(|_| ResearchError::env("storage thread panicked"))?
    })
}
