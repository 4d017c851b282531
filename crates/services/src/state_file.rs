//! The services' state files in the data folder (`<data>/social/tasks.json`,
//! `<data>/gradients/jobs.json`): JSON read with a size cap (a damaged file is an error naming
//! it, never silently replaced) and written through the workspace's one atomic write
//! (`market::atomic`), so a reader sees a whole file or the previous one.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ServiceError;

fn io(what: &str, path: &Path, e: std::io::Error) -> ServiceError {
    ServiceError::Invalid(format!("{what} {}: {e}", path.display()))
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
            path.display()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| io("reading", path, e))?;
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        ServiceError::Invalid(format!(
            "{} is damaged ({e}); move it away to start afresh",
            path.display()
        ))
    })
}

/// Writes `value` as pretty JSON to `path` (folders created), atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ServiceError> {
    let mut bytes = serde_json::to_vec_pretty(value)
        .map_err(|e| ServiceError::Invalid(format!("encoding {}: {e}", path.display())))?;
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
