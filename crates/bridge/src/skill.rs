//! The OpenClaw skill (`skills/openclaw/synth-city/` in the repository), embedded so that
//! `synth-city openclaw install` can write it anywhere, and the settings that make OpenClaw
//! count it as ready: the skill folder in the agent's workspace, and the skill's entry in
//! OpenClaw's config file (`skills.entries.synth-city`, with the bot's key as `apiKey`, which
//! OpenClaw binds to the skill's `primaryEnv`, `SYNTH_BRIDGE_KEY`).

mod config;
mod openclaw_cli;
mod paths;
mod provider;
mod services;

use std::path::{Path, PathBuf};

pub use openclaw_cli::{find as find_openclaw, skills_check, SkillReport, BIN_ENV};
pub use paths::OpenClawPaths;
pub use provider::{install_provider, ProviderInstalled};
pub use services::SERVICE_SKILLS;

/// Name of the skill (and of its folder, and of its entry in OpenClaw's config).
pub const NAME: &str = "synth-city";

/// The variable carrying the bot's key (the skill's `primaryEnv`).
pub const KEY_ENV_NAME: &str = "SYNTH_BRIDGE_KEY";

/// The variable carrying the bridge URL.
pub const URL_ENV_NAME: &str = "SYNTH_BRIDGE_URL";

/// The skill's files: path relative to the skill folder, content, executable.
pub const FILES: &[(&str, &str, bool)] = &[
    (
        "SKILL.md",
        include_str!("../../../skills/openclaw/synth-city/SKILL.md"),
        false,
    ),
    (
        "scripts/sc.sh",
        include_str!("../../../skills/openclaw/synth-city/scripts/sc.sh"),
        true,
    ),
    (
        "scripts/run-experiment.sh",
        include_str!("../../../skills/openclaw/synth-city/scripts/run-experiment.sh"),
        true,
    ),
    (
        "scripts/pipeline.sh",
        include_str!("../../../skills/openclaw/synth-city/scripts/pipeline.sh"),
        true,
    ),
    (
        "scripts/events.sh",
        include_str!("../../../skills/openclaw/synth-city/scripts/events.sh"),
        true,
    ),
];

/// Name of the settings file written beside `SKILL.md`: the bridge URL only, for running the
/// scripts by hand (OpenClaw gives them the URL and key from its own config).
pub const SETTINGS_FILE: &str = "bridge.env";

/// Why the skill could not be installed or checked.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// OpenClaw's config file has a shape this command will not touch.
    #[error("OpenClaw config {}: {why}", path.display())]
    BadConfig {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// OpenClaw's config file is JSON5 (comments, unquoted keys) and no `openclaw` CLI is
    /// there to edit it.
    #[error(
        "OpenClaw config {} is not plain JSON ({why}); install the openclaw CLI (or set {BIN_ENV}) \
         so that `openclaw config set` edits it, or set skills.entries.{NAME}.apiKey yourself",
        path.display()
    )]
    NotPlainJson {
        /// The file.
        path: PathBuf,
        /// The parser's complaint.
        why: String,
    },
    /// The `openclaw` CLI failed.
    #[error("openclaw CLI: {why}")]
    OpenClaw {
        /// What went wrong.
        why: String,
    },
    /// A URL or key that cannot be written safely.
    #[error("{0}")]
    InvalidSetting(String),
    /// No home directory to find OpenClaw's files in.
    #[error("no home directory: set HOME or OPENCLAW_HOME")]
    NoHome,
}

/// The skill folder inside an OpenClaw workspace.
pub fn skill_dir(workspace: &Path) -> PathBuf {
    workspace.join("skills").join(NAME)
}

/// What [`install`] did.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The workspace the skill went to.
    pub workspace: PathBuf,
    /// The files written into the skill folder.
    pub files: Vec<PathBuf>,
    /// The OpenClaw config file that now holds the skill's entry.
    pub config: PathBuf,
    /// True when the entry was written by `openclaw config set` (the file was JSON5).
    pub via_openclaw: bool,
}

fn check_setting(what: &str, v: &str) -> Result<(), SkillError> {
    if v.is_empty()
        || v.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\'')
    {
        return Err(SkillError::InvalidSetting(format!(
            "the {what} may not be empty nor contain spaces, quotes or control characters"
        )));
    }
    Ok(())
}

