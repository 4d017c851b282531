//! Artifact storage: every result is written locally first (atomic files + a registry row and
//! outbox entries in one transaction), then synced to the remote (Hippius S3) when configured.

pub mod local;
pub mod remote;
pub mod snapshot;
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

/// What [`Archive::clean_orphans`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CleanReport {
    /// Temporary files of interrupted writes.
    pub temp_files: u64,
    /// Run folders with no registry row.
    pub run_dirs: u64,
}

/// Leftovers older than this process (less a margin, for a run another process was writing
/// when this one started) are orphans.
fn orphan_cutoff() -> std::time::SystemTime {
    let now = std::time::SystemTime::now();
    // On Linux /proc/self's modification time is the process start.
    let start = std::fs::metadata("/proc/self")
        .and_then(|m| m.modified())
        .unwrap_or(now);
    start.min(now) - std::time::Duration::from_secs(ORPHAN_MARGIN_SECS)
}

/// Margin before the process start past which leftovers count as orphans.
pub const ORPHAN_MARGIN_SECS: u64 = 300;

/// `.tmp-` followed by 16 hex digits: the temporary file of [`LocalStore::write`].
fn is_temp_name(name: &str) -> bool {
    name.strip_prefix(".tmp-")
        .is_some_and(|h| h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `<12 hex>-<8 hex>`: a run id.
fn is_run_id(name: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    name.split_once('-')
        .is_some_and(|(a, b)| hex(a, 12) && hex(b, 8))
}

/// The newest modification time of `dir` and everything in it (one level of subfolders).
fn newest_mtime(dir: &Path) -> Option<std::time::SystemTime> {
    let mut newest = std::fs::metadata(dir).and_then(|m| m.modified()).ok()?;
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let t = e.metadata().and_then(|m| m.modified()).ok()?;
        newest = newest.max(t);
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            newest = newest.max(newest_mtime(&e.path())?);
        }
    }
    Some(newest)
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

    /// Opens the archive in `dir` (registry file and `artifacts/` inside it), and removes what
    /// a run killed while writing left behind (see [`Archive::clean_orphans`]).
    pub fn open(dir: &Path, remote: Option<Remote>) -> Result<Self> {
        let archive = Self {
            registry: Registry::open(dir.join(REGISTRY_FILE))?,
            local: LocalStore::new(dir.join("artifacts")),
            remote,
            dir: dir.to_path_buf(),
        };
        match archive.clean_orphans(orphan_cutoff()) {
            Ok(c) if c.temp_files + c.run_dirs > 0 => tracing::info!(
                temp_files = c.temp_files,
                run_dirs = c.run_dirs,
                "removed what interrupted runs left in the artifact store"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not clean the artifact store"),
        }
        Ok(archive)
    }

    /// Removes, from `artifacts/runs/`, what a process killed mid-write leaves and nothing else:
    /// temporary files of [`LocalStore::write`] (`.tmp-<16 hex>`), and run folders (named like a
    /// run id) that have no registry row, both last modified before `cutoff` (so a run another
    /// process is writing right now is never touched). A run's files are written before its
    /// row, so such a folder is a run that never finished being recorded.
    pub fn clean_orphans(&self, cutoff: std::time::SystemTime) -> Result<CleanReport> {
        let mut report = CleanReport::default();
        let runs = self.local.root().join("runs");
        let Ok(entries) = std::fs::read_dir(&runs) else {
            return Ok(report);
        };
        let old = |p: &Path| {
            std::fs::symlink_metadata(p)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < cutoff)
        };
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            let dir = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !ft.is_dir() {
                if is_temp_name(&name) && old(&dir) && std::fs::remove_file(&dir).is_ok() {
                    report.temp_files += 1;
                }
                continue;
            }
            if !is_run_id(&name) {
                continue;
            }
            if !self.registry.has_run(&name)? {
                if old(&dir) && newest_mtime(&dir).is_some_and(|t| t < cutoff) {
                    std::fs::remove_dir_all(&dir)?;
                    report.run_dirs += 1;
                }
                continue;
            }
            for sub in [dir.clone(), dir.join("plots")] {
                let Ok(files) = std::fs::read_dir(&sub) else {
                    continue;
                };
                for f in files.flatten() {
                    let n = f.file_name().to_string_lossy().into_owned();
                    let p = f.path();
                    if is_temp_name(&n)
                        && f.file_type().is_ok_and(|t| t.is_file())
                        && old(&p)
                        && std::fs::remove_file(&p).is_ok()
                    {
                        report.temp_files += 1;
                    }
                }
            }
        }
        Ok(report)
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
