//! User components (blocks, heads, scripts) stored as data: each owned by the bot (or `local`
//! for the CLI) that wrote it, versioned (every version kept, removal only hides), content-
//! hashed, public or private. A definition is checked by `models::components::validate`
//! before it is stored; built-in names and names another owner holds are refused.

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::Registry;
use crate::{ResearchError, Result};

pub use models::components::{ComponentKind, ComponentSummary};

/// The table (idempotent: safe on a registry that already has it).
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE IF NOT EXISTS components (
        name        TEXT NOT NULL,
        version     INTEGER NOT NULL,
        kind        TEXT NOT NULL,
        owner       TEXT NOT NULL,
        hash        TEXT NOT NULL,
        definition  TEXT NOT NULL,
        description TEXT NOT NULL,
        public      INTEGER NOT NULL,
        removed     INTEGER NOT NULL DEFAULT 0,
        created_at  TEXT NOT NULL,
        PRIMARY KEY (name, version)
    );
"#;

/// The owner of components written from this machine's command line (and read by its
/// pipelines).
pub const LOCAL_OWNER: &str = "local";

/// Longest name.
pub const MAX_NAME_LEN: usize = 48;
/// Longest description (bytes).
pub const MAX_DESCRIPTION_BYTES: usize = 2000;
/// Longest owner id (bytes).
pub const MAX_OWNER_BYTES: usize = 128;

/// A component to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComponentDraft {
    /// Name used in specs (`[a-z][a-z0-9_]*`, not a built-in's).
    pub name: String,
    /// Block, head or script.
    pub kind: ComponentKind,
    /// The definition (JSON or TOML) or the script source.
    pub definition: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// Readable by every bot (otherwise only by its owner).
    #[serde(default)]
    pub public: bool,
}

/// One stored version of a component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredComponent {
    /// Name.
    pub name: String,
    /// Block, head or script.
    pub kind: ComponentKind,
    /// Who wrote it (a bot's key name, or `local`).
    pub owner: String,
    /// Version, from 1.
    pub version: u32,
    /// SHA-256 (hex) of `definition`.
    pub hash: String,
    /// The definition text as written.
    pub definition: String,
    /// What it is for.
    pub description: String,
    /// Readable by every bot.
    pub public: bool,
    /// When this version was stored (RFC 3339 UTC).
    pub created_at: String,
}

const COLUMNS: &str =
    "name, kind, owner, version, hash, definition, description, public, created_at";

fn row(r: &Row<'_>) -> rusqlite::Result<StoredComponent> {
    let kind: String = r.get(1)?;
    Ok(StoredComponent {
        name: r.get(0)?,
        kind: ComponentKind::parse(&kind).unwrap_or(ComponentKind::Block),
        owner: r.get(2)?,
        version: r.get::<_, i64>(3)? as u32,
        hash: r.get(4)?,
        definition: r.get(5)?,
        description: r.get(6)?,
        public: r.get(7)?,
        created_at: r.get(8)?,
    })
}

/// A name components may use: `[a-z][a-z0-9_]*`, at most [`MAX_NAME_LEN`], not a built-in
/// block's, head's or baseline's.
pub fn check_component_name(name: &str) -> Result<()> {
    let ok = name.len() <= MAX_NAME_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !ok {
        return Err(ResearchError::invalid(format!(
            "name {name:?}: use 1-{MAX_NAME_LEN} of a-z, 0-9 and '_', starting with a letter"
        )));
    }
    if models::components::is_builtin(name) {
        return Err(ResearchError::invalid(format!(
            "name {name:?} is a built-in's; choose another name"
        )));
    }
    Ok(())
}

fn check_owner(owner: &str) -> Result<()> {
    if owner.trim().is_empty() || owner.len() > MAX_OWNER_BYTES {
        return Err(ResearchError::invalid(format!(
            "owner: 1-{MAX_OWNER_BYTES} bytes required"
        )));
    }
    Ok(())
}

