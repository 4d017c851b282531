//! Versioned, content-addressed snapshots of a small file tree on the remote (an OpenClaw
//! workspace's memory, skills and config): every version is kept, any version can be restored.
//!
//! Layout under a *space* (one per workspace):
//!
//! - `<space>/blobs/<sha256>`: each distinct file content once, named by its SHA-256;
//! - `<space>/versions/<id>.json`: one manifest per version (time, tree hash, every file's path,
//!   hash, size and executable bit). The id is `<UTC time>-<tree hash>`, so a plain listing of
//!   `versions/` gives the history in order, with each version's time and hash.
//!
//! Crash safety is the research outbox's rule: a push writes every missing blob first and the
//! manifest last, so a push interrupted at any point leaves no version that names a missing
//! blob; the versions before it stay complete and restorable, and the blobs already uploaded
//! are reused by the next push. [`materialise`] restores into a temporary folder beside the
//! target and swaps it in with renames, so the target is the old tree or the new one.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::local::validate_key;
use super::remote::{describe, Remote};
use crate::fingerprint::sha256_hex;
use crate::{ResearchError, Result};

/// Manifest format written by this version.
pub const FORMAT: u32 = 1;

/// Largest manifest read back (a listing of a few thousand files fits easily).
pub const MAX_MANIFEST_BYTES: usize = 8 * 1024 * 1024;

/// Time format in version ids (sortable as text).
const TIME_FORMAT: &str = "%Y%m%dT%H%M%S%.3fZ";

/// One file of a snapshot, with its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    /// `/`-separated path relative to the tree's root (checked by [`validate_path`]).
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
    /// Whether the file is executable (scripts of a skill).
    pub executable: bool,
}

/// One file as a manifest names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    /// Path relative to the tree's root.
    pub path: String,
    /// SHA-256 of the content (the blob's name).
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Executable bit.
    #[serde(default)]
    pub executable: bool,
}

/// The manifest of one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotManifest {
    /// Manifest format ([`FORMAT`]).
    pub format: u32,
    /// Version id (`<time>-<hash>`).
    pub version: String,
    /// Tree hash ([`tree_hash`] of `files`).
    pub hash: String,
    /// When the version was pushed.
    pub created_at: DateTime<Utc>,
    /// The version this one followed, if any.
    #[serde(default)]
    pub parent: Option<String>,
    /// Every file, sorted by path.
    pub files: Vec<SnapshotEntry>,
}

/// A version as the history lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    /// Version id (`<time>-<hash>`).
    pub version: String,
    /// When it was pushed.
    pub created_at: DateTime<Utc>,
    /// Tree hash.
    pub hash: String,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushReport {
    /// The version now latest (the new one, or the existing one when nothing changed).
    pub version: VersionInfo,
    /// False when the tree equals the latest version's (no new version written).
    pub created: bool,
    /// Files in the tree.
    pub files: u64,
    /// Blobs uploaded by this push.
    pub blobs_uploaded: u64,
    /// Blobs already on the remote (reused).
    pub blobs_reused: u64,
    /// Bytes uploaded.
    pub bytes_uploaded: u64,
}

/// Checks a snapshot path: relative, `/`-separated, no empty, `.` or `..` segment, no control
/// characters or backslashes, at most 1024 bytes.
pub fn validate_path(path: &str) -> Result<()> {
    let ok = !path.is_empty()
        && path.len() <= 1024
        && !path.starts_with('/')
        && path.split('/').all(|s| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && !s.chars().any(|c| c.is_control() || c == '\\')
        });
    if ok {
        Ok(())
    } else {
        Err(ResearchError::invalid(format!(
            "invalid snapshot path {path:?}"
        )))
    }
}

