//! The stand-in's result registry: every run record (with the bot that produced it) in one
//! JSON file, rewritten atomically on each change.

use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

use crate::backend::HistoryQuery;
use crate::error::{ApiError, ApiResult};
use crate::workspace::write_atomic;

/// Records in memory, mirrored to `path`.
pub struct Registry {
    path: PathBuf,
    records: Mutex<Vec<Value>>,
}

fn crps_of(v: &Value) -> f64 {
    v["crps"]
        .as_f64()
        .filter(|x| x.is_finite())
        .unwrap_or(f64::INFINITY)
}

impl Registry {
    /// Loads `path` (an absent file is an empty registry).
    pub fn open(path: PathBuf) -> ApiResult<Self> {
        let records = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                ApiError::failed(format!("registry {} is corrupt: {e}", path.display()))
            })?,
            Err(_) => Vec::new(),
        };
        Ok(Self {
            path,
            records: Mutex::new(records),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Value>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save(&self, records: &[Value]) -> ApiResult<()> {
        if let Some(d) = self.path.parent() {
            std::fs::create_dir_all(d)
                .map_err(|e| ApiError::failed(format!("registry dir: {e}")))?;
        }
        let bytes = serde_json::to_vec(records).map_err(|e| ApiError::failed(e.to_string()))?;
        write_atomic(&self.path, &bytes)
            .map_err(|e| ApiError::failed(format!("cannot save registry: {e}")))
    }

    /// Adds a record.
    pub fn add(&self, record: Value) -> ApiResult<()> {
        let mut r = self.lock();
        r.push(record);
        self.save(&r)
    }

    /// Changes the record `id` with `f`.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Value)) -> ApiResult<Value> {
        let mut r = self.lock();
        let rec = r
            .iter_mut()
            .find(|v| v["id"] == id)
            .ok_or_else(|| ApiError::not_found(format!("no run {id:?} in the registry")))?;
        f(rec);
        let out = rec.clone();
        self.save(&r)?;
        Ok(out)
    }

    /// The record `id`.
    pub fn get(&self, id: &str) -> ApiResult<Value> {
        self.lock()
            .iter()
            .find(|v| v["id"] == id)
            .cloned()
            .ok_or_else(|| ApiError::not_found(format!("no run {id:?} in the registry")))
    }

    /// Records matching `q`, ordered and limited.
    pub fn query(&self, q: &HistoryQuery) -> ApiResult<Vec<Value>> {
        let limit = q.limit.unwrap_or(50).min(1000);
        let mut v: Vec<Value> = self
            .lock()
            .iter()
            .filter(|r| {
                q.asset
                    .as_deref()
                    .is_none_or(|a| r["asset"].as_str() == Some(a))
            })
            .filter(|r| {
                q.timeframe
                    .as_deref()
                    .is_none_or(|t| r["timeframe"].as_str() == Some(t))
            })
            .filter(|r| {
                q.bot
                    .as_deref()
                    .is_none_or(|b| r["bot_id"].as_str() == Some(b))
            })
            .cloned()
            .collect();
        match q.order.as_deref().unwrap_or("best") {
            "best" => v.sort_by(|a, b| crps_of(a).total_cmp(&crps_of(b))),
            "worst" => v.sort_by(|a, b| crps_of(b).total_cmp(&crps_of(a))),
            "recent" => v.reverse(),
            other => {
                return Err(ApiError::bad_request(format!(
                    "order must be best, recent or worst, not {other:?}"
                )))
            }
        }
        v.truncate(limit);
        Ok(v)
    }

    /// The lowest-CRPS record per asset and timeframe.
    pub fn champions(&self) -> Vec<Value> {
        let r = self.lock();
        let mut best: Vec<Value> = Vec::new();
        for rec in r.iter().filter(|x| crps_of(x).is_finite()) {
            match best
                .iter_mut()
                .find(|b| b["asset"] == rec["asset"] && b["timeframe"] == rec["timeframe"])
            {
                Some(b) if crps_of(rec) < crps_of(b) => *b = rec.clone(),
                Some(_) => {}
                None => best.push(rec.clone()),
            }
        }
        best.sort_by(|a, b| {
            (a["asset"].as_str(), a["timeframe"].as_str())
                .cmp(&(b["asset"].as_str(), b["timeframe"].as_str()))
        });
        best
    }
}
