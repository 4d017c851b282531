//! Promoted champions and their history (the `champions` table). Each entry records who made
//! which run the champion of an asset × timeframe, when, on what evidence and with which
//! checker verdict; the newest entry is the current champion. Entries are only appended:
//! a rollback is a new entry restoring the one the current champion was laid over.

use rusqlite::{params, OptionalExtension, Row, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::{parse_record, Registry};
use crate::promotion::{CheckVerdict, PairedComparison};
use crate::{ResearchError, Result};

/// How an entry came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromotionAction {
    /// Promoted after a paired comparison it won.
    Promote,
    /// Promoted with `--force` although the comparison did not show it better.
    Force,
    /// The champion before the current one restored.
    Rollback,
}

impl PromotionAction {
    /// `promote`, `force` or `rollback`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Promote => "promote",
            Self::Force => "force",
            Self::Rollback => "rollback",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "force" => Self::Force,
            "rollback" => Self::Rollback,
            _ => Self::Promote,
        }
    }
}

/// One entry of the champion history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Promotion {
    /// Entry id (increasing).
    pub id: i64,
    /// Asset (upper case).
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// The champion run; `None`: no champion (the default model serves).
    pub run_id: Option<String>,
    /// How it came to be.
    pub action: PromotionAction,
    /// When (RFC 3339, UTC).
    pub promoted_at: String,
    /// Who (`cli`, `pipeline:<id>`, `bot:<id>`).
    pub promoted_by: String,
    /// The entry this one was laid over (what a rollback restores).
    pub previous_id: Option<i64>,
    /// The paired comparison against the previous champion (or the default model).
    pub evidence: Option<PairedComparison>,
    /// The checker's verdict on the run.
    pub checker: Option<CheckVerdict>,
}

/// What [`Registry::record_promotion`] appends.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPromotion<'a> {
    /// Asset.
    pub asset: &'a str,
    /// `5m` or `1m`.
    pub timeframe: &'a str,
    /// The run made champion (`None`: none).
    pub run_id: Option<&'a str>,
    /// How.
    pub action: PromotionAction,
    /// Who.
    pub by: &'a str,
    /// The id of the current entry the caller compared against (`None`: there was none). The
    /// append is refused when another promotion landed in between.
    pub expected_current: Option<i64>,
    /// The entry this one lays over (a rollback passes the restored entry's own previous).
    pub previous_id: Option<i64>,
    /// Evidence.
    pub evidence: Option<&'a PairedComparison>,
    /// Checker verdict.
    pub checker: Option<&'a CheckVerdict>,
}

const COLUMNS: &str =
    "id, asset, timeframe, run_id, action, promoted_at, promoted_by, previous_id, evidence, checker";

fn from_row(r: &Row<'_>) -> rusqlite::Result<(Promotion, Option<String>, Option<String>)> {
    Ok((
        Promotion {
            id: r.get(0)?,
            asset: r.get(1)?,
            timeframe: r.get(2)?,
            run_id: r.get(3)?,
            action: PromotionAction::parse(&r.get::<_, String>(4)?),
            promoted_at: r.get(5)?,
            promoted_by: r.get(6)?,
            previous_id: r.get(7)?,
            evidence: None,
            checker: None,
        },
        r.get(8)?,
        r.get(9)?,
    ))
}

fn finish(row: (Promotion, Option<String>, Option<String>)) -> Result<Promotion> {
    let (mut p, ev, ck) = row;
    let parse = |what: &str, s: &str| ResearchError::env(format!("corrupt champion {what}: {s}"));
    p.evidence = ev
        .map(|s| serde_json::from_str(&s).map_err(|e| parse("evidence", &e.to_string())))
        .transpose()?;
    p.checker = ck
        .map(|s| serde_json::from_str(&s).map_err(|e| parse("checker verdict", &e.to_string())))
        .transpose()?;
    Ok(p)
}

