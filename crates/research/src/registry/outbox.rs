//! The durable sync outbox: every object written locally is queued here, in the same
//! transaction as the run that owns it, until the remote store has it.

use rusqlite::{params, Transaction, TransactionBehavior};
use serde::Serialize;

use super::Registry;
use crate::Result;

/// One object waiting to be (or already) synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxEntry {
    /// Queue position (monotonic).
    pub id: i64,
    /// Object key (same locally and remotely).
    pub key: String,
    /// SHA-256 of the content.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Owning run, if any.
    pub run_id: Option<String>,
    /// Failed upload attempts so far.
    pub attempts: i64,
    /// The last upload error, if any.
    pub last_error: Option<String>,
}

/// Counts of the outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxStatus {
    /// Objects ever queued.
    pub total: u64,
    /// Objects on the remote.
    pub synced: u64,
    /// Objects waiting.
    pub pending: u64,
    /// Pending objects with at least one failed attempt.
    pub failing: u64,
    /// The most recent error among pending objects.
    pub last_error: Option<String>,
}

pub(super) fn enqueue(
    tx: &Transaction<'_>,
    key: &str,
    sha256: &str,
    size: u64,
    run_id: Option<&str>,
    now: &str,
) -> rusqlite::Result<()> {
    // Same key and same content: already queued (or synced) — nothing to do. Same key with new
    // content: queue it again.
    tx.execute(
        "INSERT INTO outbox (key, sha256, size, run_id, enqueued_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(key) DO UPDATE SET sha256 = excluded.sha256, size = excluded.size,
           enqueued_at = excluded.enqueued_at, synced_at = NULL, attempts = 0, last_error = NULL
         WHERE outbox.sha256 <> excluded.sha256",
        params![key, sha256, size as i64, run_id, now],
    )?;
    Ok(())
}

impl Registry {
    /// Queues an object written outside a run (e.g. a comparison report) for sync.
    pub fn enqueue_object(&self, key: &str, sha256: &str, size: u64) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339();
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            enqueue(&tx, key, sha256, size, None, &now)?;
            tx.commit()?;
            Ok(())
        })
    }

    /// Up to `limit` pending objects, oldest first.
    pub fn outbox_pending(&self, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.outbox_pending_after(0, limit)
    }

    /// Up to `limit` pending objects queued after outbox id `after`, oldest first.
    pub fn outbox_pending_after(&self, after: i64, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.with_conn(|c| {
            let mut st = c.prepare(
                "SELECT id, key, sha256, size, run_id, attempts, last_error FROM outbox
                 WHERE synced_at IS NULL AND id > ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = st.query_map([after, limit as i64], |r| {
                Ok(OutboxEntry {
                    id: r.get(0)?,
                    key: r.get(1)?,
                    sha256: r.get(2)?,
                    size: r.get::<_, i64>(3)? as u64,
                    run_id: r.get(4)?,
                    attempts: r.get(5)?,
                    last_error: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }

    /// Marks these objects as on the remote (only if their content did not change meanwhile).
    pub fn outbox_mark_synced(&self, entries: &[OutboxEntry]) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339();
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            for e in entries {
                tx.execute(
                    "UPDATE outbox SET synced_at = ?1, last_error = NULL WHERE id = ?2 AND sha256 = ?3",
                    params![now, e.id, e.sha256],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// Records a failed upload attempt (the message must not contain secrets).
    pub fn outbox_mark_failed(&self, id: i64, error: &str) -> Result<()> {
        self.with_conn(|c| {
            c.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?1 WHERE id = ?2",
                params![error, id],
            )?;
            Ok(())
        })
    }

    /// Records objects that arrived from the remote (restore) as already synced.
    pub fn outbox_record_restored(&self, key: &str, sha256: &str, size: u64) -> Result<()> {
        let now = chrono::Utc::now().to_rfc3339();
        self.with_conn(|c| {
            c.execute(
                "INSERT INTO outbox (key, sha256, size, enqueued_at, synced_at) VALUES (?1, ?2, ?3, ?4, ?4)
                 ON CONFLICT(key) DO NOTHING",
                params![key, sha256, size as i64, now],
            )?;
            Ok(())
        })
    }

    /// Counts of queued, synced and failing objects.
    pub fn outbox_status(&self) -> Result<OutboxStatus> {
        self.with_conn(|c| {
            let (total, synced, pending, failing): (i64, i64, i64, i64) = c.query_row(
                "SELECT COUNT(*),
                        COALESCE(SUM(synced_at IS NOT NULL), 0),
                        COALESCE(SUM(synced_at IS NULL), 0),
                        COALESCE(SUM(synced_at IS NULL AND attempts > 0), 0)
                 FROM outbox",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
            let last_error = c
                .query_row(
                    "SELECT last_error FROM outbox WHERE synced_at IS NULL AND last_error IS NOT NULL
                     ORDER BY id DESC LIMIT 1",
                    [],
                    |r| r.get(0),
                )
                .ok();
            Ok(OutboxStatus {
                total: total as u64,
                synced: synced as u64,
                pending: pending as u64,
                failing: failing as u64,
                last_error,
            })
        })
    }
}
