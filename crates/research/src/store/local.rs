//! The local artifact store: plain files under `data_dir()/artifacts`, written atomically
//! (temp file, fsync, rename), so a crash never leaves a half-written object.

use std::path::{Path, PathBuf};

use crate::fingerprint::sha256_hex;
use crate::{ResearchError, Result};

/// Local object store rooted at a directory. Keys are relative `/`-separated paths.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// Checks that `key` is a safe relative object key (`[A-Za-z0-9._-]` segments, no `..`).
pub fn validate_key(key: &str) -> Result<()> {
    let ok = !key.is_empty()
        && key.len() <= 512
        && key.split('/').all(|seg| {
            !seg.is_empty()
                && seg != "."
                && seg != ".."
                && seg
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        });
    if ok {
        Ok(())
    } else {
        Err(ResearchError::invalid(format!(
            "invalid object key {key:?}"
        )))
    }
}

impl LocalStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `key` lives on disk.
    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Writes `bytes` at `key` atomically; returns (sha256, size).
    pub fn write(&self, key: &str, bytes: &[u8]) -> Result<(String, u64)> {
        validate_key(key)?;
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        market::atomic::write_atomic(&path, bytes)
            .map_err(|e| ResearchError::env(format!("writing {}: {e}", path.display())))?;
        Ok((sha256_hex(bytes), bytes.len() as u64))
    }

    /// Reads the object at `key`.
    pub fn read(&self, key: &str) -> Result<Vec<u8>> {
        validate_key(key)?;
        let path = self.path(key);
        std::fs::read(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ResearchError::not_found(format!("no local object {key}"))
            } else {
                ResearchError::env(format!("reading {}: {e}", path.display()))
            }
        })
    }

    /// SHA-256 of the object at `key`, if it exists.
    pub fn sha256(&self, key: &str) -> Option<String> {
        self.read(key).ok().map(|b| sha256_hex(&b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        assert!(validate_key("runs/abc-1/weights.safetensors").is_ok());
        for bad in ["", "/abs", "a/../b", "a//b", "a/./b", "sp ace", "a\\b"] {
            assert!(validate_key(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn write_is_atomic_and_readable() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let (sha, size) = store.write("runs/r1/spec.json", b"{}").unwrap();
        assert_eq!(size, 2);
        assert_eq!(sha, sha256_hex(b"{}"));
        assert_eq!(store.read("runs/r1/spec.json").unwrap(), b"{}");
        let names: Vec<_> = std::fs::read_dir(dir.path().join("runs/r1"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "temp files left: {names:?}");
        assert_eq!(
            store.read("runs/r1/none").unwrap_err().kind,
            crate::ErrorKind::NotFound
        );
    }
}
