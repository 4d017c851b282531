//! Ranking queries: history (best / recent / worst with filters), trends, the best run of each
//! asset × timeframe, and the promoted champions.

use std::collections::BTreeMap;

use rusqlite::types::Value as SqlValue;
use serde::{Deserialize, Serialize};

use super::{parse_record, Promotion, Registry};
use crate::record::RunRecord;
use crate::Result;

/// Order of a history listing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistoryOrder {
    /// Lowest CRPS first (successful runs only).
    Best,
    /// Newest first (all runs, failures included).
    #[default]
    Recent,
    /// Highest CRPS first (successful runs only).
    Worst,
}

/// Filters and order of a history listing. With `asset` set, runs are ranked by their score on
/// that asset.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryQuery {
    /// At most this many runs (0 means 20).
    pub limit: usize,
    /// Order.
    pub order: HistoryOrder,
    /// Only runs scored on this asset.
    pub asset: Option<String>,
    /// Only runs at this timeframe (`5m` / `1m`).
    pub timeframe: Option<String>,
    /// Only runs whose backbone contains this block (case-insensitive).
    pub block: Option<String>,
    /// Only runs with this head (case-insensitive).
    pub head: Option<String>,
}

/// How runs using one block (or head) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trend {
    /// Block or head name.
    pub name: String,
    /// Runs using it.
    pub runs: u64,
    /// Successful runs.
    pub ok: u64,
    /// Failed runs.
    pub failed: u64,
    /// Best CRPS among successful runs.
    pub best_crps: Option<f64>,
    /// Mean CRPS among successful runs.
    pub mean_crps: Option<f64>,
    /// Mean ratio to the baseline among runs that have one.
    pub mean_baseline_ratio: Option<f64>,
}

/// Trends per block and per head, best first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trends {
    /// Per block.
    pub blocks: Vec<Trend>,
    /// Per head.
    pub heads: Vec<Trend>,
}

/// A run as the champion (or best run) of one asset × timeframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Champion {
    /// Asset.
    pub asset: String,
    /// Timeframe.
    pub timeframe: String,
    /// Its CRPS on that asset.
    pub crps: f64,
    /// Its baseline CRPS on that asset, if scored.
    pub baseline_crps: Option<f64>,
    /// The run.
    pub run: RunRecord,
    /// Its promotion entry (`None` for a best-run listing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Promotion>,
}

