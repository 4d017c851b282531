//! A model provider in OpenClaw's config (`models.providers.<id>`), with its model aliases
//! (`agents.defaults.models`) and, when the config names none, the default model
//! (`agents.defaults.model.primary`). Used by `synth-city openclaw install --chutes`. Merged into
//! the file like the skill's entry: other keys stay, a JSON5 file is refused, written 0600.

use std::path::PathBuf;

use serde_json::{json, Map, Value};

use super::{config, OpenClawPaths, SkillError};

/// What [`install_provider`] did.
#[derive(Debug, Clone)]
pub struct ProviderInstalled {
    /// The config file written.
    pub config: PathBuf,
    /// True when the default model was set (the config had none).
    pub set_primary: bool,
}

fn object_at<'a>(
    obj: &'a mut Map<String, Value>,
    key: &str,
    path: &std::path::Path,
) -> Result<&'a mut Map<String, Value>, SkillError> {
    obj.entry(key.to_string())
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| SkillError::BadConfig {
            path: path.to_path_buf(),
            why: format!("`{key}` is not an object"),
        })
}

/// Sets `models.providers.<id> = provider` (replacing an older entry of that id), adds
/// `aliases` to `agents.defaults.models` (keeping aliases already there) and sets
/// `agents.defaults.model.primary` to `primary` when the config has no default model.
pub fn install_provider(
    paths: &OpenClawPaths,
    id: &str,
    provider: Value,
    aliases: &Map<String, Value>,
    primary: Option<&str>,
) -> Result<ProviderInstalled, SkillError> {
    let path = &paths.config;
    let mut cfg = config::read(path)?;
    let root = cfg.as_object_mut().ok_or_else(|| SkillError::BadConfig {
        path: path.clone(),
        why: "the top level is not an object".into(),
    })?;
    let models = object_at(root, "models", path)?;
    let providers = object_at(models, "providers", path)?;
    providers.insert(id.to_string(), provider);
    let agents = object_at(root, "agents", path)?;
    let defaults = object_at(agents, "defaults", path)?;
    let known = object_at(defaults, "models", path)?;
    for (k, v) in aliases {
        known.entry(k.clone()).or_insert_with(|| v.clone());
    }
    let mut set_primary = false;
    if let Some(p) = primary {
        let model = object_at(defaults, "model", path)?;
        if !model.contains_key("primary") {
            model.insert("primary".into(), json!(p));
            set_primary = true;
        }
    }
    config::write(path, &cfg)?;
    Ok(ProviderInstalled {
        config: path.clone(),
        set_primary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_and_keeps_the_users_default_model() {
        let dir = tempfile::tempdir().unwrap();
        let mut p = OpenClawPaths::from_env().unwrap();
        p.config = dir.path().join("openclaw.json");
        std::fs::write(
            &p.config,
            r#"{"gateway":{"port":1},"agents":{"defaults":{"model":{"primary":"anthropic/x"},"models":{"chutes/a":{"alias":"mine"}}}}}"#,
        )
        .unwrap();
        let mut aliases = Map::new();
        aliases.insert("chutes/a".into(), json!({"alias": "theirs"}));
        aliases.insert("chutes/b".into(), json!({"alias": "b"}));
        let r = install_provider(
            &p,
            "chutes",
            json!({"baseUrl": "u"}),
            &aliases,
            Some("chutes/a"),
        )
        .unwrap();
        assert!(!r.set_primary);
        let back = config::read(&p.config).unwrap();
        assert_eq!(back["gateway"]["port"], 1);
        assert_eq!(back["models"]["providers"]["chutes"]["baseUrl"], "u");
        assert_eq!(
            back["agents"]["defaults"]["model"]["primary"],
            "anthropic/x"
        );
        assert_eq!(
            back["agents"]["defaults"]["models"]["chutes/a"]["alias"],
            "mine"
        );
        assert_eq!(
            back["agents"]["defaults"]["models"]["chutes/b"]["alias"],
            "b"
        );
        std::fs::write(&p.config, "{}").unwrap();
        assert!(
            install_provider(&p, "chutes", json!({}), &Map::new(), Some("chutes/a"))
                .unwrap()
                .set_primary
        );
        std::fs::write(&p.config, "// json5\n{}").unwrap();
        assert!(matches!(
            install_provider(&p, "chutes", json!({}), &Map::new(), None),
            Err(SkillError::NotPlainJson { .. })
        ));
    }
}
