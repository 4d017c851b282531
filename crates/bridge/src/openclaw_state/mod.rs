//! An OpenClaw agent's state (its workspace — memory, skills, notes — and its config without
//! secrets) kept as versioned snapshots on Hippius S3 (or any S3) through the research store's
//! remote ([`research::store::snapshot`]): content-addressed blobs, one manifest per version
//! with its time and hash, every version kept, any version restorable. A push writes blobs
//! first and the manifest last; a restore downloads and checks everything before it swaps the
//! new workspace in, so a failure at any point leaves the old state whole on both sides.
//!
//! Secrets never leave the machine: secret-named keys and credential-looking values are
//! stripped from the config ([`secrets::strip`]), and workspace files that hold a credential,
//! credential files and local-only folders are skipped ([`collect::collect`]). On restore they
//! are carried over from the local workspace, and the local config's secrets are merged back.

pub mod collect;
pub mod secrets;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use research::store::snapshot::{self, PushReport, SnapshotFile, Snapshots, VersionInfo};
use research::{ResearchError, Result};
use serde::Serialize;

pub use collect::Skipped;

/// Snapshot paths of workspace files start with this.
pub const WORKSPACE_PREFIX: &str = "workspace/";
/// Snapshot path of the (stripped) config.
pub const CONFIG_PATH: &str = "config/openclaw.json";
/// Remote key prefix of every agent's snapshots (`openclaw/<agent>`).
pub const SPACE_PREFIX: &str = "openclaw";
/// Largest config read.
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The agent whose state moves: its workspace folder and its config file.
#[derive(Debug, Clone)]
pub struct Target {
    /// The workspace folder.
    pub workspace: PathBuf,
    /// OpenClaw's config file (`openclaw.json`); `None` leaves the config out.
    pub config: Option<PathBuf>,
}

/// What a push did.
#[derive(Debug, Clone, Serialize)]
pub struct PushOutcome {
    /// The snapshot store's report (version, blobs uploaded and reused).
    #[serde(flatten)]
    pub report: PushReport,
    /// Files left out (local-only).
    pub skipped: Vec<Skipped>,
    /// Whether the config went into the snapshot.
    pub config_included: bool,
    /// Config keys removed as secrets (JSON pointers, no values).
    pub config_stripped: Vec<String>,
    /// Why the config was left out, when it was.
    pub config_note: Option<String>,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreOutcome {
    /// The version restored.
    pub version: VersionInfo,
    /// Workspace files written.
    pub files: u64,
    /// Local-only paths carried over from the previous workspace.
    pub carried: Vec<String>,
    /// Whether the config was restored (with the local secrets merged back).
    pub config_restored: bool,
    /// Why the config was not restored, when it was not.
    pub config_note: Option<String>,
}

/// The remote space of an agent: `openclaw/<agent>`; agent ids are 1-64 of `[A-Za-z0-9._-]`.
pub fn space_for(agent: &str) -> Result<String> {
    let ok = !agent.is_empty()
        && agent.len() <= 64
        && agent != "."
        && agent != ".."
        && agent
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(format!("{SPACE_PREFIX}/{agent}"))
    } else {
        Err(ResearchError::invalid(format!(
            "agent {agent:?}: 1-64 of letters, digits, '.', '_' and '-'"
        )))
    }
}

/// Reads a config file as JSON: `Ok(None)` when absent, `Err(why)` when unreadable or not plain
/// JSON (JSON5 configs are left alone rather than half-understood).
fn read_config(path: &Path) -> std::result::Result<Option<serde_json::Value>, String> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(format!(
            "{}: larger than {MAX_CONFIG_BYTES} bytes",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(v @ serde_json::Value::Object(_)) => Ok(Some(v)),
        Ok(_) => Err(format!(
            "{}: the top level is not an object",
            path.display()
        )),
        Err(_) => Err(format!(
            "{}: not plain JSON (JSON5?), left out so that no secret in it can slip through",
            path.display()
        )),
    }
}

/// The config read and stripped (`None` when absent or not plain JSON), the JSON pointers
/// stripped, and every credential value known here: the environment's secret-named variables
/// and what the config holds (from an unparsable config too, by [`secrets::values_in_text`]).
fn config_and_secrets(
    target: &Target,
) -> (
    Option<Result<serde_json::Value, String>>,
    Vec<String>,
    Vec<String>,
) {
    let mut values = secrets::env_secrets();
    let Some(path) = &target.config else {
        return (None, Vec::new(), values);
    };
    match read_config(path) {
        Ok(Some(mut cfg)) => {
            let (pointers, v) = secrets::strip(&mut cfg);
            values.extend(v);
            (Some(Ok(cfg)), pointers, values)
        }
        Ok(None) => (None, Vec::new(), values),
        Err(why) => {
            if let Ok(text) = std::fs::read_to_string(path) {
                values.extend(secrets::values_in_text(&text));
            }
            (Some(Err(why)), Vec::new(), values)
        }
    }
}

