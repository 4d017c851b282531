//! The data directory: `$SYNTH_CITY_HOME`, or `~/.local/share/synth-city` by default.

use std::path::PathBuf;

/// Environment variable that overrides the data directory.
pub const HOME_ENV: &str = "SYNTH_CITY_HOME";

/// The synth-city data directory (cache, registry, artifacts). Not created here.
pub fn data_dir() -> PathBuf {
    if let Some(p) = std::env::var_os(HOME_ENV).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("synth-city")
}

/// `../shared` beside the workspace (real price history and specs), or `$SYNTH_CITY_SHARED`.
/// Tests and benchmarks use it; `None` when it is not there.
pub fn shared_dir() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("SYNTH_CITY_SHARED").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    ws.is_dir().then(|| ws.canonicalize().unwrap_or(ws))
}