/// The tree hash: SHA-256 over the sorted `(path, sha256, executable)` lines. Two trees with
/// the same files, contents and modes have the same hash.
pub fn tree_hash(entries: &[SnapshotEntry]) -> String {
    let mut lines: Vec<String> = entries
        .iter()
        .map(|e| format!("{}\0{}\0{}\n", e.path, e.sha256, u8::from(e.executable)))
        .collect();
    lines.sort();
    sha256_hex(lines.concat().as_bytes())
}

/// Parses a version id (`<time>-<hash>`).
fn parse_version(id: &str) -> Option<VersionInfo> {
    let (time, hash) = id.split_once('-')?;
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let t = NaiveDateTime::parse_from_str(time, TIME_FORMAT).ok()?;
    Some(VersionInfo {
        version: id.to_string(),
        created_at: t.and_utc(),
        hash: hash.to_string(),
    })
}

/// Versioned snapshots of one tree (a *space*) on a remote.
#[derive(Debug, Clone)]
pub struct Snapshots {
    remote: Remote,
    space: String,
}

impl Snapshots {
    /// Snapshots under `space` (an object-key prefix such as `openclaw/main`) on `remote`.
    pub fn new(remote: Remote, space: &str) -> Result<Self> {
        let space = space.trim_matches('/').to_string();
        validate_key(&space)?;
        Ok(Self { remote, space })
    }

    /// The remote.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The space (key prefix).
    pub fn space(&self) -> &str {
        &self.space
    }

    /// Key of the blob with this hash.
    pub fn blob_key(&self, sha256: &str) -> String {
        format!("{}/blobs/{sha256}", self.space)
    }

    /// Key of a version's manifest.
    pub fn version_key(&self, version: &str) -> String {
        format!("{}/versions/{version}.json", self.space)
    }

    /// Every version, oldest first (one listing of `versions/`; manifests are not read).
    pub async fn history(&self) -> Result<Vec<VersionInfo>> {
        let prefix = self.remote.path(&format!("{}/versions", self.space));
        let metas: Vec<_> = self
            .remote
            .store()
            .list(Some(&prefix))
            .try_collect()
            .await
            .map_err(|e| ResearchError::env(format!("listing versions: {}", describe(&e))))?;
        let mut out: Vec<VersionInfo> = metas
            .iter()
            .filter_map(|m| {
                let key = self.remote.key_of(&m.location);
                let name = key.rsplit('/').next()?.strip_suffix(".json")?.to_string();
                parse_version(&name)
            })
            .collect();
        out.sort_by(|a, b| a.version.cmp(&b.version));
        Ok(out)
    }

