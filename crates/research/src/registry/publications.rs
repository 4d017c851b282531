//! Publications of runs to outside services (Hugging Face Hub, Weights & Biases): each request
//! is a row, `pending` until the service confirmed it, then `published` with its address. The
//! pending rows are the queue `store sync` and `publish retry` work through; a run that failed
//! halfway stays pending (never recorded as published).

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::Serialize;
use serde_json::Value;

use super::Registry;
use crate::{ResearchError, Result};

/// The table (idempotent: safe on a registry that already has it).
pub(super) const MIGRATION: &str = r#"
    CREATE TABLE IF NOT EXISTS publications (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        target       TEXT NOT NULL,
        run_id       TEXT NOT NULL,
        destination  TEXT NOT NULL,
        options      TEXT NOT NULL DEFAULT '{}',
        status       TEXT NOT NULL,
        url          TEXT,
        revision     TEXT,
        requested_at TEXT NOT NULL,
        published_at TEXT,
        attempts     INTEGER NOT NULL DEFAULT 0,
        last_error   TEXT,
        UNIQUE (target, run_id, destination)
    );
    CREATE INDEX IF NOT EXISTS publications_status ON publications(status, id);
"#;

/// One publication of a run to a target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Publication {
    /// Row id.
    pub id: i64,
    /// `hf` or `wandb`.
    pub target: String,
    /// The run.
    pub run_id: String,
    /// Where: a Hub repository (`owner/name`), a W&B `entity/project` (or the project).
    pub destination: String,
    /// Target options (e.g. `{"private": true}`).
    pub options: Value,
    /// `pending` or `published`.
    pub status: String,
    /// Address of what was published.
    pub url: Option<String>,
    /// The service's id of it (a commit id, a run id).
    pub revision: Option<String>,
    /// When it was (last) asked for.
    pub requested_at: String,
    /// When the service confirmed it.
    pub published_at: Option<String>,
    /// Failed attempts since it was asked for.
    pub attempts: i64,
    /// Why the last attempt failed (no secrets).
    pub last_error: Option<String>,
}

/// `pending`.
pub const PENDING: &str = "pending";
/// `published`.
pub const PUBLISHED: &str = "published";

fn row(r: &Row<'_>) -> rusqlite::Result<Publication> {
    let options: String = r.get(4)?;
    Ok(Publication {
        id: r.get(0)?,
        target: r.get(1)?,
        run_id: r.get(2)?,
        destination: r.get(3)?,
        options: serde_json::from_str(&options).unwrap_or(Value::Null),
        status: r.get(5)?,
        url: r.get(6)?,
        revision: r.get(7)?,
        requested_at: r.get(8)?,
        published_at: r.get(9)?,
        attempts: r.get(10)?,
        last_error: r.get(11)?,
    })
}

const COLS: &str = "id, target, run_id, destination, options, status, url, revision, requested_at, published_at, attempts, last_error";

impl Registry {
    /// Queues the publication of `run_id` to `target` at `destination` (pending). Asking again
    /// for one already there puts it back to pending with the new options (publishing again).
    pub fn request_publication(
        &self,
        target: &str,
        run_id: &str,
        destination: &str,
        options: &Value,
    ) -> Result<Publication> {
        let now = chrono::Utc::now().to_rfc3339();
        let opts = options.to_string();
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO publications (target, run_id, destination, options, status, requested_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT(target, run_id, destination) DO UPDATE SET options = excluded.options,
                   status = excluded.status, requested_at = excluded.requested_at, attempts = 0,
                   last_error = NULL",
                params![target, run_id, destination, opts, PENDING, now],
            )?;
            let p = tx.query_row(
                &format!("SELECT {COLS} FROM publications WHERE target = ?1 AND run_id = ?2 AND destination = ?3"),
                params![target, run_id, destination],
                row,
            )?;
            tx.commit()?;
            Ok(p)
        })
    }

    /// Records that publication `id` is on the service, at `url` (revision: its commit / run id).
    pub fn publication_published(&self, id: i64, url: &str, revision: Option<&str>) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339();
        self.with_conn(|c| {
            let n = c.execute(
                "UPDATE publications SET status = ?1, url = ?2, revision = ?3, published_at = ?4,
                   last_error = NULL WHERE id = ?5",
                params![PUBLISHED, url, revision, now, id],
            )?;
            if n == 0 {
                return Err(ResearchError::not_found(format!("no publication {id}")));
            }
            Ok(())
        })
    }

    /// Records a failed attempt of publication `id` (it stays pending).
    pub fn publication_failed(&self, id: i64, error: &str) -> Result<()> {
        self.with_conn(|c| {
            c.execute(
                "UPDATE publications SET attempts = attempts + 1, last_error = ?1 WHERE id = ?2",
                params![error, id],
            )?;
            Ok(())
        })
    }

    /// Publications, newest first: of `target` (all when `None`), with `status` (all when
    /// `None`), at most `limit`.
    pub fn publications(
        &self,
        target: Option<&str>,
        status: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Publication>> {
        self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLS} FROM publications
                 WHERE (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR status = ?2)
                 ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = st.query_map(params![target, status, limit as i64], row)?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// The publication of `run_id` to `target` at `destination`, if asked for.
    pub fn publication(
        &self,
        target: &str,
        run_id: &str,
        destination: &str,
    ) -> Result<Option<Publication>> {
        self.with_conn(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLS} FROM publications WHERE target = ?1 AND run_id = ?2 AND destination = ?3"),
                params![target, run_id, destination],
                row,
            )
            .optional()?)
        })
    }

    /// True when every object of `run_id` in the sync outbox is on the remote (and there is
    /// at least one).
    pub fn run_synced(&self, run_id: &str) -> Result<bool> {
        self.with_conn(|c| {
            let (total, pending): (i64, i64) = c.query_row(
                "SELECT COUNT(*), COALESCE(SUM(synced_at IS NULL), 0) FROM outbox WHERE run_id = ?1",
                params![run_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            Ok(total > 0 && pending == 0)
        })
    }
}
