//! Asking the real `openclaw` CLI: where it is, `openclaw skills check --json` (is the skill
//! ready in OpenClaw's own eyes) and `openclaw config set --batch-file` (OpenClaw's own edit of
//! a config file this crate does not parse). Every run is bounded in time and output.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{SkillError, KEY_ENV_NAME, NAME, URL_ENV_NAME};

/// Variable naming the `openclaw` executable (else `openclaw` is looked up on `PATH`).
pub const BIN_ENV: &str = "SYNTH_CITY_OPENCLAW_BIN";

/// Longest time one `openclaw` command may take (it starts in ~3 s on 2 cores).
const TIMEOUT: Duration = Duration::from_secs(120);

/// Most bytes kept of one stream of its output.
const MAX_OUTPUT: u64 = 16 << 20;

/// The `openclaw` executable: `$SYNTH_CITY_OPENCLAW_BIN`, else `openclaw` on `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(b) = std::env::var_os(BIN_ENV).filter(|b| !b.is_empty()) {
        return Some(PathBuf::from(b));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("openclaw"))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        p.is_file()
    }
}

/// Runs `bin args…` without the bridge variables in its environment (so OpenClaw judges its
/// config, not the caller's shell), with `OPENCLAW_CONFIG_PATH=config` when given, bounded by
/// [`TIMEOUT`]. Returns stdout on exit status 0.
fn run(bin: &Path, args: &[&str], config: Option<&Path>) -> Result<String, SkillError> {
    let fail = |why: String| SkillError::OpenClaw { why };
    let mut child = Command::new(bin)
        .args(args)
        .env_remove(KEY_ENV_NAME)
        .env_remove(URL_ENV_NAME)
        .env("NO_COLOR", "1")
        .envs(config.map(|c| ("OPENCLAW_CONFIG_PATH", c)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("cannot start {}: {e}", bin.display())))?;
    let reader = |s: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(s) = s {
                let _ = s.take(MAX_OUTPUT).read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let t0 = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if t0.elapsed() < TIMEOUT => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "`openclaw {}` did not finish in {} s",
                    args.join(" "),
                    TIMEOUT.as_secs()
                )));
            }
            Err(e) => return Err(fail(e.to_string())),
        }
    };
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        let tail: String = {
            let t = format!("{stdout}{stderr}");
            let t = t.trim();
            let start = t.char_indices().rev().nth(600).map_or(0, |(i, _)| i);
            t[start..].to_string()
        };
        Err(fail(format!(
            "`openclaw {}` exited with {status}: {tail}",
            args.join(" ")
        )))
    }
}

/// The JSON document in `out` (OpenClaw may print a banner line before it).
fn json_in(out: &str) -> Result<Value, SkillError> {
    let start = out.find('{').ok_or_else(|| SkillError::OpenClaw {
        why: "no JSON in its output".into(),
    })?;
    serde_json::from_str(&out[start..]).map_err(|e| SkillError::OpenClaw {
        why: format!("unreadable JSON: {e}"),
    })
}

/// What `openclaw skills check --json` says about this skill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillReport {
    /// The workspace OpenClaw looked at.
    pub workspace: Option<String>,
    /// Whether OpenClaw found the skill at all.
    pub found: bool,
    /// Eligible and visible to the model: the bot can use it.
    pub ready: bool,
    /// Why not, in OpenClaw's words (`missing env SYNTH_BRIDGE_KEY`, `disabled`, …).
    pub problems: Vec<String>,
}