/// The snapshot of `target` now: its files (workspace under [`WORKSPACE_PREFIX`], the stripped
/// config at [`CONFIG_PATH`]) and notes on what was left out.
pub fn gather(target: &Target) -> Result<(Vec<SnapshotFile>, PushOutcomeNotes)> {
    let mut notes = PushOutcomeNotes::default();
    let (config, pointers, secret_values) = config_and_secrets(target);
    let mut files = Vec::new();
    match config {
        Some(Ok(cfg)) => {
            let mut bytes = serde_json::to_vec_pretty(&cfg)
                .map_err(|e| ResearchError::env(format!("encoding the config: {e}")))?;
            bytes.push(b'\n');
            files.push(SnapshotFile {
                path: CONFIG_PATH.into(),
                bytes,
                executable: false,
            });
            notes.config_included = true;
            notes.config_stripped = pointers;
        }
        Some(Err(why)) => notes.config_note = Some(why),
        None => {
            if let Some(p) = &target.config {
                notes.config_note = Some(format!("{}: no config file", p.display()));
            }
        }
    }
    if !target.workspace.is_dir() {
        return Err(ResearchError::not_found(format!(
            "no OpenClaw workspace at {} (give --workspace)",
            target.workspace.display()
        )));
    }
    let got = collect::collect(&target.workspace, &secret_values)
        .map_err(|e| ResearchError::env(format!("reading {}: {e}", target.workspace.display())))?;
    notes.skipped = got.skipped;
    // A config holding a secret the stripping missed (a value under an innocent name that also
    // appears in the environment) is left out as a whole.
    if let Some(i) = files.iter().position(|f| f.path == CONFIG_PATH) {
        if secrets::contains_any(&files[i].bytes, &secrets::env_secrets()) {
            files.remove(i);
            notes.config_included = false;
            notes.config_note =
                Some("the config still held a credential after stripping; left out".into());
        }
    }
    files.extend(got.files.into_iter().map(|mut f| {
        f.path = format!("{WORKSPACE_PREFIX}{}", f.path);
        f
    }));
    Ok((files, notes))
}

/// What [`gather`] left out or stripped.
#[derive(Debug, Clone, Default)]
pub struct PushOutcomeNotes {
    /// Files left out.
    pub skipped: Vec<Skipped>,
    /// Whether the config is in.
    pub config_included: bool,
    /// Config keys removed.
    pub config_stripped: Vec<String>,
    /// Why the config is out.
    pub config_note: Option<String>,
}

/// Pushes `target`'s state as a new version (none when nothing changed).
pub async fn push(snaps: &Snapshots, target: &Target, now: DateTime<Utc>) -> Result<PushOutcome> {
    let (files, notes) = gather(target)?;
    let report = snaps.push(files, now).await?;
    Ok(PushOutcome {
        report,
        skipped: notes.skipped,
        config_included: notes.config_included,
        config_stripped: notes.config_stripped,
        config_note: notes.config_note,
    })
}

/// [`push`] dated now.
pub async fn push_now(snaps: &Snapshots, target: &Target) -> Result<PushOutcome> {
    push(snaps, target, Utc::now()).await
}

/// Restores the version `selector` names (`latest`, an id, or a hash prefix) into `target`:
/// everything is downloaded and checked first, then the workspace is swapped in whole
/// (local-only files carried over), then the config is written (0600) with the local config's
/// secrets merged back.
pub async fn restore(snaps: &Snapshots, target: &Target, selector: &str) -> Result<RestoreOutcome> {
    let version = snaps.resolve(selector).await?;
    let manifest = snaps.manifest(&version.version).await?;
    let files = snaps.fetch(&manifest).await?;
    let mut ws_files = Vec::new();
    let mut config = None;
    for f in files {
        if f.path == CONFIG_PATH {
            config = Some(f.bytes);
        } else if let Some(rel) = f.path.strip_prefix(WORKSPACE_PREFIX) {
            ws_files.push(SnapshotFile {
                path: rel.to_string(),
                ..f
            });
        }
    }
    let carried: Vec<String> = if target.workspace.is_dir() {
        let (_, _, secret_values) = config_and_secrets(target);
        collect::collect(&target.workspace, &secret_values)
            .map_err(|e| {
                ResearchError::env(format!("reading {}: {e}", target.workspace.display()))
            })?
            .skipped
            .into_iter()
            .map(|s| s.path)
            .collect()
    } else {
        Vec::new()
    };
    let carry: Vec<PathBuf> = carried.iter().map(PathBuf::from).collect();
    let n = ws_files.len() as u64;
    snapshot::materialise(&target.workspace, &ws_files, &carry)?;
    let (config_restored, config_note) = match (&target.config, config) {
        (None, _) => (false, Some("no config file given".to_string())),
        (Some(_), None) => (false, Some("the version has no config".to_string())),
        (Some(path), Some(bytes)) => restore_config(path, &bytes)?,
    };
    Ok(RestoreOutcome {
        version,
        files: n,
        carried,
        config_restored,
        config_note,
    })
}

/// Writes a restored config over `path`, the local secrets merged back in.
fn restore_config(path: &Path, bytes: &[u8]) -> Result<(bool, Option<String>)> {
    let mut restored: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ResearchError::env(format!("restored config: {e}")))?;
    match read_config(path) {
        Ok(Some(local)) => secrets::merge_back(&mut restored, &local),
        Ok(None) => {}
        Err(why) => return Ok((false, Some(format!("{why}; not replaced")))),
    }
    let mut text = serde_json::to_vec_pretty(&restored)
        .map_err(|e| ResearchError::env(format!("encoding the config: {e}")))?;
    text.push(b'\n');
    if let Some(d) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(d)?;
    }
    market::atomic::write_atomic_mode(path, &text, market::atomic::SECRET_MODE)
        .map_err(|e| ResearchError::env(format!("writing {}: {e}", path.display())))?;
    Ok((true, None))
}

#[cfg(test)]
mod tests;