    /// The version a selector names: `latest`, a whole version id, or a unique prefix of a
    /// version id or of a tree hash (at least 4 characters).
    pub async fn resolve(&self, selector: &str) -> Result<VersionInfo> {
        let history = self.history().await?;
        let sel = selector.trim();
        if sel.eq_ignore_ascii_case("latest") {
            return history
                .last()
                .cloned()
                .ok_or_else(|| ResearchError::not_found("no version pushed yet"));
        }
        if let Some(v) = history.iter().find(|v| v.version == sel) {
            return Ok(v.clone());
        }
        if sel.len() < 4 {
            return Err(ResearchError::invalid(format!(
                "version {sel:?}: give `latest`, a version id or at least 4 characters of one"
            )));
        }
        let hits: Vec<&VersionInfo> = history
            .iter()
            .filter(|v| v.version.starts_with(sel) || v.hash.starts_with(sel))
            .collect();
        match hits.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(ResearchError::not_found(format!(
                "no version matches {sel:?}"
            ))),
            many => Err(ResearchError::invalid(format!(
                "{sel:?} matches {} versions; give more characters",
                many.len()
            ))),
        }
    }

    /// Reads a version's manifest (checked: its tree hash matches its files and its id).
    pub async fn manifest(&self, version: &str) -> Result<SnapshotManifest> {
        let key = self.version_key(version);
        let bytes = self.get(&key, MAX_MANIFEST_BYTES).await?;
        let m: SnapshotManifest = serde_json::from_slice(&bytes)
            .map_err(|e| ResearchError::env(format!("{key}: bad manifest: {e}")))?;
        if m.version != version || tree_hash(&m.files) != m.hash || !version.ends_with(&m.hash) {
            return Err(ResearchError::env(format!(
                "{key}: manifest does not match its version id or files"
            )));
        }
        for f in &m.files {
            validate_path(&f.path)?;
        }
        Ok(m)
    }

    /// Pushes `files` as a new version dated `now`: missing blobs first, the manifest last.
    /// When the tree equals the latest version's, nothing is written (`created: false`).
    pub async fn push(&self, files: Vec<SnapshotFile>, now: DateTime<Utc>) -> Result<PushReport> {
        let mut files = files;
        files.sort_by(|a, b| a.path.cmp(&b.path));
        if let Some(w) = files.windows(2).find(|w| w[0].path == w[1].path) {
            return Err(ResearchError::invalid(format!(
                "snapshot path {:?} given twice",
                w[0].path
            )));
        }
        let mut entries = Vec::with_capacity(files.len());
        for f in &files {
            validate_path(&f.path)?;
            entries.push(SnapshotEntry {
                path: f.path.clone(),
                sha256: sha256_hex(&f.bytes),
                size: f.bytes.len() as u64,
                executable: f.executable,
            });
        }
        let hash = tree_hash(&entries);
        let history = self.history().await?;
        let parent = history.last().cloned();
        let mut report = PushReport {
            version: VersionInfo {
                version: String::new(),
                created_at: now,
                hash: hash.clone(),
            },
            created: false,
            files: files.len() as u64,
            blobs_uploaded: 0,
            blobs_reused: 0,
            bytes_uploaded: 0,
        };
        if let Some(p) = &parent {
            if p.hash == hash {
                report.version = p.clone();
                return Ok(report);
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (f, e) in files.into_iter().zip(&entries) {
            if !seen.insert(e.sha256.clone()) {
                continue;
            }
            let path = self.remote.path(&self.blob_key(&e.sha256));
            match self.remote.store().head(&path).await {
                Ok(meta) if meta.size == e.size => {
                    report.blobs_reused += 1;
                    continue;
                }
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(err) => {
                    return Err(ResearchError::env(format!(
                        "checking blob {}: {}",
                        e.sha256,
                        describe(&err)
                    )))
                }
            }
            let n = f.bytes.len() as u64;
            self.remote
                .store()
                .put(&path, PutPayload::from(f.bytes))
                .await
                .map_err(|err| {
                    ResearchError::env(format!("uploading {}: {}", e.path, describe(&err)))
                })?;
            report.blobs_uploaded += 1;
            report.bytes_uploaded += n;
        }
        // A version id must sort after its parent even if the clock went back.
        let mut created_at = now;
        if let Some(p) = &parent {
            if created_at <= p.created_at {
                created_at = p.created_at + chrono::Duration::milliseconds(1);
            }
        }
        let version = format!("{}-{hash}", created_at.format(TIME_FORMAT));
        // The id's time is cut to milliseconds; keep the manifest's time the same.
        let created_at = parse_version(&version)
            .map(|v| v.created_at)
            .unwrap_or(created_at);
        let manifest = SnapshotManifest {
            format: FORMAT,
            version: version.clone(),
            hash: hash.clone(),
            created_at,
            parent: parent.map(|p| p.version),
            files: entries,
        };
        let body = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| ResearchError::env(format!("encoding the manifest: {e}")))?;
        let key = self.version_key(&version);
        self.remote
            .store()
            .put(&self.remote.path(&key), PutPayload::from(body))
            .await
            .map_err(|e| ResearchError::env(format!("writing {key}: {}", describe(&e))))?;
        report.version = VersionInfo {
            version,
            created_at,
            hash,
        };
        report.created = true;
        Ok(report)
    }

    /// Downloads every file of a manifest, each checked against its hash and size.
    pub async fn fetch(&self, manifest: &SnapshotManifest) -> Result<Vec<SnapshotFile>> {
        let mut out = Vec::with_capacity(manifest.files.len());
        for e in &manifest.files {
            let key = self.blob_key(&e.sha256);
            let cap = usize::try_from(e.size).unwrap_or(usize::MAX);
            let bytes = self.get(&key, cap).await?;
            if bytes.len() as u64 != e.size || sha256_hex(&bytes) != e.sha256 {
                return Err(ResearchError::env(format!(
                    "{}: content does not match the manifest",
                    e.path
                )));
            }
            out.push(SnapshotFile {
                path: e.path.clone(),
                bytes,
                executable: e.executable,
            });
        }
        Ok(out)
    }

    /// Reads an object, refusing one larger than `cap` bytes.
    async fn get(&self, key: &str, cap: usize) -> Result<Vec<u8>> {
        let path = self.remote.path(key);
        let got = self.remote.store().get(&path).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => {
                ResearchError::not_found(format!("{key}: not on the remote"))
            }
            e => ResearchError::env(format!("reading {key}: {}", describe(&e))),
        })?;
        if got.meta.size > cap as u64 {
            return Err(ResearchError::env(format!(
                "{key}: {} bytes, more than the {cap} expected",
                got.meta.size
            )));
        }
        let bytes = got
            .bytes()
            .await
            .map_err(|e| ResearchError::env(format!("reading {key}: {}", describe(&e))))?;
        Ok(bytes.to_vec())
    }
}

