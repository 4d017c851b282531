//! The environment at start, before the arguments are parsed: `.env` files (as the Python
//! system loaded them) and renamed variables.
//!
//! `./.env` (the working directory) is read first, then `.env` in the data directory
//! (`$SYNTH_CITY_HOME`, or `~/.local/share/synth-city`). A variable already set in the real
//! environment always wins, and the working directory's file wins over the data directory's.
//! `BRIDGE_API_KEY`, the Python system's name of the bridge key, is taken as `SYNTH_BRIDGE_KEY`
//! (with a warning) when that is not set. Warnings go to stderr; values are never printed.

use std::path::{Path, PathBuf};

/// The Python system's name of the bridge key.
pub const OLD_BRIDGE_KEY: &str = "BRIDGE_API_KEY";
/// The bridge key a client sends.
pub const BRIDGE_KEY: &str = "SYNTH_BRIDGE_KEY";

/// Loads the `.env` files and maps renamed variables; returns the files read.
pub fn load() -> Vec<PathBuf> {
    let mut read = Vec::new();
    let cwd = PathBuf::from(".env");
    if load_file(&cwd) {
        read.push(cwd);
    }
    // Read after ./.env, which may set SYNTH_CITY_HOME.
    let home = market::home::data_dir().join(".env");
    if !same_file(&home, Path::new(".env")) && load_file(&home) {
        read.push(home);
    }
    if let Some(w) = rename_old_bridge_key() {
        eprintln!("warning: {w}");
    }
    read
}

fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Loads one file (variables already set win); false when there is none. A malformed file is
/// reported and skipped from the bad line on.
fn load_file(path: &Path) -> bool {
    if !path.is_file() {
        return false;
    }
    match dotenvy::from_path(path) {
        Ok(()) => true,
        Err(e) => {
            eprintln!(
                "warning: {}: {e}; the rest of the file is ignored",
                path.display()
            );
            true
        }
    }
}

/// `BRIDGE_API_KEY` → `SYNTH_BRIDGE_KEY` when only the old name is set; the warning to show.
fn rename_old_bridge_key() -> Option<String> {
    let old = std::env::var(OLD_BRIDGE_KEY)
        .ok()
        .filter(|v| !v.trim().is_empty())?;
    if std::env::var(BRIDGE_KEY).is_ok_and(|v| !v.trim().is_empty()) {
        return Some(format!(
            "{OLD_BRIDGE_KEY} is ignored: {BRIDGE_KEY} is set (remove the old name)"
        ));
    }
    std::env::set_var(BRIDGE_KEY, old);
    Some(format!(
        "{OLD_BRIDGE_KEY} is the old name of {BRIDGE_KEY}; using it as {BRIDGE_KEY} (rename it; \
         to protect `synth-city bridge`, set BRIDGE_ADMIN_KEY)"
    ))
}