/// Installs the skill for OpenClaw at `paths`: the files into `<workspace>/skills/synth-city/`
/// (`workspace` defaults to the one OpenClaw uses for its default agent), the URL into its
/// `bridge.env`, and `skills.entries.synth-city` (`env.SYNTH_BRIDGE_URL`, and `apiKey` when a
/// key is given) into OpenClaw's config file, merged with what is there and written 0600.
pub fn install(
    paths: &OpenClawPaths,
    workspace: Option<&Path>,
    url: &str,
    key: Option<&str>,
) -> Result<Installed, SkillError> {
    check_setting("URL", url)?;
    if let Some(k) = key {
        check_setting("key", k)?;
    }
    // Read the config first: a file this command would refuse stops it before any write.
    let (cfg, via_openclaw) = match config::read(&paths.config) {
        Ok(c) => (Some(c), false),
        Err(e @ SkillError::NotPlainJson { .. }) => match find_openclaw() {
            Some(_) => (None, true),
            None => return Err(e),
        },
        Err(e) => return Err(e),
    };
    let workspace = match (workspace, &cfg) {
        (Some(w), _) => w.to_path_buf(),
        (None, Some(c)) => paths.workspace_from(c),
        (None, None) => paths.env_workspace.clone(),
    };
    let mut files = write_files(&workspace, url)?;
    // The intelligence services' skills (Desearch, Data Universe, Gradients, Chutes models).
    files.extend(services::write(&workspace)?);
    match cfg {
        Some(mut c) => {
            config::set_entry(&mut c, url, key, &paths.config)?;
            config::write(&paths.config, &c)?;
        }
        None => {
            let bin = find_openclaw().ok_or_else(|| SkillError::OpenClaw {
                why: "not found".into(),
            })?;
            openclaw_cli::config_set(&bin, &paths.config, url, key)?;
        }
    }
    Ok(Installed {
        workspace,
        files,
        config: paths.config.clone(),
        via_openclaw,
    })
}

/// Writes the skill's files and `bridge.env` (URL only, 0600) into the workspace.
fn write_files(workspace: &Path, url: &str) -> Result<Vec<PathBuf>, SkillError> {
    let dir = skill_dir(workspace);
    let mut written = Vec::new();
    for (rel, content, exec) in FILES {
        let p = dir.join(rel);
        let io = |source| SkillError::Io {
            path: p.clone(),
            source,
        };
        std::fs::create_dir_all(p.parent().unwrap_or(&dir)).map_err(io)?;
        crate::workspace::write_atomic(&p, content.as_bytes()).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = if *exec { 0o755 } else { 0o644 };
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(io)?;
        }
        #[cfg(not(unix))]
        let _ = exec;
        written.push(p);
    }
    let p = dir.join(SETTINGS_FILE);
    config::write_private(&p, format!("{URL_ENV_NAME}='{url}'\n").as_bytes())?;
    written.push(p);
    Ok(written)
}

/// The bridge URL and key an installed skill gets: from the skill's entry in OpenClaw's config,
/// else (installs before the config entry existed) from `bridge.env`.
pub fn read_settings(
    paths: &OpenClawPaths,
    workspace: &Path,
) -> Result<(Option<String>, Option<String>), SkillError> {
    let cfg = config::read(&paths.config).ok();
    let (mut url, mut key) = match &cfg {
        Some(c) => (config::url(c), config::key(c)),
        None => (None, None),
    };
    if url.is_none() || key.is_none() {
        if let Ok(text) = std::fs::read_to_string(skill_dir(workspace).join(SETTINGS_FILE)) {
            let get = |name: &str| {
                text.lines()
                    .find_map(|l| l.strip_prefix(&format!("{name}=")))
                    .map(|v| v.trim().trim_matches('\'').to_string())
                    .filter(|v| !v.is_empty())
            };
            url = url.or_else(|| get(URL_ENV_NAME));
            key = key.or_else(|| get(KEY_ENV_NAME));
        }
    }
    Ok((url, key))
}

/// The workspace OpenClaw uses for its default agent (config's `agents.defaults.workspace`,
/// else the environment's default).
pub fn default_workspace(paths: &OpenClawPaths) -> PathBuf {
    match config::read(&paths.config) {
        Ok(c) => paths.workspace_from(&c),
        Err(_) => paths.env_workspace.clone(),
    }
}

/// Whether OpenClaw's config holds the skill's entry with a key, and whether it is disabled.
pub fn config_entry_state(paths: &OpenClawPaths) -> Result<(bool, bool), SkillError> {
    let c = config::read(&paths.config)?;
    let disabled =
        config::entry(&c).and_then(|e| e.get("enabled")) == Some(&serde_json::json!(false));
    Ok((config::has_key(&c), disabled))
}