impl Registry {
    /// Checks and stores `draft` as the next version of its name for `owner`. Refused: an
    /// invalid definition, a built-in's name, a name another owner holds (even one it
    /// removed), another kind under the same name. Storing the same definition, description
    /// and visibility again stores nothing and returns the latest version; a removed
    /// component stored again comes back as a new version. Every version is kept.
    pub fn put_component(&self, owner: &str, draft: ComponentDraft) -> Result<StoredComponent> {
        check_owner(owner)?;
        check_component_name(&draft.name)?;
        if draft.description.len() > MAX_DESCRIPTION_BYTES {
            return Err(ResearchError::invalid(format!(
                "description: at most {MAX_DESCRIPTION_BYTES} bytes"
            )));
        }
        models::components::validate(draft.kind, &draft.definition)?;
        let hash = hex::encode(Sha256::digest(draft.definition.as_bytes()));
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let latest: Option<(StoredComponent, bool)> = tx
                .query_row(
                    &format!(
                        "SELECT {COLUMNS}, removed FROM components WHERE name = ?1
                         ORDER BY version DESC LIMIT 1"
                    ),
                    params![draft.name],
                    |r| Ok((row(r)?, r.get::<_, bool>(9)?)),
                )
                .optional()?;
            if let Some((l, removed)) = &latest {
                if l.owner != owner {
                    return Err(ResearchError::invalid(format!(
                        "component {} belongs to another owner; choose another name",
                        draft.name
                    )));
                }
                if l.kind != draft.kind {
                    return Err(ResearchError::invalid(format!(
                        "component {} is a {}; remove it and choose another name for a {}",
                        draft.name,
                        l.kind.as_str(),
                        draft.kind.as_str()
                    )));
                }
                if !removed
                    && l.hash == hash
                    && l.description == draft.description
                    && l.public == draft.public
                {
                    return Ok(l.clone());
                }
            }
            let stored = StoredComponent {
                name: draft.name,
                kind: draft.kind,
                owner: owner.to_string(),
                version: latest.map_or(1, |(l, _)| l.version + 1),
                hash,
                definition: draft.definition,
                description: draft.description,
                public: draft.public,
                created_at: chrono::Utc::now().to_rfc3339(),
            };
            tx.execute(
                &format!("INSERT INTO components ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
                params![
                    stored.name,
                    stored.kind.as_str(),
                    stored.owner,
                    i64::from(stored.version),
                    stored.hash,
                    stored.definition,
                    stored.description,
                    stored.public,
                    stored.created_at
                ],
            )?;
            // Older versions stay hidden while the newest is not removed.
            tx.execute(
                "UPDATE components SET removed = 0 WHERE name = ?1",
                params![stored.name],
            )?;
            tx.commit()?;
            Ok(stored)
        })
    }

    /// The latest version of `name` as `reader` sees it: `None` when there is none, it was
    /// removed, or it is another owner's private component.
    pub fn component(&self, reader: &str, name: &str) -> Result<Option<StoredComponent>> {
        self.component_version(reader, name, None)
    }

    /// A given version of `name` (the latest when `None`), as `reader` sees it.
    pub fn component_version(
        &self,
        reader: &str,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredComponent>> {
        self.with_conn(|c| {
            let found = c
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM components WHERE name = ?1 AND removed = 0
                           AND (?2 IS NULL OR version = ?2)
                         ORDER BY version DESC LIMIT 1"
                    ),
                    params![name, version.map(i64::from)],
                    row,
                )
                .optional()?;
            Ok(found.filter(|s| s.public || s.owner == reader))
        })
    }

    /// The latest version of every component `reader` may see (its own and the public
    /// ones), by name.
    pub fn components(&self, reader: &str) -> Result<Vec<StoredComponent>> {
        self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM components d WHERE removed = 0 AND version =
                   (SELECT MAX(version) FROM components e WHERE e.name = d.name)
                   AND (public = 1 OR owner = ?1)
                 ORDER BY name"
            ))?;
            let rows = st
                .query_map(params![reader], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Who holds `name`, whatever its visibility (a removed name stays its owner's).
    pub fn component_owner(&self, name: &str) -> Result<Option<String>> {
        self.with_conn(|c| {
            Ok(c.query_row(
                "SELECT owner FROM components WHERE name = ?1 ORDER BY version DESC LIMIT 1",
                params![name],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    /// Hides `name` (every version stays stored; the name stays `owner`'s). `false` when
    /// `owner` has no such visible component; another owner's is refused.
    pub fn remove_component(&self, owner: &str, name: &str) -> Result<bool> {
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let holder: Option<(String, bool)> = tx
                .query_row(
                    "SELECT owner, removed FROM components WHERE name = ?1 ORDER BY version DESC LIMIT 1",
                    params![name],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            match holder {
                None => Ok(false),
                Some((o, _)) if o != owner => Err(ResearchError::invalid(format!(
                    "component {name} belongs to another owner"
                ))),
                Some((_, true)) => Ok(false),
                Some(_) => {
                    tx.execute(
                        "UPDATE components SET removed = 1 WHERE name = ?1",
                        params![name],
                    )?;
                    tx.commit()?;
                    Ok(true)
                }
            }
        })
    }
}

impl Registry {
    /// `spec` with every block and head that names a user component `reader` may see carrying
    /// that component's definition (as JSON) and hash, so the spec runs, and is recorded,
    /// without the registry. Built-in names, components that already carry a definition and
    /// unknown names are left as they are (validation names the unknown ones).
    pub fn embed_components(&self, reader: &str, spec: &Value) -> Result<Value> {
        let mut out = spec.clone();
        if let Some(blocks) = out.get_mut("blocks").and_then(Value::as_array_mut) {
            for (i, b) in blocks.iter_mut().enumerate() {
                self.embed_one(reader, b, ComponentKind::Block, &format!("blocks[{i}]"))?;
            }
        }
        if let Some(h) = out.get_mut("head") {
            self.embed_one(reader, h, ComponentKind::Head, "head")?;
        }
        Ok(out)
    }

    fn embed_one(&self, reader: &str, c: &mut Value, want: ComponentKind, at: &str) -> Result<()> {
        let (name, params) = match c {
            Value::String(n) => (n.clone(), Value::Null),
            Value::Object(o) if !o.contains_key("definition") => match o.get("name") {
                Some(Value::String(n)) => {
                    (n.clone(), o.get("params").cloned().unwrap_or(Value::Null))
                }
                _ => return Ok(()),
            },
            _ => return Ok(()),
        };
        if models::components::is_builtin(&name) {
            return Ok(());
        }
        let Some(stored) = self.component(reader, &name)? else {
            return Ok(());
        };
        if stored.kind != want {
            return Err(ResearchError::invalid(format!(
                "{at}.name: `{name}` is a {} component, not a {}{}",
                stored.kind.as_str(),
                want.as_str(),
                if stored.kind == ComponentKind::Script {
                    format!(" (run it as the model `script:{name}`)")
                } else {
                    String::new()
                }
            )));
        }
        let definition = models::graph::to_json(&stored.definition)?;
        *c = serde_json::json!({
            "name": name,
            "params": params,
            "definition": definition,
            "hash": stored.hash,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = r#"{"kind": "block", "summary": "gated conv",
        "layers": [{"op": "residual", "layers": [
            {"op": "conv1d", "kernel": 2, "mult": 2}, {"op": "gate", "kind": "glu"}]}]}"#;

    fn draft(name: &str, definition: &str, public: bool) -> ComponentDraft {
        ComponentDraft {
            name: name.into(),
            kind: ComponentKind::Block,
            definition: definition.into(),
            description: String::new(),
            public,
        }
    }

    fn open() -> (tempfile::TempDir, Registry) {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(dir.path().join("r.sqlite")).unwrap();
        (dir, r)
    }

    #[test]
    fn versions_are_kept_and_hashed_and_the_same_text_is_not_a_new_version() {
        let (_d, r) = open();
        let a = r
            .put_component("bot_a", draft("gconv", BLOCK, false))
            .unwrap();
        assert_eq!(
            (a.version, a.hash.len(), a.owner.as_str()),
            (1, 64, "bot_a")
        );
        let same = r
            .put_component("bot_a", draft("gconv", BLOCK, false))
            .unwrap();
        assert_eq!(same.version, 1);
        let other = BLOCK.replace("\"kernel\": 2", "\"kernel\": 3");
        let b = r
            .put_component("bot_a", draft("gconv", &other, true))
            .unwrap();
        assert_eq!(b.version, 2);
        assert_ne!(a.hash, b.hash);
        let v1 = r
            .component_version("bot_a", "gconv", Some(1))
            .unwrap()
            .unwrap();
        assert_eq!(v1.definition, BLOCK);
        assert_eq!(r.component("x", "gconv").unwrap().unwrap().version, 2);
        // Removal hides every version but loses none; storing again is version 3.
        assert!(r.remove_component("bot_a", "gconv").unwrap());
        assert!(!r.remove_component("bot_a", "gconv").unwrap());
        assert!(r.component("bot_a", "gconv").unwrap().is_none());
        assert!(r.components("bot_a").unwrap().is_empty());
        let c = r
            .put_component("bot_a", draft("gconv", BLOCK, false))
            .unwrap();
        assert_eq!(c.version, 3);
        assert_eq!(
            r.component_version("bot_a", "gconv", Some(2))
                .unwrap()
                .unwrap()
                .hash,
            b.hash
        );
    }

    #[test]
    fn another_owner_can_neither_overwrite_nor_remove_nor_read_a_private_component() {
        let (_d, r) = open();
        r.put_component("bot_a", draft("mine", BLOCK, false))
            .unwrap();
        let e = r
            .put_component("bot_b", draft("mine", BLOCK, true))
            .unwrap_err();
        assert!(e.message.contains("another owner"), "{}", e.message);
        assert!(r.remove_component("bot_b", "mine").is_err());
        assert!(r.component("bot_b", "mine").unwrap().is_none());
        assert!(r.components("bot_b").unwrap().is_empty());
        assert_eq!(r.components("bot_a").unwrap().len(), 1);
        // Public: readable, still not writable.
        r.put_component("bot_a", draft("shared", BLOCK, true))
            .unwrap();
        assert!(r.component("bot_b", "shared").unwrap().is_some());
        assert!(r
            .put_component("bot_b", draft("shared", BLOCK, true))
            .is_err());
        // A removed name stays its owner's.
        r.remove_component("bot_a", "mine").unwrap();
        assert!(r
            .put_component("bot_b", draft("mine", BLOCK, false))
            .is_err());
    }

    #[test]
    fn built_in_names_bad_names_and_invalid_definitions_are_refused() {
        let (_d, r) = open();
        for name in [
            "lstm", "gbm", "garch_t", "wavenet", "Bad", "a-b", "", "../x",
        ] {
            assert!(
                r.put_component("local", draft(name, BLOCK, false)).is_err(),
                "{name}"
            );
        }
        let e = r
            .put_component(
                "local",
                draft(
                    "broken",
                    r#"{"kind": "block", "layers": [{"op": "gate", "kind": "glu"}]}"#,
                    false,
                ),
            )
            .unwrap_err();
        assert!(e.message.contains("layers"), "{}", e.message);
        let mut head = draft("h", BLOCK, false);
        head.kind = ComponentKind::Head;
        assert!(r.put_component("local", head).is_err());
        assert!(r.put_component("", draft("ok", BLOCK, false)).is_err());
        assert_eq!(r.components("local").unwrap().len(), 0);
    }

    #[test]
    fn a_spec_naming_a_component_gets_its_definition_and_hash_embedded() {
        let (_d, r) = open();
        let stored = r
            .put_component("bot_a", draft("gconv", BLOCK, false))
            .unwrap();
        let spec = serde_json::json!({"timeframe": "1m", "blocks": ["gconv", {"name": "mlp"}],
            "head": "gbm"});
        let out = r.embed_components("bot_a", &spec).unwrap();
        assert_eq!(out["blocks"][0]["hash"], stored.hash);
        assert_eq!(
            out["blocks"][0]["definition"]["layers"][0]["op"],
            "residual"
        );
        assert_eq!(out["blocks"][1], spec["blocks"][1]);
        assert_eq!(out["head"], "gbm");
        let parsed: models::spec::ModelSpec = serde_json::from_value(out).unwrap();
        parsed.validate().unwrap();
        // Another bot does not see a private component: the name stays unresolved.
        let other = r.embed_components("bot_b", &spec).unwrap();
        assert_eq!(other["blocks"][0], "gconv");
        // A block where a head goes is an error naming the field.
        let wrong = serde_json::json!({"timeframe": "1m", "blocks": ["mlp"], "head": "gconv"});
        let e = r.embed_components("bot_a", &wrong).unwrap_err();
        assert!(e.message.contains("head.name"), "{}", e.message);
    }
}