/// Writes `files` as the whole content of folder `dir`, replacing what is there: the tree is
/// written into a temporary folder beside `dir`, then `dir` is renamed aside and the new tree
/// renamed into place, so `dir` holds the old tree or the new one, never a mix; should writing
/// or the swap fail, `dir` keeps its old content. `carry` names paths (files or folders,
/// relative to `dir`) of the old tree that move into the new one where the snapshot has
/// nothing (local-only things: secrets, `.git`, installed packages). The old tree is removed
/// once everything carried has moved; if a move fails it is kept and the error names it.
pub fn materialise(dir: &Path, files: &[SnapshotFile], carry: &[PathBuf]) -> Result<()> {
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| ResearchError::invalid(format!("{}: not a folder name", dir.display())))?;
    for f in files {
        validate_path(&f.path)?;
    }
    for c in carry {
        validate_path(&c.to_string_lossy())?;
    }
    std::fs::create_dir_all(&parent)?;
    let tmp = parent.join(format!(".{name}.restore-{:016x}", rand::random::<u64>()));
    std::fs::create_dir(&tmp)
        .map_err(|e| ResearchError::env(format!("temporary folder {}: {e}", tmp.display())))?;
    let written = fill(&tmp, files).and_then(|()| {
        swap(dir, &parent, &name, &tmp)
            .map_err(|e| ResearchError::env(format!("replacing {}: {e}", dir.display())))
    });
    let aside = match written {
        Ok(aside) => aside,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    if let Some(aside) = aside {
        for rel in carry {
            let from = aside.join(rel);
            let to = dir.join(rel);
            if std::fs::symlink_metadata(&from).is_err() || std::fs::symlink_metadata(&to).is_ok() {
                continue;
            }
            let moved = to
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::rename(&from, &to));
            if let Err(e) = moved {
                return Err(ResearchError::env(format!(
                    "restored {}, but could not carry {} over ({e}); the previous tree is \
                     kept at {}",
                    dir.display(),
                    rel.display(),
                    aside.display()
                )));
            }
        }
        let _ = std::fs::remove_dir_all(&aside);
    }
    if let Ok(d) = std::fs::File::open(&parent) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes the new tree into `tmp`.
fn fill(tmp: &Path, files: &[SnapshotFile]) -> Result<()> {
    for f in files {
        let path = tmp.join(&f.path);
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        let mode = if f.executable { 0o755 } else { 0o644 };
        market::atomic::write_atomic_mode(&path, &f.bytes, mode)
            .map_err(|e| ResearchError::env(format!("writing {}: {e}", path.display())))?;
    }
    Ok(())
}

