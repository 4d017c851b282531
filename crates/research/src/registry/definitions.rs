//! Agent definitions stored as data: agents (system prompt + tool subset + model + temperature),
//! prompt fragments and pipelines (stage lists), each owned by the bot (or `local`) that wrote
//! it, versioned (every version kept) and content-hashed. The `agents` crate validates a body
//! before it stores it; this table only keeps what it is given and enforces ownership.

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Registry;
use crate::{ResearchError, Result};

/// The table (idempotent: safe on a registry that already has it).
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE IF NOT EXISTS definitions (
        kind       TEXT NOT NULL,
        name       TEXT NOT NULL,
        version    INTEGER NOT NULL,
        owner      TEXT NOT NULL,
        hash       TEXT NOT NULL,
        body       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (kind, name, version)
    );
"#;

/// Largest body kept (bytes).
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;

/// What a definition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DefinitionKind {
    /// An agent: system prompt, tools, model, temperature.
    Agent,
    /// A prompt fragment agents can include.
    Prompt,
    /// A pipeline: a stage list.
    Pipeline,
}

impl DefinitionKind {
    /// `agent`, `prompt` or `pipeline`.
    pub fn as_str(self) -> &'static str {
        match self {
            DefinitionKind::Agent => "agent",
            DefinitionKind::Prompt => "prompt",
            DefinitionKind::Pipeline => "pipeline",
        }
    }
}

/// One stored version of a definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredDefinition {
    /// What it is.
    pub kind: DefinitionKind,
    /// Name (unique per kind; the first writer owns it).
    pub name: String,
    /// Version, from 1.
    pub version: u32,
    /// Who wrote it (a bot id, or `local` for the CLI).
    pub owner: String,
    /// SHA-256 (hex) of `body`.
    pub hash: String,
    /// The definition (JSON text).
    pub body: String,
    /// When this version was stored (RFC 3339 UTC).
    pub created_at: String,
}

fn row(r: &Row<'_>) -> rusqlite::Result<StoredDefinition> {
    let kind: String = r.get(0)?;
    let kind = match kind.as_str() {
        "agent" => DefinitionKind::Agent,
        "prompt" => DefinitionKind::Prompt,
        _ => DefinitionKind::Pipeline,
    };
    Ok(StoredDefinition {
        kind,
        name: r.get(1)?,
        version: r.get::<_, i64>(2)? as u32,
        owner: r.get(3)?,
        hash: r.get(4)?,
        body: r.get(5)?,
        created_at: r.get(6)?,
    })
}

const COLUMNS: &str = "kind, name, version, owner, hash, body, created_at";

/// A name definitions may use: 1–64 of `[A-Za-z0-9_.-]`, not starting with a dot.
pub fn check_definition_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ResearchError::invalid(format!(
            "name {name:?}: use 1-64 letters, digits, '_', '-' or '.' (not starting with '.')"
        )))
    }
}

