//! The workspace's one atomic file write: the bytes go to a new temporary file in the target's
//! folder (created with the final mode, so a secret is never readable by others, not even
//! while it is written), the file is synced, renamed over the target, and the folder is synced
//! so the rename survives a crash. Readers see the old file or the new one, never a part; on
//! any error the temporary file is removed and the target is untouched.
//!
//! The functions return [`std::io::Error`]; callers map it to their own error type.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// The mode of files written without one: `0o666` less the process umask, as `std::fs::write`.
pub const DEFAULT_MODE: u32 = 0o666;

/// The mode for secrets (keys, tokens): read and write by the owner only.
pub const SECRET_MODE: u32 = 0o600;

/// Writes `bytes` to `path` atomically with the [`DEFAULT_MODE`].
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_atomic_mode(path, bytes, DEFAULT_MODE)
}

/// Writes `bytes` to `path` atomically; the file has `mode` (less the umask) from its first
/// byte on Unix (the mode is ignored elsewhere).
pub fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    write_atomic_with(path, mode, |f| f.write_all(bytes), |e| e)
}

/// Writes a secret (key, token, credentials) to `path` atomically with [`SECRET_MODE`];
/// a missing folder is created first, readable by the owner only (`0o700`).
pub fn write_secret(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    write_atomic_mode(path, bytes, SECRET_MODE)
}

/// Writes through `fill` into the temporary file, then as [`write_atomic_mode`]. `io` turns
/// the I/O errors of the temporary file, the sync and the rename into `fill`'s error type.
pub fn write_atomic_with<E>(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
    io: impl Fn(std::io::Error) -> E,
) -> Result<(), E> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    // Dropping `tmp` on an early return removes the temporary file.
    let mut tmp = b.tempfile_in(dir).map_err(&io)?;
    fill(tmp.as_file_mut())?;
    tmp.as_file_mut().flush().map_err(&io)?;
    tmp.as_file().sync_all().map_err(&io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    sync_dir(dir).map_err(&io)
}

/// Syncs a folder so that a rename in it is durable (a no-op where folders cannot be opened).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[cfg(unix)]
    #[test]
    fn secrets_are_private_and_so_is_a_new_folder() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("new").join("key.json");
        write_secret(&p, b"k").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        assert_eq!(mode(p.parent().unwrap()), 0o700);
        assert_eq!(std::fs::read(&p).unwrap(), b"k");
    }

    #[test]
    fn writes_whole_files_and_replaces_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"first").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"first");
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_or_none() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.bin");
        // Fails half-way: some bytes were written to the temporary file.
        let fail = |f: &mut File| -> std::io::Result<()> {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        };
        assert!(write_atomic_with(&p, DEFAULT_MODE, fail, |e| e).is_err());
        assert!(!p.exists(), "no partial file");
        write_atomic(&p, b"whole").unwrap();
        assert!(write_atomic_with(&p, DEFAULT_MODE, fail, |e| e).is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"whole");
        assert!(leftovers(dir.path()).is_empty(), "temporary file removed");
        // A folder that does not exist: an error, nothing written.
        let q = dir.path().join("missing").join("a.bin");
        assert!(write_atomic(&q, b"x").is_err());
        assert!(!q.exists());
    }

    #[cfg(unix)]
    #[test]
    fn the_file_has_the_mode_asked_for() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("secret");
        write_atomic_mode(&p, b"token", SECRET_MODE).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&p), 0o600);
        // Replacing a 0644 file with a secret: the new file is 0600.
        let q = dir.path().join("was_public");
        std::fs::write(&q, b"old").unwrap();
        std::fs::set_permissions(&q, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic_mode(&q, b"token", SECRET_MODE).unwrap();
        assert_eq!(mode(&q), 0o600);
        // Without a mode: readable by the owner, like `std::fs::write` (not tempfile's 0600
        // unless the umask says so).
        let r = dir.path().join("plain");
        write_atomic(&r, b"x").unwrap();
        std::fs::write(dir.path().join("ref"), b"x").unwrap();
        assert_eq!(mode(&r), mode(&dir.path().join("ref")));
    }
}