/// Moves `dir` aside and `tmp` into its place; on failure `dir` is put back. Returns where the
/// old tree went (none when there was none).
fn swap(dir: &Path, parent: &Path, name: &str, tmp: &Path) -> std::io::Result<Option<PathBuf>> {
    if std::fs::symlink_metadata(dir).is_err() {
        std::fs::rename(tmp, dir)?;
        return Ok(None);
    }
    let aside = parent.join(format!(".{name}.old-{:016x}", rand::random::<u64>()));
    std::fs::rename(dir, &aside)?;
    if let Err(e) = std::fs::rename(tmp, dir) {
        let _ = std::fs::rename(&aside, dir);
        return Err(e);
    }
    Ok(Some(aside))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, body: &str) -> SnapshotFile {
        SnapshotFile {
            path: path.into(),
            bytes: body.as_bytes().to_vec(),
            executable: false,
        }
    }

    #[test]
    fn paths_are_checked() {
        assert!(validate_path("memory/2026-12-06.md").is_ok());
        assert!(validate_path("skills/a b/SKILL.md").is_ok());
        for bad in ["", "/etc/passwd", "a/../b", "a//b", "./a", "a\\b", "a\nb"] {
            assert!(validate_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn version_ids_round_trip() {
        let hash = "ab".repeat(32);
        let id = format!("20261206T132500.123Z-{hash}");
        let v = parse_version(&id).unwrap();
        assert_eq!(v.hash, hash);
        assert_eq!(v.created_at.timestamp_millis() % 1000, 123);
        assert!(parse_version("20261206T132500.123Z-abc").is_none());
        assert!(parse_version("yesterday-".to_string().as_str()).is_none());
    }

    #[test]
    fn tree_hash_ignores_order_but_not_mode() {
        let e = |p: &str, x: bool| SnapshotEntry {
            path: p.into(),
            sha256: sha256_hex(p.as_bytes()),
            size: 1,
            executable: x,
        };
        let a = tree_hash(&[e("a", false), e("b", false)]);
        assert_eq!(a, tree_hash(&[e("b", false), e("a", false)]));
        assert_ne!(a, tree_hash(&[e("a", true), e("b", false)]));
    }

    #[test]
    fn materialise_replaces_the_tree_and_carries_local_files() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ws");
        std::fs::create_dir_all(dir.join("memory")).unwrap();
        std::fs::create_dir_all(dir.join(".git/objects")).unwrap();
        std::fs::write(dir.join("memory/old.md"), "old").unwrap();
        std::fs::write(dir.join(".env"), "SECRET=1").unwrap();
        std::fs::write(dir.join(".git/objects/x"), "x").unwrap();
        materialise(
            &dir,
            &[file("memory/new.md", "new"), file("SOUL.md", "soul")],
            &[
                PathBuf::from(".env"),
                PathBuf::from(".git"),
                PathBuf::from("absent"),
            ],
        )
        .unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join(".git/objects/x")).unwrap(),
            "x"
        );
        assert!(!dir.join("memory/old.md").exists());
        assert_eq!(
            std::fs::read_to_string(dir.join("memory/new.md")).unwrap(),
            "new"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join(".env")).unwrap(),
            "SECRET=1"
        );
        let leftovers: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "temporary folders left: {leftovers:?}");
    }

    #[test]
    fn materialise_refusing_a_bad_path_leaves_the_tree_alone() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("ws");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("keep.md"), "keep").unwrap();
        let bad = [file("ok.md", "x"), file("../escape.md", "x")];
        assert!(materialise(&dir, &bad, &[]).is_err());
        assert_eq!(
            std::fs::read_to_string(dir.join("keep.md")).unwrap(),
            "keep"
        );
        assert!(!root.path().join("escape.md").exists());
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
