//! Where OpenClaw keeps its state, its config file and the default agent's workspace, resolved
//! from the same environment variables OpenClaw 2026.9 reads (`src/config/paths.ts`,
//! `src/config/state-dir.ts`, `src/agents/workspace-default.ts` in openclaw/openclaw):
//!
//! - home: `OPENCLAW_HOME` (a leading `~` expands to `HOME`), else `HOME`, else `USERPROFILE`;
//! - state dir: `OPENCLAW_STATE_DIR`, else `~/.openclaw` (or the legacy `~/.clawdbot` when only
//!   that one exists);
//! - config: `OPENCLAW_CONFIG_PATH`, else the state dir's `openclaw.json` (or the legacy
//!   `clawdbot.json` when only that one exists);
//! - workspace: `agents.defaults.workspace` of the config, else `OPENCLAW_WORKSPACE_DIR`, else
//!   `<state dir>/workspace` when `OPENCLAW_STATE_DIR` is set, else `~/.openclaw-<profile>/workspace`
//!   for a non-default `OPENCLAW_PROFILE`, else `~/.openclaw/workspace`.

use std::path::{Path, PathBuf};

/// OpenClaw's locations for one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenClawPaths {
    /// OpenClaw's home (`OPENCLAW_HOME` or the user's home).
    pub home: PathBuf,
    /// The state directory (`~/.openclaw`).
    pub state_dir: PathBuf,
    /// The config file (`~/.openclaw/openclaw.json`).
    pub config: PathBuf,
    /// The default agent's workspace before the config is consulted (see [`workspace_from`]).
    pub env_workspace: PathBuf,
}

/// Reads a variable, trimmed; empty counts as unset (as in OpenClaw).
fn var(env: &dyn Fn(&str) -> Option<String>, name: &str) -> Option<String> {
    env(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Expands a leading `~` against `home` and makes the path absolute (against the current
/// directory), as OpenClaw's `resolveUserPath` does.
fn user_path(raw: &str, home: &Path) -> PathBuf {
    let p = if raw == "~" {
        home.to_path_buf()
    } else if let Some(rest) = raw.strip_prefix("~/").or_else(|| raw.strip_prefix("~\\")) {
        home.join(rest)
    } else {
        PathBuf::from(raw)
    };
    std::path::absolute(&p).unwrap_or(p)
}

impl OpenClawPaths {
    /// Resolves the locations from the process environment.
    pub fn from_env() -> Option<Self> {
        Self::resolve(&|k| std::env::var(k).ok())
    }

    /// Resolves the locations from `env` (a variable lookup). `None` when no home is known.
    pub fn resolve(env: &dyn Fn(&str) -> Option<String>) -> Option<Self> {
        let os_home = var(env, "HOME").or_else(|| var(env, "USERPROFILE"));
        let home = match var(env, "OPENCLAW_HOME") {
            Some(h) if h == "~" || h.starts_with("~/") || h.starts_with("~\\") => {
                user_path(&h, Path::new(os_home.as_deref()?))
            }
            Some(h) => user_path(&h, Path::new("/")),
            None => user_path(&os_home?, Path::new("/")),
        };
        let state_override = var(env, "OPENCLAW_STATE_DIR");
        let state_dir = match &state_override {
            Some(s) => user_path(s, &home),
            None => {
                let new = home.join(".openclaw");
                let legacy = home.join(".clawdbot");
                if !new.exists() && legacy.exists() {
                    legacy
                } else {
                    new
                }
            }
        };
        let config = match var(env, "OPENCLAW_CONFIG_PATH") {
            Some(c) => user_path(&c, &home),
            None => {
                let new = state_dir.join("openclaw.json");
                let legacy = state_dir.join("clawdbot.json");
                if !new.exists() && legacy.exists() {
                    legacy
                } else {
                    new
                }
            }
        };
        let env_workspace = if let Some(w) = var(env, "OPENCLAW_WORKSPACE_DIR") {
            user_path(&w, &home)
        } else if state_override.is_some() {
            state_dir.join("workspace")
        } else {
            match var(env, "OPENCLAW_PROFILE") {
                Some(p) if !p.eq_ignore_ascii_case("default") && valid_profile(&p) => {
                    home.join(format!(".openclaw-{p}")).join("workspace")
                }
                _ => home.join(".openclaw").join("workspace"),
            }
        };
        Some(Self {
            home,
            state_dir,
            config,
            env_workspace,
        })
    }

    /// The default agent's workspace given the parsed config: its `agents.defaults.workspace`
    /// when set, else [`OpenClawPaths::env_workspace`].
    pub fn workspace_from(&self, config: &serde_json::Value) -> PathBuf {
        match config["agents"]["defaults"]["workspace"]
            .as_str()
            .map(str::trim)
        {
            Some(w) if !w.is_empty() => user_path(w, &self.home),
            _ => self.env_workspace.clone(),
        }
    }
}

/// A profile name OpenClaw accepts: letters, digits, `-` and `_`, at most 64.
fn valid_profile(p: &str) -> bool {
    p.len() <= 64
        && p.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(vars: &[(&str, &str)]) -> OpenClawPaths {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        OpenClawPaths::resolve(&move |k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
            .unwrap()
    }

    #[test]
    fn defaults_live_under_home() {
        let p = resolve(&[("HOME", "/nonexistent-home")]);
        assert_eq!(p.state_dir, Path::new("/nonexistent-home/.openclaw"));
        assert_eq!(
            p.config,
            Path::new("/nonexistent-home/.openclaw/openclaw.json")
        );
        assert_eq!(
            p.env_workspace,
            Path::new("/nonexistent-home/.openclaw/workspace")
        );
    }

    #[test]
    fn openclaw_variables_move_each_location() {
        let p = resolve(&[
            ("HOME", "/h"),
            ("OPENCLAW_HOME", "~/oc"),
            ("OPENCLAW_STATE_DIR", "~/state"),
        ]);
        assert_eq!(p.home, Path::new("/h/oc"));
        assert_eq!(p.state_dir, Path::new("/h/oc/state"));
        assert_eq!(p.config, Path::new("/h/oc/state/openclaw.json"));
        assert_eq!(p.env_workspace, Path::new("/h/oc/state/workspace"));
        let p = resolve(&[
            ("HOME", "/h"),
            ("OPENCLAW_CONFIG_PATH", "/etc/oc.json5"),
            ("OPENCLAW_WORKSPACE_DIR", "/ws"),
        ]);
        assert_eq!(p.config, Path::new("/etc/oc.json5"));
        assert_eq!(p.env_workspace, Path::new("/ws"));
        let p = resolve(&[("HOME", "/h"), ("OPENCLAW_PROFILE", "work")]);
        assert_eq!(p.env_workspace, Path::new("/h/.openclaw-work/workspace"));
        let cfg = serde_json::json!({"agents": {"defaults": {"workspace": "~/bots"}}});
        assert_eq!(p.workspace_from(&cfg), Path::new("/h/bots"));
        assert!(OpenClawPaths::resolve(&|_| None).is_none());
    }
}
