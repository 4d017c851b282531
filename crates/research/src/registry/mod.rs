//! The experiment registry: one SQLite database that ranks, remembers and never loses a run.
//!
//! WAL mode and a busy timeout let several processes and threads write at once; every write is
//! one `BEGIN IMMEDIATE` transaction, so a record is either fully there or not at all.

mod champions;
mod components;
mod definitions;
mod novelty;
mod outbox;
mod publications;
mod query;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

pub use champions::{NewPromotion, Promotion, PromotionAction};
pub use components::{
    check_component_name, ComponentDraft, ComponentKind, ComponentSummary, StoredComponent,
    LOCAL_OWNER,
};
pub use definitions::{
    check_definition_name, DefinitionKind, StoredDefinition, MAX_DEFINITION_BYTES,
};
pub use novelty::{Novelty, PriorRun, SimilarRun};
pub use outbox::{OutboxEntry, OutboxStatus};
pub use publications::Publication;
pub use query::{Champion, HistoryOrder, HistoryQuery, Trend, Trends};

use crate::record::RunRecord;
use crate::{ResearchError, Result};

/// File name of the registry inside the data directory.
pub const REGISTRY_FILE: &str = "registry.sqlite";

/// Handle on the registry database. Cheap to open; `Sync` (one connection behind a mutex), and
/// several handles (threads, processes) may write the same file concurrently.
#[derive(Debug)]
pub struct Registry {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Registry {
    /// Opens the registry at `market::home::data_dir()/registry.sqlite`.
    pub fn open_default() -> Result<Self> {
        Self::open(market::home::data_dir().join(REGISTRY_FILE))
    }

    /// Opens (creating and migrating if needed) the registry at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut conn = Connection::open(&path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        schema::migrate(&mut conn)?;
        Ok(Self {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let mut guard = self
            .conn
            .lock()
            .map_err(|_| ResearchError::env("registry connection poisoned by a panic"))?;
        f(&mut guard)
    }

    /// A stable random id of this machine's registry (names its manifest segments).
    pub fn machine_id(&self) -> Result<String> {
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let existing: Option<String> = tx
                .query_row("SELECT value FROM meta WHERE key = 'machine_id'", [], |r| {
                    r.get(0)
                })
                .optional()?;
            let id = match existing {
                Some(id) => id,
                None => {
                    let id = format!("m{:016x}", rand::random::<u64>());
                    tx.execute(
                        "INSERT INTO meta (key, value) VALUES ('machine_id', ?1)",
                        [&id],
                    )?;
                    id
                }
            };
            tx.commit()?;
            Ok(id)
        })
    }

    /// Inserts a finished run with its scores and artifacts, and queues every artifact plus the
    /// record itself (`runs/<id>/record.json`, which the caller has written locally) for sync —
    /// all in one transaction. Inserting a run id that is already there is a no-op (idempotent:
    /// restoring or re-importing never duplicates), and returns `false`.
    pub fn insert_run(
        &self,
        rec: &RunRecord,
        record_json: Option<(&str, &str, u64)>,
    ) -> Result<bool> {
        if rec.run_id.is_empty()
            || rec.run_id.len() > 80
            || !rec
                .run_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Err(ResearchError::invalid(format!(
                "invalid run id {:?}",
                rec.run_id
            )));
        }
        let json = serde_json::to_string(rec).map_err(|e| ResearchError::env(e.to_string()))?;
        let now = chrono::Utc::now().to_rfc3339();
        self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO runs (run_id, experiment_id, name, blocks, block_set, head,
                   assets, timeframe, provenance, requested_by, status, error_kind, crps,
                   baseline_ratio, started_at, finished_at, record)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)",
                params![
                    rec.run_id,
                    rec.experiment_id,
                    rec.name,
                    blocks_key(&rec.blocks),
                    block_set_key(&rec.blocks),
                    rec.head.to_lowercase(),
                    rec.data.assets.join(","),
                    rec.data.timeframe,
                    rec.provenance.as_str(),
                    rec.requested_by.label(),
                    rec.status.as_str(),
                    rec.error.as_ref().map(|e| e.kind.as_str()),
                    rec.crps.filter(|x| x.is_finite()),
                    rec.baseline_ratio.filter(|x| x.is_finite()),
                    rec.started_at.to_rfc3339(),
                    rec.finished_at.to_rfc3339(),
                    json,
                ],
            )?;
            if inserted == 0 {
                return Ok(false);
            }
            for s in &rec.scores {
                tx.execute(
                    "INSERT OR REPLACE INTO scores (run_id, asset, timeframe, crps, baseline_crps)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![rec.run_id, s.asset, s.timeframe, s.crps, s.baseline_crps],
                )?;
            }
            for a in &rec.artifacts {
                tx.execute(
                    "INSERT INTO artifacts (run_id, name, key, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![rec.run_id, a.name, a.key, a.size as i64, a.sha256],
                )?;
                outbox::enqueue(&tx, &a.key, &a.sha256, a.size, Some(&rec.run_id), &now)?;
            }
            if let Some((key, sha, size)) = record_json {
                outbox::enqueue(&tx, key, sha, size, Some(&rec.run_id), &now)?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    /// The run with this id, or the only run whose id (or experiment id) starts with it.
    pub fn get_run(&self, id: &str) -> Result<RunRecord> {
        let id = id.trim();
        if id.len() < 4 || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(ResearchError::invalid(format!(
                "run id {id:?}: give at least 4 characters of a run or experiment id"
            )));
        }
        let pattern = format!("{id}%");
        let rows: Vec<String> = self.with_conn(|c| {
            let mut st = c.prepare(
                "SELECT record FROM runs WHERE run_id = ?1 OR run_id LIKE ?2 OR experiment_id LIKE ?2
                 ORDER BY (run_id = ?1) DESC, finished_at DESC LIMIT 2",
            )?;
            let rows = st.query_map(params![id, pattern], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        match rows.as_slice() {
            [] => Err(ResearchError::not_found(format!("no run matches {id:?}"))),
            [one] => parse_record(one),
            [first, ..] => {
                let rec = parse_record(first)?;
                if rec.run_id == id {
                    Ok(rec)
                } else {
                    Err(ResearchError::invalid(format!(
                        "{id:?} matches several runs; give more of the id"
                    )))
                }
            }
        }
    }

    /// True when a run with exactly this id is stored.
    pub fn has_run(&self, run_id: &str) -> Result<bool> {
        self.with_conn(|c| {
            Ok(c.query_row(
                "SELECT EXISTS(SELECT 1 FROM runs WHERE run_id = ?1)",
                params![run_id],
                |r| r.get::<_, bool>(0),
            )?)
        })
    }

    /// Number of runs stored.
    pub fn count_runs(&self) -> Result<u64> {
        self.with_conn(|c| {
            Ok(c.query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))? as u64)
        })
    }
}

fn parse_record(json: &str) -> Result<RunRecord> {
    serde_json::from_str(json).map_err(|e| ResearchError::env(format!("corrupt run record: {e}")))
}

/// Lower-cased blocks joined by `+`, in order.
pub(crate) fn blocks_key(blocks: &[String]) -> String {
    blocks
        .iter()
        .map(|b| b.to_lowercase())
        .collect::<Vec<_>>()
        .join("+")
}

/// Lower-cased distinct blocks, sorted, joined by `+`.
pub(crate) fn block_set_key(blocks: &[String]) -> String {
    let mut set: Vec<String> = blocks.iter().map(|b| b.to_lowercase()).collect();
    set.sort();
    set.dedup();
    set.join("+")
}
