//! Per-bot API keys: random, shown once, stored as SHA-256 hashes in SQLite.
//!
//! The bot id is what a key maps to; callers never choose it. Keys look like `sck_` + 64 hex
//! characters (32 random bytes). Only the hash is stored, so a copy of the database gives no key.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Errors of the key store.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The bot id does not match `[a-z0-9][a-z0-9_-]{0,63}`.
    #[error(
        "invalid bot id {0:?}: use 1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit"
    )]
    InvalidBotId(String),
    /// A bot with this id already has an active key.
    #[error("bot {0:?} already has an active key; revoke it first")]
    Exists(String),
    /// No active key for this bot.
    #[error("no active key for bot {0:?}")]
    Unknown(String),
    /// The database failed.
    #[error("key store {path}: {source}")]
    Db {
        /// Database file.
        path: PathBuf,
        /// Cause.
        source: rusqlite::Error,
    },
    /// The system random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

/// One bot as listed to admins (never the key or its hash).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BotRecord {
    /// The bot id.
    pub bot_id: String,
    /// When the key was issued (RFC 3339).
    pub created_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// The SQLite-backed store of bot keys.
pub struct KeyStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

/// Checks a bot id: 1-64 of `[a-z0-9_-]`, first a letter or digit (so never `.` or `..`).
pub fn valid_bot_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'_' || *c == b'-')
}

/// SHA-256 of a key, hex.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Compares two secrets in time independent of where they differ (hashes first, so lengths
/// leak nothing either).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    let ha = Sha256::digest(a.as_bytes());
    let hb = Sha256::digest(b.as_bytes());
    ha.ct_eq(&hb).into()
}

