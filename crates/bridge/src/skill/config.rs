//! The skill's entry in OpenClaw's config file (`openclaw.json`):
//! `skills.entries.synth-city.{apiKey, env.SYNTH_BRIDGE_URL}`. OpenClaw counts a skill's
//! `primaryEnv` (here `SYNTH_BRIDGE_KEY`) as present when the entry has an `apiKey`, and puts
//! the key and `env` into the agent's environment for each turn; `bridge.env` beside the skill
//! is never read by OpenClaw.
//!
//! The file is merged, never replaced: every other key stays as it was. OpenClaw writes it
//! as plain JSON; a hand-written JSON5 file (comments, unquoted keys) is not parsed here and is
//! reported as [`SkillError::NotPlainJson`] so the caller can let OpenClaw's own
//! `openclaw config set` do the edit.

use std::path::Path;

use serde_json::{json, Map, Value};

use super::{SkillError, KEY_ENV_NAME, NAME, URL_ENV_NAME};

/// Largest config file read (OpenClaw's are a few KiB).
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Reads the config file: `Ok(Value::Object)` (empty when the file does not exist).
pub fn read(path: &Path) -> Result<Value, SkillError> {
    let io = |source| SkillError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(json!({})),
        Err(e) => return Err(io(e)),
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(SkillError::BadConfig {
            path: path.to_path_buf(),
            why: format!("larger than {MAX_CONFIG_BYTES} bytes"),
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    if text.trim().is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(SkillError::BadConfig {
            path: path.to_path_buf(),
            why: "the top level is not an object".into(),
        }),
        Err(e) => Err(SkillError::NotPlainJson {
            path: path.to_path_buf(),
            why: e.to_string(),
        }),
    }
}

/// The skill's entry (`skills.entries.synth-city`), if any.
pub fn entry(config: &Value) -> Option<&Map<String, Value>> {
    config["skills"]["entries"][NAME].as_object()
}

/// The bridge key the entry gives the skill: `apiKey` (a plain string) or
/// `env.SYNTH_BRIDGE_KEY`.
pub fn key(config: &Value) -> Option<String> {
    let e = entry(config)?;
    e.get("apiKey")
        .and_then(Value::as_str)
        .or_else(|| e.get("env")?.get(KEY_ENV_NAME)?.as_str())
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(str::to_string)
}

/// Whether the entry gives the skill a key at all, as OpenClaw counts it: a non-empty
/// `apiKey` (a string or a secret reference) or `env.SYNTH_BRIDGE_KEY`.
pub fn has_key(config: &Value) -> bool {
    let Some(e) = entry(config) else { return false };
    let api = match e.get("apiKey") {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        _ => false,
    };
    api || e
        .get("env")
        .and_then(|v| v.get(KEY_ENV_NAME))
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

/// The bridge URL the entry gives the skill (`env.SYNTH_BRIDGE_URL`), if any.
pub fn url(config: &Value) -> Option<String> {
    entry(config)?
        .get("env")?
        .get(URL_ENV_NAME)?
        .as_str()
        .map(str::to_string)
}

/// Walks to the object at `key` inside `obj`, creating it when absent; an existing non-object
/// is an error (it is never overwritten).
fn object_at<'a>(
    obj: &'a mut Map<String, Value>,
    key: &str,
    path: &Path,
    dotted: &str,
) -> Result<&'a mut Map<String, Value>, SkillError> {
    obj.entry(key.to_string())
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| SkillError::BadConfig {
            path: path.to_path_buf(),
            why: format!("`{dotted}` is not an object"),
        })
}

/// Sets the skill's entry in `config`: `env.SYNTH_BRIDGE_URL = url`, `apiKey = key` when a key
/// is given, and `enabled` back to true when it was false. Other keys are kept.
pub fn set_entry(
    config: &mut Value,
    url: &str,
    key: Option<&str>,
    path: &Path,
) -> Result<(), SkillError> {
    let root = config
        .as_object_mut()
        .ok_or_else(|| SkillError::BadConfig {
            path: path.to_path_buf(),
            why: "the top level is not an object".into(),
        })?;
    let skills = object_at(root, "skills", path, "skills")?;
    let entries = object_at(skills, "entries", path, "skills.entries")?;
    let e = object_at(entries, NAME, path, &format!("skills.entries.{NAME}"))?;
    if let Some(k) = key {
        e.insert("apiKey".into(), json!(k));
        // An older env value would be shadowed by nothing and confuse a reader: drop it.
        if let Some(env) = e.get_mut("env").and_then(Value::as_object_mut) {
            env.remove(KEY_ENV_NAME);
        }
    }
    if e.get("enabled") == Some(&json!(false)) {
        e.insert("enabled".into(), json!(true));
    }
    let env = object_at(e, "env", path, &format!("skills.entries.{NAME}.env"))?;
    env.insert(URL_ENV_NAME.into(), json!(url));
    Ok(())
}

/// Writes `config` to `path` as pretty JSON, atomically (temporary file created 0600 in the same
/// directory, then renamed), creating the directory (0700) when missing.
pub fn write(path: &Path, config: &Value) -> Result<(), SkillError> {
    let mut text = serde_json::to_string_pretty(config).map_err(|e| SkillError::BadConfig {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    text.push('\n');
    write_private(path, text.as_bytes())
}

/// Writes `bytes` to `path` atomically with mode 0600 from the first byte on.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), SkillError> {
    market::atomic::write_secret(path, bytes).map_err(|source| SkillError::Io {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_other_keys_and_sets_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("oc/openclaw.json");
        assert_eq!(read(&p).unwrap(), json!({}));
        let mut cfg = json!({
            "gateway": {"port": 19001},
            "skills": {"entries": {
                "weather": {"enabled": true},
                "synth-city": {"enabled": false, "env": {"OTHER": "x", "SYNTH_BRIDGE_KEY": "old"}}
            }}
        });
        set_entry(&mut cfg, "http://127.0.0.1:1", Some("sck_k"), &p).unwrap();
        write(&p, &cfg).unwrap();
        let back = read(&p).unwrap();
        assert_eq!(back["gateway"]["port"], 19001);
        assert_eq!(back["skills"]["entries"]["weather"]["enabled"], true);
        let e = &back["skills"]["entries"]["synth-city"];
        assert_eq!(e["apiKey"], "sck_k");
        assert_eq!(e["enabled"], true);
        assert_eq!(e["env"]["OTHER"], "x");
        assert_eq!(e["env"]["SYNTH_BRIDGE_URL"], "http://127.0.0.1:1");
        assert!(e["env"].get("SYNTH_BRIDGE_KEY").is_none());
        assert_eq!(key(&back).as_deref(), Some("sck_k"));
        assert_eq!(url(&back).as_deref(), Some("http://127.0.0.1:1"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn odd_files_are_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("openclaw.json");
        std::fs::write(&p, "// comment\n{gateway: {port: 1}}").unwrap();
        assert!(matches!(read(&p), Err(SkillError::NotPlainJson { .. })));
        std::fs::write(&p, "[1]").unwrap();
        assert!(matches!(read(&p), Err(SkillError::BadConfig { .. })));
        let mut cfg = json!({"skills": {"entries": "nope"}});
        assert!(matches!(
            set_entry(&mut cfg, "u", None, &p),
            Err(SkillError::BadConfig { .. })
        ));
        assert_eq!(cfg, json!({"skills": {"entries": "nope"}}));
    }
}
