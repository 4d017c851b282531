//! The services' state files in the data folder (`<data>/social/tasks.json`,
//! `<data>/gradients/jobs.json`): JSON read with a size cap (a damaged file is an error naming
//! it, never silently replaced) and written through the workspace's one atomic write
//! (`market::atomic`), so a reader sees a whole file or the previous one. A read-modify-write
//! ([`update_json`], [`lock`]) holds an exclusive advisory lock on `<file>.lock` across
//! processes from the read to the rename, so two processes cannot lose each other's update.
//! Errors name a file by its folder and name inside the data folder (`gradients/jobs.json`),
//! never by its absolute path: they reach agents' tool answers and the bridge.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ServiceError;

fn io(what: &str, path: &Path, e: std::io::Error) -> ServiceError {
    ServiceError::Invalid(format!("{what} {}: {e}", shown(path)))
}

/// `path` as errors name it: its last two components (`compute/spend.json`).
fn shown(path: &Path) -> String {
    let mut parts: Vec<_> = path.iter().rev().take(2).collect();
    parts.reverse();
    parts
        .iter()
        .map(|p| p.to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads the JSON state at `path`: `None` when there is no file yet; an error naming the file
/// when it is larger than `max_bytes` or damaged.
pub fn read_json<T: DeserializeOwned>(
    path: &Path,
    max_bytes: u64,
) -> Result<Option<T>, ServiceError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("reading", path, e)),
    };
    if meta.len() > max_bytes {
        return Err(ServiceError::Invalid(format!(
            "{} is larger than {max_bytes} bytes",
            shown(path)
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| io("reading", path, e))?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        ServiceError::Invalid(format!(
            "{} (in the data folder) is damaged ({e}); move it away to start afresh",
            shown(path)
        ))
    })
}

/// An exclusive advisory lock on `<file>.lock` (held by this process until dropped).
#[derive(Debug)]
pub struct StateLock {
    _file: std::fs::File,
}

/// Takes the exclusive lock of the state file `path` (the file `<path>.lock` beside it,
/// created with its folder), waiting while another process or handle holds it.
pub fn lock(path: &Path) -> Result<StateLock, ServiceError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = std::path::PathBuf::from(name);
    if let Some(d) = lock_path.parent() {
        std::fs::create_dir_all(d).map_err(|e| io("creating", d, e))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| io("opening", &lock_path, e))?;
    // Called through the trait: std's inherent `File::lock` needs Rust 1.89.
    fs4::FileExt::lock(&file).map_err(|e| io("locking", &lock_path, e))?;
    Ok(StateLock { _file: file })
}

/// Read-modify-write of the JSON state at `path` under [`lock`]: `f` gets the state (default
/// without a file) and its changes are written atomically before the lock is released;
/// nothing is written when `f` fails.
pub fn update_json<T, R>(
    path: &Path,
    max_bytes: u64,
    f: impl FnOnce(&mut T) -> Result<R, ServiceError>,
) -> Result<R, ServiceError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let _held = lock(path)?;
    let mut value = read_json(path, max_bytes)?.unwrap_or_default();
    let out = f(&mut value)?;
    write_json(path, &value)?;
    Ok(out)
}

/// Writes `value` as pretty JSON to `path` (folders created), atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ServiceError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| ServiceError::Invalid(format!("encoding {}: {e}", shown(path))))?;
    bytes.push(b'\n');
    write_file(path, &bytes)
}

/// Writes `bytes` to `path` (folders created), atomically.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ServiceError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| io("creating", d, e))?;
    }
    market::atomic::write_atomic(path, bytes).map_err(|e| io("writing", path, e))
}