impl Registry {
    /// Stores `body` as the next version of `kind`/`name` for `owner`. A name another owner
    /// holds is refused; the same body as the latest version stores nothing and returns that
    /// version. Every earlier version is kept.
    pub fn put_definition(
        &self,
        owner: &str,
        kind: DefinitionKind,
        name: &str,
        body: &str,
    ) -> Result<StoredDefinition> {
        check_definition_name(name)?;
        if owner.trim().is_empty() {
            return Err(ResearchError::invalid("owner: required"));
        }
        if body.len() > MAX_DEFINITION_BYTES {
            return Err(ResearchError::invalid(format!(
                "{} {name}: {} bytes, more than the {MAX_DEFINITION_BYTES} allowed",
                kind.as_str(),
                body.len()
            )));
        }
        let hash = hex(&Sha256::digest(body.as_bytes()));
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let latest: Option<StoredDefinition> = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM definitions WHERE kind = ?1 AND name = ?2 ORDER BY version DESC LIMIT 1"),
                    params![kind.as_str(), name],
                    row,
                )
                .optional()?;
            if let Some(l) = &latest {
                if l.owner != owner {
                    return Err(ResearchError::invalid(format!(
                        "{} {name} belongs to another owner; choose another name",
                        kind.as_str()
                    )));
                }
                if l.hash == hash {
                    return Ok(l.clone());
                }
            }
            let stored = StoredDefinition {
                kind,
                name: name.to_string(),
                version: latest.map_or(1, |l| l.version + 1),
                owner: owner.to_string(),
                hash,
                body: body.to_string(),
                created_at: chrono::Utc::now().to_rfc3339(),
            };
            tx.execute(
                &format!("INSERT INTO definitions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    kind.as_str(),
                    stored.name,
                    i64::from(stored.version),
                    stored.owner,
                    stored.hash,
                    stored.body,
                    stored.created_at
                ],
            )?;
            tx.commit()?;
            Ok(stored)
        })
    }

    /// The latest version of `kind`/`name`, or a given `version`.
    pub fn definition(
        &self,
        kind: DefinitionKind,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredDefinition>> {
        self.with_conn(|c| {
            let found = match version {
                Some(v) => c
                    .query_row(
                        &format!("SELECT {COLUMNS} FROM definitions WHERE kind = ?1 AND name = ?2 AND version = ?3"),
                        params![kind.as_str(), name, i64::from(v)],
                        row,
                    )
                    .optional()?,
                None => c
                    .query_row(
                        &format!("SELECT {COLUMNS} FROM definitions WHERE kind = ?1 AND name = ?2 ORDER BY version DESC LIMIT 1"),
                        params![kind.as_str(), name],
                        row,
                    )
                    .optional()?,
            };
            Ok(found)
        })
    }

    /// The latest version of every definition of `kind`, by name.
    pub fn definitions(&self, kind: DefinitionKind) -> Result<Vec<StoredDefinition>> {
        self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM definitions d WHERE kind = ?1 AND version =
                   (SELECT MAX(version) FROM definitions e WHERE e.kind = d.kind AND e.name = d.name)
                 ORDER BY name"
            ))?;
            let rows = st
                .query_map(params![kind.as_str()], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }

    /// Every version of `kind`/`name`, oldest first.
    pub fn definition_versions(
        &self,
        kind: DefinitionKind,
        name: &str,
    ) -> Result<Vec<StoredDefinition>> {
        self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM definitions WHERE kind = ?1 AND name = ?2 ORDER BY version"
            ))?;
            let rows = st
                .query_map(params![kind.as_str(), name], row)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_hashes_and_owners() {
        let dir = tempfile::tempdir().unwrap();
        let r = Registry::open(dir.path().join("r.sqlite")).unwrap();
        let a = r
            .put_definition("bot-a", DefinitionKind::Agent, "scout", "{\"x\":1}")
            .unwrap();
        assert_eq!((a.version, a.hash.len()), (1, 64));
        // Same body: nothing new.
        let same = r
            .put_definition("bot-a", DefinitionKind::Agent, "scout", "{\"x\":1}")
            .unwrap();
        assert_eq!(same.version, 1);
        let b = r
            .put_definition("bot-a", DefinitionKind::Agent, "scout", "{\"x\":2}")
            .unwrap();
        assert_eq!(b.version, 2);
        // Another owner cannot take the name over.
        let e = r
            .put_definition("bot-b", DefinitionKind::Agent, "scout", "{}")
            .unwrap_err();
        assert!(e.message.contains("another owner"), "{}", e.message);
        // The same name of another kind is another definition.
        r.put_definition("bot-b", DefinitionKind::Prompt, "scout", "{}")
            .unwrap();
        assert_eq!(
            r.definition(DefinitionKind::Agent, "scout", None)
                .unwrap()
                .unwrap()
                .body,
            "{\"x\":2}"
        );
        assert_eq!(
            r.definition(DefinitionKind::Agent, "scout", Some(1))
                .unwrap()
                .unwrap()
                .body,
            "{\"x\":1}"
        );
        assert_eq!(
            r.definition_versions(DefinitionKind::Agent, "scout")
                .unwrap()
                .len(),
            2
        );
        assert_eq!(r.definitions(DefinitionKind::Agent).unwrap().len(), 1);
        assert!(r
            .put_definition("bot-a", DefinitionKind::Agent, "../x", "{}")
            .is_err());
        let big = "x".repeat(MAX_DEFINITION_BYTES + 1);
        assert!(r
            .put_definition("bot-a", DefinitionKind::Agent, "big", &big)
            .is_err());
    }
}