impl Registry {
    /// Runs matching `q`, in its order.
    pub fn history(&self, q: &HistoryQuery) -> Result<Vec<RunRecord>> {
        let limit = if q.limit == 0 { 20 } else { q.limit };
        let mut sql = String::from("SELECT r.record FROM runs r");
        let mut args: Vec<SqlValue> = Vec::new();
        let rank = if let Some(asset) = &q.asset {
            sql.push_str(" JOIN scores s ON s.run_id = r.run_id AND s.asset = ?");
            args.push(SqlValue::Text(asset.to_uppercase()));
            if let Some(tf) = &q.timeframe {
                sql.push_str(" AND s.timeframe = ?");
                args.push(SqlValue::Text(tf.clone()));
            }
            "s.crps"
        } else {
            "r.crps"
        };
        sql.push_str(" WHERE 1 = 1");
        if let Some(tf) = &q.timeframe {
            sql.push_str(" AND r.timeframe = ?");
            args.push(SqlValue::Text(tf.clone()));
        }
        if let Some(block) = &q.block {
            sql.push_str(" AND ('+' || r.blocks || '+') LIKE ?");
            args.push(SqlValue::Text(format!("%+{}+%", block.to_lowercase())));
        }
        if let Some(head) = &q.head {
            sql.push_str(" AND r.head = ?");
            args.push(SqlValue::Text(head.to_lowercase()));
        }
        match q.order {
            HistoryOrder::Best => {
                sql.push_str(&format!(
                    " AND r.status = 'ok' AND {rank} IS NOT NULL ORDER BY {rank} ASC, r.finished_at DESC"
                ));
            }
            HistoryOrder::Worst => {
                sql.push_str(&format!(
                    " AND r.status = 'ok' AND {rank} IS NOT NULL ORDER BY {rank} DESC, r.finished_at DESC"
                ));
            }
            HistoryOrder::Recent => sql.push_str(" ORDER BY r.finished_at DESC, r.run_id"),
        }
        sql.push_str(" LIMIT ?");
        args.push(SqlValue::Integer(limit as i64));
        let rows: Vec<String> = self.with_conn(|c| {
            let mut st = c.prepare(&sql)?;
            let rows = st.query_map(rusqlite::params_from_iter(args), |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        rows.iter().map(|r| parse_record(r)).collect()
    }

    /// How each block and each head has done over all runs.
    pub fn trends(&self) -> Result<Trends> {
        type Row = (String, String, String, Option<f64>, Option<f64>);
        let rows: Vec<Row> = self.with_conn(|c| {
            let mut st =
                c.prepare("SELECT blocks, head, status, crps, baseline_ratio FROM runs")?;
            let rows = st.query_map([], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        let mut blocks: BTreeMap<String, Acc> = BTreeMap::new();
        let mut heads: BTreeMap<String, Acc> = BTreeMap::new();
        for (bl, head, status, crps, ratio) in &rows {
            let ok = status == "ok";
            let mut seen: Vec<&str> = bl.split('+').filter(|b| !b.is_empty()).collect();
            seen.sort();
            seen.dedup();
            for b in seen {
                blocks
                    .entry(b.to_string())
                    .or_default()
                    .add(ok, *crps, *ratio);
            }
            heads
                .entry(head.clone())
                .or_default()
                .add(ok, *crps, *ratio);
        }
        Ok(Trends {
            blocks: finish(blocks),
            heads: finish(heads),
        })
    }

    /// The champion of `asset` × `timeframe`: the run promoted last (`synth-city champion
    /// promote`, the Publisher agent, the bridge's publish; see [`crate::promotion`]). `None`
    /// when none was promoted (or the last one was rolled back to none): the default model
    /// serves. A low raw CRPS alone never makes a champion.
    pub fn champion(&self, asset: &str, timeframe: &str) -> Result<Option<Champion>> {
        let Some(p) = self.current_promotion(asset, timeframe)? else {
            return Ok(None);
        };
        self.champion_of(p)
    }

    /// The promoted champions of every asset × timeframe that has one (optionally filtered).
    pub fn champions(&self, asset: Option<&str>, timeframe: Option<&str>) -> Result<Vec<Champion>> {
        let mut out = Vec::new();
        for p in self.current_promotions()? {
            if asset.is_some_and(|a| !a.eq_ignore_ascii_case(&p.asset))
                || timeframe.is_some_and(|t| t != p.timeframe)
            {
                continue;
            }
            out.extend(self.champion_of(p)?);
        }
        Ok(out)
    }

    fn champion_of(&self, p: Promotion) -> Result<Option<Champion>> {
        Ok(self
            .promoted_run(&p)?
            .map(|(run, crps, baseline_crps)| Champion {
                asset: p.asset.clone(),
                timeframe: p.timeframe.clone(),
                crps,
                baseline_crps,
                run,
                promotion: Some(p),
            }))
    }

    /// The successful real-data run with the lowest CRPS on `asset` × `timeframe`, whatever
    /// prompts it was scored on: a leaderboard entry, not a champion (runs scored on different
    /// prompts are not comparable; promotion compares them on the same ones).
    pub fn best_run(&self, asset: &str, timeframe: &str) -> Result<Option<Champion>> {
        Ok(self
            .champions_where(Some(asset), Some(timeframe))?
            .into_iter()
            .next())
    }

    /// [`Registry::best_run`] of every asset × timeframe (optionally filtered).
    pub fn best_runs(&self, asset: Option<&str>, timeframe: Option<&str>) -> Result<Vec<Champion>> {
        self.champions_where(asset, timeframe)
    }

    fn champions_where(
        &self,
        asset: Option<&str>,
        timeframe: Option<&str>,
    ) -> Result<Vec<Champion>> {
        let asset = asset.map(str::to_uppercase);
        type Row = (String, String, f64, Option<f64>, String);
        let rows: Vec<Row> = self.with_conn(|c| {
            // For each (asset, timeframe): the lowest score, ties to the earliest run.
            let mut st = c.prepare(
                "SELECT asset, timeframe, crps, baseline_crps, record FROM (
                   SELECT s.asset, s.timeframe, s.crps, s.baseline_crps, r.record,
                          ROW_NUMBER() OVER (PARTITION BY s.asset, s.timeframe
                                             ORDER BY s.crps ASC, r.finished_at ASC) AS rk
                   FROM scores s JOIN runs r ON r.run_id = s.run_id
                   WHERE r.status = 'ok' AND r.provenance = 'real'
                     AND (?1 IS NULL OR s.asset = ?1) AND (?2 IS NULL OR s.timeframe = ?2))
                 WHERE rk = 1 ORDER BY asset, timeframe",
            )?;
            let rows = st.query_map(rusqlite::params![asset, timeframe], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })?;
        rows.into_iter()
            .map(|(asset, timeframe, crps, baseline_crps, rec)| {
                Ok(Champion {
                    asset,
                    timeframe,
                    crps,
                    baseline_crps,
                    run: parse_record(&rec)?,
                    promotion: None,
                })
            })
            .collect()
    }
}

#[derive(Default)]
struct Acc {
    runs: u64,
    ok: u64,
    crps: Vec<f64>,
    ratios: Vec<f64>,
}

impl Acc {
    fn add(&mut self, ok: bool, crps: Option<f64>, ratio: Option<f64>) {
        self.runs += 1;
        if ok {
            self.ok += 1;
            self.crps.extend(crps);
            self.ratios.extend(ratio);
        }
    }
}

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn finish(map: BTreeMap<String, Acc>) -> Vec<Trend> {
    let mut out: Vec<Trend> = map
        .into_iter()
        .map(|(name, a)| Trend {
            name,
            runs: a.runs,
            ok: a.ok,
            failed: a.runs - a.ok,
            best_crps: a.crps.iter().copied().reduce(f64::min),
            mean_crps: mean(&a.crps),
            mean_baseline_ratio: mean(&a.ratios),
        })
        .collect();
    out.sort_by(|a, b| {
        let key = |t: &Trend| t.best_crps.unwrap_or(f64::INFINITY);
        key(a).total_cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    out
}
