//! The OpenClaw skill (`skills/openclaw/synth-city/` in the repository), embedded so that
//! `synth-city openclaw install` can write it anywhere.

/// Name of the skill (and of its folder).
pub const NAME: &str = "synth-city";

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
];

/// Name of the settings file written beside `SKILL.md` (read by `scripts/sc.sh`).
pub const SETTINGS_FILE: &str = "bridge.env";

/// The default OpenClaw workspace: `~/.openclaw/workspace`.
pub fn default_workspace() -> std::path::PathBuf {
    std::env::var_os("HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_default()
        .join(".openclaw/workspace")
}

/// The skill folder inside an OpenClaw workspace.
pub fn skill_dir(workspace: &std::path::Path) -> std::path::PathBuf {
    workspace.join("skills").join(NAME)
}

/// Writes the skill into `<workspace>/skills/synth-city/` and the settings (bridge URL, key)
/// into its `bridge.env` (mode 0600). Every file is written atomically. Returns the files.
pub fn install(
    workspace: &std::path::Path,
    url: &str,
    key: Option<&str>,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    let dir = skill_dir(workspace);
    let mut written = Vec::new();
    for (rel, content, exec) in FILES {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(&dir))?;
        crate::workspace::write_atomic(&p, content.as_bytes())?;
        #[cfg(unix)]
        if *exec {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
        }
        #[cfg(not(unix))]
        let _ = exec;
        written.push(p);
    }
    for v in [url, key.unwrap_or("")] {
        if v.contains(['\'', '\n', '\r']) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "URL and key may not contain quotes or newlines",
            ));
        }
    }
    let mut env = format!("SYNTH_BRIDGE_URL='{url}'\n");
    if let Some(k) = key {
        env.push_str(&format!("SYNTH_BRIDGE_KEY='{k}'\n"));
    }
    let p = dir.join(SETTINGS_FILE);
    crate::workspace::write_atomic(&p, env.as_bytes())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600))?;
    }
    written.push(p);
    Ok(written)
}

/// Reads `bridge.env` of an installed skill: `(url, key)`.
pub fn read_settings(
    workspace: &std::path::Path,
) -> std::io::Result<(Option<String>, Option<String>)> {
    let text = std::fs::read_to_string(skill_dir(workspace).join(SETTINGS_FILE))?;
    let get = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .map(|v| v.trim().trim_matches('\'').to_string())
            .filter(|v| !v.is_empty())
    };
    Ok((get("SYNTH_BRIDGE_URL"), get("SYNTH_BRIDGE_KEY")))
}