impl Registry {
    /// The current entry of `asset` × `timeframe` (its run may be `None` after a rollback to
    /// no champion); `None` when nothing was ever promoted.
    pub fn current_promotion(&self, asset: &str, timeframe: &str) -> Result<Option<Promotion>> {
        let row = self.with_conn(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT {COLUMNS} FROM champions WHERE asset = ?1 AND timeframe = ?2
                     ORDER BY id DESC LIMIT 1"
                ),
                params![asset.to_uppercase(), timeframe],
                from_row,
            )
            .optional()?)
        })?;
        row.map(finish).transpose()
    }

    /// One entry by id.
    pub fn promotion(&self, id: i64) -> Result<Option<Promotion>> {
        let row = self.with_conn(|c| {
            Ok(c.query_row(
                &format!("SELECT {COLUMNS} FROM champions WHERE id = ?1"),
                params![id],
                from_row,
            )
            .optional()?)
        })?;
        row.map(finish).transpose()
    }

    /// The champion history, newest first (optionally one asset and/or timeframe; `limit` 0
    /// means 50).
    pub fn promotions(
        &self,
        asset: Option<&str>,
        timeframe: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Promotion>> {
        let limit = if limit == 0 { 50 } else { limit } as i64;
        let rows = self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM champions
                 WHERE (?1 IS NULL OR asset = ?1) AND (?2 IS NULL OR timeframe = ?2)
                 ORDER BY id DESC LIMIT ?3"
            ))?;
            let rows = st.query_map(
                params![asset.map(str::to_uppercase), timeframe, limit],
                from_row,
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        rows.into_iter().map(finish).collect()
    }

    /// The current entry of every asset × timeframe that has one, by asset then timeframe.
    pub fn current_promotions(&self) -> Result<Vec<Promotion>> {
        let rows = self.with_conn(|c| {
            let mut st = c.prepare(&format!(
                "SELECT {COLUMNS} FROM champions WHERE id IN
                   (SELECT MAX(id) FROM champions GROUP BY asset, timeframe)
                 ORDER BY asset, timeframe"
            ))?;
            let rows = st.query_map([], from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        rows.into_iter().map(finish).collect()
    }

    /// Appends an entry in one transaction, refused (`InvalidConfig`) when the current entry
    /// is no longer `expected_current` (another promotion landed since the caller compared)
    /// or when the run is not in the registry.
    pub fn record_promotion(&self, p: &NewPromotion<'_>) -> Result<Promotion> {
        let asset = p.asset.to_uppercase();
        let evidence = p
            .evidence
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| ResearchError::env(e.to_string()))?;
        let checker = p
            .checker
            .map(serde_json::to_string)
            .transpose()
            .map_err(|e| ResearchError::env(e.to_string()))?;
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let id = self.with_conn(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let current: Option<i64> = tx
                .query_row(
                    "SELECT MAX(id) FROM champions WHERE asset = ?1 AND timeframe = ?2",
                    params![asset, p.timeframe],
                    |r| r.get(0),
                )
                .optional()?
                .flatten();
            if current != p.expected_current {
                return Err(ResearchError::invalid(format!(
                    "the champion of {asset} {} changed while this promotion was checked; \
                     run it again",
                    p.timeframe
                )));
            }
            if let Some(run) = p.run_id {
                let known: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM runs WHERE run_id = ?1)",
                    params![run],
                    |r| r.get(0),
                )?;
                if !known {
                    return Err(ResearchError::not_found(format!("no run {run:?}")));
                }
            }
            tx.execute(
                "INSERT INTO champions (asset, timeframe, run_id, action, promoted_at, promoted_by,
                   previous_id, evidence, checker)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    asset,
                    p.timeframe,
                    p.run_id,
                    p.action.as_str(),
                    now,
                    p.by,
                    p.previous_id,
                    evidence,
                    checker
                ],
            )?;
            let id = tx.last_insert_rowid();
            tx.commit()?;
            Ok(id)
        })?;
        self.promotion(id)?
            .ok_or_else(|| ResearchError::env("champion entry vanished after its insert"))
    }

    /// Restores the champion the current one of `asset` × `timeframe` was laid over (none, if
    /// it was the first: the default model serves again). Repeated rollbacks walk further
    /// back. Errors when there is no champion to roll back.
    pub fn rollback_champion(&self, asset: &str, timeframe: &str, by: &str) -> Result<Promotion> {
        let asset = asset.to_uppercase();
        let current = self
            .current_promotion(&asset, timeframe)?
            .filter(|c| c.run_id.is_some())
            .ok_or_else(|| {
                ResearchError::not_found(format!(
                    "{asset} {timeframe} has no champion to roll back"
                ))
            })?;
        let restored = match current.previous_id {
            Some(id) => self.promotion(id)?,
            None => None,
        };
        self.record_promotion(&NewPromotion {
            asset: &asset,
            timeframe,
            run_id: restored.as_ref().and_then(|r| r.run_id.as_deref()),
            action: PromotionAction::Rollback,
            by,
            expected_current: Some(current.id),
            previous_id: restored.as_ref().and_then(|r| r.previous_id),
            evidence: restored.as_ref().and_then(|r| r.evidence.as_ref()),
            checker: restored.as_ref().and_then(|r| r.checker.as_ref()),
        })
    }

    /// The run record of a promotion's run, with its score on the promotion's asset.
    pub(crate) fn promoted_run(
        &self,
        p: &Promotion,
    ) -> Result<Option<(crate::RunRecord, f64, Option<f64>)>> {
        let Some(run_id) = &p.run_id else {
            return Ok(None);
        };
        let row: Option<(String, Option<f64>, Option<f64>)> = self.with_conn(|c| {
            Ok(c.query_row(
                "SELECT r.record, s.crps, s.baseline_crps FROM runs r
                 LEFT JOIN scores s ON s.run_id = r.run_id AND s.asset = ?2 AND s.timeframe = ?3
                 WHERE r.run_id = ?1",
                params![run_id, p.asset, p.timeframe],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?)
        })?;
        match row {
            None => Ok(None),
            Some((rec, crps, base)) => {
                Ok(Some((parse_record(&rec)?, crps.unwrap_or(f64::NAN), base)))
            }
        }
    }
}
