//! Novelty check before a run: was this exact experiment run, how did similar ones do, and
//! have experiments of the same shape failed?

use serde::{Deserialize, Serialize};

use super::{block_set_key, blocks_key, Registry};
use crate::Result;

/// A past run, briefly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorRun {
    /// Run id.
    pub run_id: String,
    /// Run name.
    pub name: String,
    /// Blocks joined by `+`.
    pub blocks: String,
    /// Head.
    pub head: String,
    /// `ok` or `failed`.
    pub status: String,
    /// CRPS when ok.
    pub crps: Option<f64>,
    /// Error kind when failed.
    pub error_kind: Option<String>,
    /// When it finished (RFC 3339).
    pub finished_at: String,
}

/// A similar past run and how it is similar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarRun {
    /// `same_architecture` (same blocks in order and head, other settings differ), `same_blocks`
    /// (same set of blocks, other head) or `same_head`.
    pub match_type: String,
    /// The run.
    pub run: PriorRun,
}

/// The answer of [`Registry::novelty`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Novelty {
    /// The experiment id that the run would get.
    pub experiment_id: String,
    /// True when this exact experiment (spec, data, seed) was never run.
    pub is_novel: bool,
    /// Runs of this exact experiment, best first.
    pub prior_runs: Vec<PriorRun>,
    /// Similar runs (up to 5), closest and best first.
    pub similar: Vec<SimilarRun>,
    /// How many similar runs exist in all.
    pub total_similar: u64,
    /// Failed runs of the same shape (blocks in order + head), newest first (up to 5).
    pub failures: Vec<PriorRun>,
    /// One line on what to do.
    pub recommendation: String,
}

const COLS: &str = "run_id, name, blocks, head, status, crps, error_kind, finished_at";

fn prior(r: &rusqlite::Row<'_>) -> rusqlite::Result<PriorRun> {
    Ok(PriorRun {
        run_id: r.get(0)?,
        name: r.get(1)?,
        blocks: r.get(2)?,
        head: r.get(3)?,
        status: r.get(4)?,
        crps: r.get(5)?,
        error_kind: r.get(6)?,
        finished_at: r.get(7)?,
    })
}

impl Registry {
    /// Checks an experiment (its id from [`crate::fingerprint::experiment_id`], blocks and head)
    /// against everything run so far.
    pub fn novelty(&self, experiment_id: &str, blocks: &[String], head: &str) -> Result<Novelty> {
        let bk = blocks_key(blocks);
        let bs = block_set_key(blocks);
        let head = head.to_lowercase();
        let (prior_runs, similar_rows, failures) = self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLS} FROM runs WHERE experiment_id = ?1
                 ORDER BY status = 'ok' DESC, crps ASC, finished_at DESC"
            ))?;
            let prior_runs = st.query_map([experiment_id], prior)?.collect::<rusqlite::Result<Vec<_>>>()?;
            let mut st = c.prepare(&format!(
                "SELECT {COLS},
                   CASE WHEN blocks = ?2 AND head = ?4 THEN 0 WHEN block_set = ?3 THEN 1 ELSE 2 END AS m
                 FROM runs
                 WHERE experiment_id <> ?1 AND (blocks = ?2 OR block_set = ?3 OR head = ?4)
                 ORDER BY m, status = 'ok' DESC, crps ASC, finished_at DESC"
            ))?;
            let similar = st
                .query_map(rusqlite::params![experiment_id, bk, bs, head], |r| Ok((prior(r)?, r.get::<_, i64>(8)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut st = c.prepare(&format!(
                "SELECT {COLS} FROM runs WHERE blocks = ?1 AND head = ?2 AND status = 'failed'
                 ORDER BY finished_at DESC LIMIT 5"
            ))?;
            let failures = st.query_map(rusqlite::params![bk, head], prior)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((prior_runs, similar, failures))
        })?;
        let total_similar = similar_rows.len() as u64;
        let similar: Vec<SimilarRun> = similar_rows
            .into_iter()
            .take(5)
            .map(|(run, m)| SimilarRun {
                match_type: ["same_architecture", "same_blocks", "same_head"]
                    [m.clamp(0, 2) as usize]
                    .into(),
                run,
            })
            .collect();
        let is_novel = prior_runs.is_empty();
        let recommendation = if !is_novel {
            let best = prior_runs.iter().filter_map(|r| r.crps).reduce(f64::min);
            match best {
                Some(b) => format!(
                    "this exact experiment ran {} time(s) (best CRPS {b:.2}); change the spec, data or seed, or force a re-run",
                    prior_runs.len()
                ),
                None => format!("this exact experiment ran {} time(s) and failed each time", prior_runs.len()),
            }
        } else if !failures.is_empty() {
            let kinds: Vec<&str> = failures
                .iter()
                .filter_map(|f| f.error_kind.as_deref())
                .collect();
            format!(
                "novel, but {} run(s) of the same shape failed ({}); review before running",
                failures.len(),
                kinds.join(", ")
            )
        } else if let Some(s) = similar.iter().find(|s| s.run.crps.is_some()) {
            format!(
                "novel; similar run {} ({} + {}) scored CRPS {:.2}",
                s.run.run_id,
                s.run.blocks,
                s.run.head,
                s.run.crps.unwrap_or(f64::NAN)
            )
        } else {
            "novel; proceed".into()
        };
        Ok(Novelty {
            experiment_id: experiment_id.into(),
            is_novel,
            prior_runs,
            similar,
            total_similar,
            failures,
            recommendation,
        })
    }
}