/// Reads the report on this skill from `openclaw skills check --json` output.
pub fn parse_check(v: &Value) -> SkillReport {
    let has = |list: &str| {
        v[list].as_array().is_some_and(|a| {
            a.iter()
                .any(|e| e.as_str() == Some(NAME) || e["name"].as_str() == Some(NAME))
        })
    };
    let mut problems = Vec::new();
    for list in ["disabled", "blocked", "agentFiltered", "notInjected"] {
        if has(list) {
            problems.push(list.to_string());
        }
    }
    let missing = v["missingRequirements"]
        .as_array()
        .and_then(|a| a.iter().find(|e| e["name"].as_str() == Some(NAME)));
    if let Some(m) = missing.and_then(|m| m["missing"].as_object()) {
        for (what, items) in m {
            for item in items.as_array().into_iter().flatten() {
                problems.push(format!("missing {what} {}", item.as_str().unwrap_or("?")));
            }
        }
    }
    let eligible = has("eligible");
    let visible = has("modelVisible");
    if eligible && !visible {
        problems.push("not visible to the model".into());
    }
    SkillReport {
        workspace: v["workspaceDir"].as_str().map(str::to_string),
        found: eligible || missing.is_some() || !problems.is_empty(),
        ready: eligible && visible,
        problems,
    }
}

/// Runs `openclaw skills check --json` (for `agent`, else OpenClaw's default; on `config`, else
/// the config OpenClaw finds itself) and reports on this skill.
pub fn skills_check(
    bin: &Path,
    agent: Option<&str>,
    config: Option<&Path>,
) -> Result<SkillReport, SkillError> {
    let mut args = vec!["skills", "check", "--json"];
    if let Some(a) = agent {
        args.extend(["--agent", a]);
    }
    Ok(parse_check(&json_in(&run(bin, &args, config)?)?))
}

/// Sets the skill's entry through `openclaw config set --batch-file` (OpenClaw parses and
/// rewrites its own JSON5). The batch file holds the key, so it is written 0600 beside the
/// config and removed afterwards.
pub fn config_set(
    bin: &Path,
    config_path: &Path,
    url: &str,
    key: Option<&str>,
) -> Result<(), SkillError> {
    let mut ops = vec![serde_json::json!({
        "path": format!("skills.entries.{NAME}.env.{URL_ENV_NAME}"),
        "value": url,
    })];
    if let Some(k) = key {
        ops.push(serde_json::json!({"path": format!("skills.entries.{NAME}.apiKey"), "value": k}));
    }
    let dir = config_path.parent().unwrap_or(Path::new("."));
    let batch = dir.join(format!(".synth-city-batch-{}.json", std::process::id()));
    super::config::write_private(&batch, Value::Array(ops).to_string().as_bytes())?;
    let batch_s = batch.to_string_lossy().into_owned();
    let result = run(
        bin,
        &["config", "set", "--batch-file", &batch_s],
        Some(config_path),
    );
    let _ = std::fs::remove_file(&batch);
    result.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn check_output_is_read_for_this_skill() {
        // Shape of `openclaw skills check --json` (OpenClaw 2026.9.6), trimmed.
        let not_ready = json!({
            "workspaceDir": "/w",
            "eligible": ["weather"], "modelVisible": ["weather"], "disabled": [],
            "missingRequirements": [{"name": "synth-city", "missing": {
                "bins": [], "anyBins": [], "env": ["SYNTH_BRIDGE_KEY"], "config": [], "os": []}}]
        });
        let r = parse_check(&not_ready);
        assert!(r.found && !r.ready);
        assert_eq!(r.problems, vec!["missing env SYNTH_BRIDGE_KEY"]);
        assert_eq!(r.workspace.as_deref(), Some("/w"));
        let ready = json!({"eligible": ["synth-city"], "modelVisible": ["synth-city"],
            "missingRequirements": []});
        let r = parse_check(&ready);
        assert!(r.ready && r.found && r.problems.is_empty());
        let absent = json!({"eligible": ["weather"], "modelVisible": ["weather"]});
        assert!(!parse_check(&absent).found);
        let disabled = json!({"disabled": ["synth-city"]});
        let r = parse_check(&disabled);
        assert!(r.found && !r.ready && r.problems == ["disabled"]);
        assert!(json_in("banner\n{\"a\":1}").is_ok());
        assert!(json_in("nothing").is_err());
    }
}
