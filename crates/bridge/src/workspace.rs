//! A bot's workspace directory and the only way to reach files in it: relative paths whose
//! every component is a plain name, with no symbolic link anywhere on the way.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::error::{ApiError, ApiResult};

/// Largest file a bot may write (1 MiB, the body limit).
pub const MAX_FILE_BYTES: usize = 1 << 20;

/// Resolves `rel` inside `root`, refusing anything that could leave it: empty or absolute
/// paths, `..`, `.`, drive prefixes, NUL bytes, and symbolic links on any existing component.
pub fn resolve(root: &Path, rel: &str) -> ApiResult<PathBuf> {
    if rel.is_empty() || rel.len() > 512 || rel.contains('\0') || rel.contains('\\') {
        return Err(ApiError::bad_request(format!(
            "invalid workspace path {rel:?}"
        )));
    }
    let p = Path::new(rel);
    let mut out = root.to_path_buf();
    for comp in p.components() {
        match comp {
            Component::Normal(name) => {
                out.push(name);
                if let Ok(meta) = std::fs::symlink_metadata(&out) {
                    if meta.file_type().is_symlink() {
                        return Err(ApiError::bad_request(format!(
                            "workspace path {rel:?} goes through a symbolic link"
                        )));
                    }
                }
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "workspace path {rel:?} must be relative, without '..' or '.'"
                )))
            }
        }
    }
    Ok(out)
}

/// Files under `root` (relative paths, sorted), not following links.
pub fn list(root: &Path) -> ApiResult<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(ApiError::failed(format!("cannot list workspace: {e}"))),
        };
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            let path = entry.path();
            if ft.is_dir() {
                stack.push(path);
            } else if ft.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .into_owned();
                if rel.starts_with(".session") {
                    continue;
                }
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                out.push(serde_json::json!({"path": rel, "bytes": size}));
            }
        }
    }
    out.sort_by(|a, b| a["path"].as_str().cmp(&b["path"].as_str()));
    Ok(out)
}

/// Reads a UTF-8 file of the workspace.
pub fn read(root: &Path, rel: &str) -> ApiResult<String> {
    let p = resolve(root, rel)?;
    match std::fs::read(&p) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|_| ApiError::invalid(format!("{rel} is not UTF-8 text"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found(format!(
            "no file {rel:?} in the workspace"
        ))),
        Err(e) => Err(ApiError::failed(format!("cannot read {rel}: {e}"))),
    }
}

/// Bytes and number of the bot's files under `root` (session state excluded).
pub fn usage(root: &Path) -> ApiResult<(u64, usize)> {
    let files = list(root)?;
    let bytes = files.iter().filter_map(|f| f["bytes"].as_u64()).sum();
    Ok((bytes, files.len()))
}

/// Writes a file of the workspace atomically (temporary file, then rename), within `quota`:
/// past its bytes or files, 507 `quota_exceeded` and nothing is written.
pub fn write(
    root: &Path,
    rel: &str,
    content: &[u8],
    quota: &crate::limits::WorkspaceQuota,
) -> ApiResult<u64> {
    if content.len() > MAX_FILE_BYTES {
        return Err(ApiError::new(
            crate::ErrorKind::PayloadTooLarge,
            "file larger than 1 MiB",
        ));
    }
    let p = resolve(root, rel)?;
    if rel.starts_with(".session") {
        return Err(ApiError::bad_request(
            "names starting with .session are reserved",
        ));
    }
    if p.is_dir() {
        return Err(ApiError::conflict(format!("{rel} is a directory")));
    }
    // One write at a time, so two writes cannot both fit in the room left for one.
    static WRITING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = WRITING.lock().unwrap_or_else(|e| e.into_inner());
    let (used, files) = usage(root)?;
    let replaced = std::fs::metadata(&p).ok().filter(|m| m.is_file());
    let after_bytes =
        used - replaced.as_ref().map_or(0, |m| m.len().min(used)) + content.len() as u64;
    let after_files = files + usize::from(replaced.is_none());
    if after_bytes > quota.max_bytes || after_files > quota.max_files {
        return Err(ApiError::new(
            crate::ErrorKind::QuotaExceeded,
            format!(
                "workspace quota exceeded: {after_bytes} bytes in {after_files} files after this write, the quota is {} bytes and {} files; delete files first",
                quota.max_bytes, quota.max_files
            ),
        ));
    }
    let parent = p.parent().unwrap_or(root);
    std::fs::create_dir_all(parent)
        .map_err(|e| ApiError::failed(format!("cannot create {rel}: {e}")))?;
    write_atomic(&p, content).map_err(|e| ApiError::failed(format!("cannot write {rel}: {e}")))?;
    Ok(content.len() as u64)
}

/// Deletes a file of the workspace.
pub fn delete(root: &Path, rel: &str) -> ApiResult<()> {
    let p = resolve(root, rel)?;
    match std::fs::remove_file(&p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::not_found(format!(
            "no file {rel:?} in the workspace"
        ))),
        Err(e) => Err(ApiError::failed(format!("cannot delete {rel}: {e}"))),
    }
}

/// Writes `bytes` to a new file `path` (temporary file, then a hard link, which fails with
/// `AlreadyExists` when `path` exists: two writers cannot both create it).
pub fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".new.tmp-{}-{n}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Writes `bytes` to `path` atomically: readers see the old content or the new one, never a
/// part (the workspace's one implementation, [`market::atomic`]).
pub use market::atomic::write_atomic;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws");
        std::fs::create_dir_all(&root).unwrap();
        for bad in [
            "",
            "../x",
            "a/../../x",
            "/etc/passwd",
            "./a",
            "a\\..\\b",
            "a\0b",
        ] {
            assert!(resolve(&root, bad).is_err(), "{bad:?}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path(), root.join("out")).unwrap();
            assert!(resolve(&root, "out/x").is_err());
            assert!(write(
                &root,
                "out/x",
                b"1",
                &crate::limits::WorkspaceQuota::from_env()
            )
            .is_err());
            assert!(!dir.path().join("x").exists());
        }
        assert_eq!(
            write(
                &root,
                "notes/a.txt",
                b"hello",
                &crate::limits::WorkspaceQuota::from_env()
            )
            .unwrap(),
            5
        );
        assert_eq!(read(&root, "notes/a.txt").unwrap(), "hello");
        let files = list(&root).unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0]["path"], "notes/a.txt");
        delete(&root, "notes/a.txt").unwrap();
        assert_eq!(
            read(&root, "notes/a.txt").unwrap_err().kind,
            crate::ErrorKind::NotFound
        );
    }
}
