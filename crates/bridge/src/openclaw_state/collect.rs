//! Which files of an OpenClaw workspace make up its state: everything in the workspace folder
//! (memory, `MEMORY.md`, `SOUL.md`, skills, notes) except what is local-only: version-control
//! and package folders, temporary files, links, key and `.env` files, files over the size cap,
//! and any file that holds a credential.

use std::path::{Path, PathBuf};

use research::store::snapshot::SnapshotFile;
use serde::Serialize;

use super::secrets;

/// Largest file taken into a snapshot.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// Largest snapshot (all files together).
pub const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;
/// Most files in a snapshot.
pub const MAX_FILES: usize = 20_000;

/// Folders never snapshotted (anywhere in the tree): caches, packages, version control.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    "target",
    ".cache",
];

/// A file left out of a snapshot, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Path relative to the workspace.
    pub path: String,
    /// Why it was left out.
    pub why: String,
}

/// The workspace's files to snapshot, and what was left out.
#[derive(Debug, Default)]
pub struct Collected {
    /// Files to upload (paths relative to the workspace).
    pub files: Vec<SnapshotFile>,
    /// Files left out (local-only; carried over on restore).
    pub skipped: Vec<Skipped>,
}

/// Whether a file name is a credential file by name alone (`.env`, keys, certificates,
/// `credentials*.json`, SSH keys).
pub fn is_secret_file(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == ".env"
        || n.starts_with(".env.")
        || n.ends_with(".pem")
        || n.ends_with(".key")
        || n.ends_with(".p12")
        || n.ends_with(".pfx")
        || n.starts_with("id_rsa")
        || n.starts_with("id_ed25519")
        || n.starts_with("credentials")
        || n == ".netrc"
        || n == ".npmrc"
}

/// Whether a name is a temporary file of an atomic write (ours or an editor's).
fn is_temp(name: &str) -> bool {
    name.ends_with(".tmp")
        || name.starts_with(".tmp-")
        || name.ends_with('~')
        || name.ends_with(".swp")
}

/// Walks `workspace` and returns its snapshot files. `secret_values` are searched for in every
/// file (a file holding one is skipped).
pub fn collect(workspace: &Path, secret_values: &[String]) -> std::io::Result<Collected> {
    let mut out = Collected::default();
    let mut total = 0u64;
    let mut stack = vec![PathBuf::new()];
    while let Some(rel_dir) = stack.pop() {
        let mut entries: Vec<_> =
            std::fs::read_dir(workspace.join(&rel_dir))?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let name = e.file_name().to_string_lossy().into_owned();
            let rel = rel_dir.join(&name);
            let rel_s = rel.to_string_lossy().replace('\\', "/");
            let skip = |why: &str, out: &mut Collected| {
                out.skipped.push(Skipped {
                    path: rel_s.clone(),
                    why: why.to_string(),
                })
            };
            let ft = e.file_type()?;
            if ft.is_symlink() {
                skip("a link", &mut out);
                continue;
            }
            if ft.is_dir() {
                if SKIPPED_DIRS.contains(&name.as_str()) {
                    skip("local-only folder", &mut out);
                } else {
                    stack.push(rel);
                }
                continue;
            }
            if !ft.is_file() {
                continue;
            }
            if is_temp(&name) {
                continue;
            }
            if is_secret_file(&name) {
                skip("a credential file", &mut out);
                continue;
            }
            let meta = e.metadata()?;
            if meta.len() > MAX_FILE_BYTES {
                skip(&format!("larger than {MAX_FILE_BYTES} bytes"), &mut out);
                continue;
            }
            if out.files.len() >= MAX_FILES || total + meta.len() > MAX_TOTAL_BYTES {
                skip("over the snapshot's size or file-count cap", &mut out);
                continue;
            }
            if research::store::snapshot::validate_path(&rel_s).is_err() {
                skip("a name that cannot be stored", &mut out);
                continue;
            }
            let bytes = std::fs::read(e.path())?;
            if secrets::contains_any(&bytes, secret_values) {
                skip("holds a credential", &mut out);
                continue;
            }
            total += bytes.len() as u64;
            out.files.push(SnapshotFile {
                path: rel_s,
                bytes,
                executable: is_executable(&meta),
            });
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

#[cfg(unix)]
fn is_executable(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_: &std::fs::Metadata) -> bool {
    false
}