fn new_key() -> Result<String, KeyError> {
    let mut buf = [0u8; 32];
    getrandom::fill(&mut buf).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(format!("sck_{}", hex::encode(buf)))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl KeyStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, KeyError> {
        let db = |source| KeyError::Db {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| {
                db(rusqlite::Error::InvalidPath(PathBuf::from(format!(
                    "{}: {e}",
                    dir.display()
                ))))
            })?;
        }
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             CREATE TABLE IF NOT EXISTS bot_keys (
                 bot_id TEXT PRIMARY KEY,
                 key_hash TEXT NOT NULL UNIQUE,
                 created_at TEXT NOT NULL,
                 revoked_at TEXT
             );",
        )
        .map_err(db)?;
        // Owner-only, like every key file synth-city writes (SQLite gives its WAL the same mode).
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
        }
        Ok(Self {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    fn db(&self, source: rusqlite::Error) -> KeyError {
        KeyError::Db {
            path: self.path.clone(),
            source,
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A poisoned lock only means another thread panicked mid-call; SQLite kept its state.
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a new key for `bot_id` and returns it; only its hash is kept. A revoked bot may
    /// be issued a new key; an active one may not (409-style `Exists`).
    pub fn create(&self, bot_id: &str) -> Result<String, KeyError> {
        if !valid_bot_id(bot_id) {
            return Err(KeyError::InvalidBotId(bot_id.to_string()));
        }
        let key = new_key()?;
        let conn = self.conn();
        let active: Option<Option<String>> = conn
            .query_row(
                "SELECT revoked_at FROM bot_keys WHERE bot_id = ?1",
                [bot_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        match active {
            Some(None) => return Err(KeyError::Exists(bot_id.to_string())),
            Some(Some(_)) => {
                conn.execute(
                    "UPDATE bot_keys SET key_hash = ?2, created_at = ?3, revoked_at = NULL WHERE bot_id = ?1",
                    params![bot_id, hash_key(&key), now()],
                )
                .map_err(|e| self.db(e))?;
            }
            None => {
                conn.execute(
                    "INSERT INTO bot_keys (bot_id, key_hash, created_at) VALUES (?1, ?2, ?3)",
                    params![bot_id, hash_key(&key), now()],
                )
                .map_err(|e| self.db(e))?;
            }
        }
        Ok(key)
    }

    /// Revokes the active key of `bot_id`.
    pub fn revoke(&self, bot_id: &str) -> Result<(), KeyError> {
        let n = self
            .conn()
            .execute(
                "UPDATE bot_keys SET revoked_at = ?2 WHERE bot_id = ?1 AND revoked_at IS NULL",
                params![bot_id, now()],
            )
            .map_err(|e| self.db(e))?;
        if n == 0 {
            return Err(KeyError::Unknown(bot_id.to_string()));
        }
        Ok(())
    }

    /// Every bot ever issued a key, by id.
    pub fn list(&self) -> Result<Vec<BotRecord>, KeyError> {
        let conn = self.conn();
        let mut st = conn
            .prepare("SELECT bot_id, created_at, revoked_at FROM bot_keys ORDER BY bot_id")
            .map_err(|e| self.db(e))?;
        let rows = st
            .query_map([], |r| {
                Ok(BotRecord {
                    bot_id: r.get(0)?,
                    created_at: r.get(1)?,
                    revoked_at: r.get(2)?,
                })
            })
            .map_err(|e| self.db(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.db(e))
    }

    /// Number of active keys.
    pub fn active_count(&self) -> Result<usize, KeyError> {
        let n: i64 = self
            .conn()
            .query_row(
                "SELECT COUNT(*) FROM bot_keys WHERE revoked_at IS NULL",
                [],
                |r| r.get(0),
            )
            .map_err(|e| self.db(e))?;
        Ok(n.max(0) as usize)
    }

    /// The bot whose active key is `key`, if any. The lookup goes by hash, so timing can only
    /// reveal facts about SHA-256 outputs, never about the key; the final comparison is
    /// constant-time as well.
    pub fn lookup(&self, key: &str) -> Result<Option<String>, KeyError> {
        let h = hash_key(key);
        let row: Option<(String, String)> = self
            .conn()
            .query_row(
                "SELECT bot_id, key_hash FROM bot_keys WHERE key_hash = ?1 AND revoked_at IS NULL",
                [&h],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.db(e))?;
        Ok(row
            .filter(|(_, stored)| bool::from(stored.as_bytes().ct_eq(h.as_bytes())))
            .map(|(id, _)| id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_hashed_unique_and_revocable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys.sqlite");
        let store = KeyStore::open(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "the key database is owner-only");
        }
        let ka = store.create("alpha").unwrap();
        let kb = store.create("beta").unwrap();
        assert!(ka.starts_with("sck_") && ka.len() == 68);
        assert_ne!(ka, kb);
        assert_eq!(store.lookup(&ka).unwrap().as_deref(), Some("alpha"));
        assert_eq!(store.lookup(&kb).unwrap().as_deref(), Some("beta"));
        assert_eq!(store.lookup("sck_forged").unwrap(), None);
        assert!(matches!(store.create("alpha"), Err(KeyError::Exists(_))));
        // The plaintext key is nowhere in the database file.
        let raw = std::fs::read(&path).unwrap();
        assert!(!raw.windows(ka.len()).any(|w| w == ka.as_bytes()));
        store.revoke("alpha").unwrap();
        assert_eq!(store.lookup(&ka).unwrap(), None);
        assert_eq!(store.active_count().unwrap(), 1);
        let ka2 = store.create("alpha").unwrap();
        assert_eq!(store.lookup(&ka2).unwrap().as_deref(), Some("alpha"));
        assert_eq!(store.list().unwrap().len(), 2);
    }

    #[test]
    fn bot_ids_cannot_name_directories_outside() {
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "A",
            "-a",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(!valid_bot_id(bad), "{bad:?}");
        }
        for good in ["a", "bot-1", "b_2", &"x".repeat(64)] {
            assert!(valid_bot_id(good), "{good:?}");
        }
        assert!(secrets_equal("abc", "abc") && !secrets_equal("abc", "abd"));
    }
}
