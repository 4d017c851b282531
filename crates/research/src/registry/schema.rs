//! Versioned schema migrations (`PRAGMA user_version` holds the applied version).

use rusqlite::Connection;

use crate::{ResearchError, Result};

/// Migrations in order; entry `i` brings the schema from version `i` to `i + 1`. Never edit a
/// released entry: append a new one.
const MIGRATIONS: &[&str] = &[
    // v1: runs, their per-asset scores and artifacts, the sync outbox, machine metadata.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE runs (
        run_id         TEXT PRIMARY KEY,
        experiment_id  TEXT NOT NULL,
        name           TEXT NOT NULL,
        blocks         TEXT NOT NULL,
        block_set      TEXT NOT NULL,
        head           TEXT NOT NULL,
        assets         TEXT NOT NULL,
        timeframe      TEXT NOT NULL,
        provenance     TEXT NOT NULL,
        requested_by   TEXT NOT NULL,
        status         TEXT NOT NULL,
        error_kind     TEXT,
        crps           REAL,
        baseline_ratio REAL,
        started_at     TEXT NOT NULL,
        finished_at    TEXT NOT NULL,
        record         TEXT NOT NULL
    );
    CREATE INDEX runs_experiment ON runs(experiment_id);
    CREATE INDEX runs_rank ON runs(status, crps);
    CREATE INDEX runs_finished ON runs(finished_at);
    CREATE TABLE scores (
        run_id        TEXT NOT NULL REFERENCES runs(run_id),
        asset         TEXT NOT NULL,
        timeframe     TEXT NOT NULL,
        crps          REAL NOT NULL,
        baseline_crps REAL,
        PRIMARY KEY (run_id, asset, timeframe)
    );
    CREATE INDEX scores_champion ON scores(asset, timeframe, crps);
    CREATE TABLE artifacts (
        run_id TEXT NOT NULL REFERENCES runs(run_id),
        name   TEXT NOT NULL,
        key    TEXT NOT NULL UNIQUE,
        size   INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    CREATE TABLE outbox (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        key         TEXT NOT NULL UNIQUE,
        sha256      TEXT NOT NULL,
        size        INTEGER NOT NULL,
        run_id      TEXT,
        enqueued_at TEXT NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        last_error  TEXT,
        synced_at   TEXT
    );
    CREATE INDEX outbox_pending ON outbox(synced_at, id);
    "#,
    // v2: promoted champions with their history. The current champion of an asset ×
    // timeframe is its newest entry; `run_id` NULL means none (the default model serves).
    // `previous_id` is the entry this one was laid over, which a rollback restores.
    r#"
    CREATE TABLE champions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        asset       TEXT NOT NULL,
        timeframe   TEXT NOT NULL,
        run_id      TEXT REFERENCES runs(run_id),
        action      TEXT NOT NULL,
        promoted_at TEXT NOT NULL,
        promoted_by TEXT NOT NULL,
        previous_id INTEGER REFERENCES champions(id),
        evidence    TEXT,
        checker     TEXT
    );
    CREATE INDEX champions_current ON champions(asset, timeframe, id);
    "#,
    // v3: publications of runs to the Hugging Face Hub and W&B (idempotent SQL: see
    // publications.rs).
    super::publications::MIGRATION,
    // v4: user components (blocks, heads, scripts), versioned and owned (see components.rs).
    super::components::MIGRATION,
    // v5: agents, prompts and pipelines stored as data, owned, versioned (see definitions.rs).
    super::definitions::MIGRATION,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings `conn` up to [`SCHEMA_VERSION`], one transaction per migration.
pub fn migrate(conn: &mut Connection) -> Result<()> {
    loop {
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(ResearchError::env(format!(
                "registry schema v{version} is newer than this build (v{SCHEMA_VERSION}); upgrade synth-city"
            )));
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        tx.execute_batch(MIGRATIONS[version as usize])?;
        tx.pragma_update(None, "user_version", version + 1)?;
        tx.commit()?;
    }
}
