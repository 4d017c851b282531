//! Pipeline runs saved with the registry: each loop's report (stages, final task state, usage,
//! every agent transcript) and the experiments it ran, as `pipelines/<run id>/loop-<n>.json` in
//! the archive's artifact store. The object is queued in the outbox like every artifact, so
//! `synth-city store sync` pushes it to the remote when one is configured.

use std::path::PathBuf;

use research::{Archive, ResearchError};
use serde::Serialize;
use serde_json::Value;

/// Folder of the saved pipeline runs inside the artifact store.
pub const PIPELINES: &str = "pipelines";

/// The object key of loop `loop_n` of pipeline run `run_id`.
pub fn key(run_id: &str, loop_n: u64) -> String {
    format!("{PIPELINES}/{run_id}/loop-{loop_n}.json")
}

/// Saves one loop's record (`{"report", "loop", "experiments"}`); returns its key.
pub fn save(archive: &Archive, run_id: &str, record: &Value) -> Result<String, ResearchError> {
    let loop_n = record.get("loop").and_then(Value::as_u64).unwrap_or(1);
    let key = key(run_id, loop_n);
    let bytes = serde_json::to_vec_pretty(record).map_err(|e| ResearchError::env(e.to_string()))?;
    let (sha, size) = archive.local.write(&key, &bytes)?;
    archive.registry.enqueue_object(&key, &sha, size)?;
    Ok(key)
}

/// One saved loop, as `history pipelines` lists it.
#[derive(Debug, Clone, Serialize)]
pub struct SavedLoop {
    /// Pipeline run id.
    pub run_id: String,
    /// Loop number (1-based).
    pub loop_n: u64,
    /// True when every required stage succeeded.
    pub success: bool,
    /// `name:ok|failed` per stage.
    pub stages: Vec<String>,
    /// Experiments the loop ran.
    pub experiments: usize,
    /// Agent transcripts kept.
    pub transcripts: usize,
    /// Best CRPS in the final task state.
    pub best_crps: Option<f64>,
    /// Object key in the artifact store.
    pub key: String,
}

fn summarise(run_id: &str, key: String, v: &Value) -> SavedLoop {
    let report = &v["report"];
    let len = |x: &Value| x.as_array().map_or(0, Vec::len);
    SavedLoop {
        run_id: run_id.to_string(),
        loop_n: v["loop"].as_u64().unwrap_or(1),
        success: report["success"].as_bool().unwrap_or(false),
        stages: report["stages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                let ok = if s["success"].as_bool() == Some(true) {
                    "ok"
                } else {
                    "failed"
                };
                format!("{}:{ok}", s["name"].as_str().unwrap_or("?"))
            })
            .collect(),
        experiments: len(&v["experiments"]),
        transcripts: len(&report["transcripts"]),
        best_crps: report["state"]["best_crps"].as_f64(),
        key,
    }
}

fn run_dirs(archive: &Archive) -> Vec<(String, PathBuf)> {
    let root = archive.local.path(PIPELINES);
    let Ok(rd) = std::fs::read_dir(&root) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().into_string().ok()?, e.path())))
        .filter(|(n, p)| !n.starts_with('.') && p.is_dir())
        .collect();
    out.sort();
    out
}

/// Every loop of the saved pipeline runs whose id starts with `prefix` (all when empty), oldest
/// run first, with their records.
fn loops(archive: &Archive, prefix: &str) -> Vec<(SavedLoop, Value)> {
    let mut out = Vec::new();
    for (run_id, dir) in run_dirs(archive) {
        if !run_id.starts_with(prefix) {
            continue;
        }
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut files: Vec<String> = rd
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("loop-") && n.ends_with(".json"))
            .collect();
        files.sort_by_key(|n| {
            n.trim_start_matches("loop-")
                .trim_end_matches(".json")
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        });
        for f in files {
            let key = format!("{PIPELINES}/{run_id}/{f}");
            let Ok(bytes) = archive.local.read(&key) else {
                continue;
            };
            let Ok(v) = serde_json::from_slice::<Value>(&bytes) else {
                continue;
            };
            out.push((summarise(&run_id, key, &v), v));
        }
    }
    out
}

/// The saved loops, newest run first, at most `limit`.
pub fn list(archive: &Archive, limit: usize) -> Vec<SavedLoop> {
    let mut all: Vec<SavedLoop> = loops(archive, "").into_iter().map(|(s, _)| s).collect();
    all.reverse();
    all.truncate(limit);
    all
}

/// The loops of the one saved pipeline run whose id is `id` or starts with it: `None` when no
/// run matches, an error when several do.
pub fn find(archive: &Archive, id: &str) -> Result<Option<Vec<(SavedLoop, Value)>>, String> {
    if id.is_empty() {
        return Ok(None);
    }
    let found = loops(archive, id);
    let mut ids: Vec<&str> = found.iter().map(|(s, _)| s.run_id.as_str()).collect();
    ids.dedup();
    match ids.len() {
        0 => Ok(None),
        1 => Ok(Some(found)),
        _ => Err(format!(
            "{id:?} matches several pipeline runs: {}",
            ids.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(loop_n: u64, success: bool) -> Value {
        json!({
            "loop": loop_n,
            "experiments": [{"run_id": "r1"}, {"run_id": "r2"}],
            "report": {
                "run_id": "20261206-101010-abcd",
                "success": success,
                "stages": [{"name": "planner", "success": true}, {"name": "trainer", "success": success}],
                "state": {"best_crps": 12.5},
                "transcripts": [{"agent": "planner", "messages": []}],
            },
        })
    }

    #[test]
    fn saved_loops_are_listed_found_by_prefix_and_queued_for_sync() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::open(dir.path(), None).unwrap();
        let pending0 = archive.registry.outbox_status().unwrap().pending;
        save(&archive, "20261206-101010-abcd", &record(1, true)).unwrap();
        save(&archive, "20261206-101010-abcd", &record(2, false)).unwrap();
        save(&archive, "20261207-090000-0001", &record(1, true)).unwrap();
        assert_eq!(
            archive.registry.outbox_status().unwrap().pending,
            pending0 + 3
        );

        let l = list(&archive, 10);
        assert_eq!(l.len(), 3);
        assert_eq!(l[0].run_id, "20261207-090000-0001");
        let found = find(&archive, "20261206").unwrap().unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].0.loop_n, found[1].0.loop_n), (1, 2));
        assert_eq!(found[0].0.stages, ["planner:ok", "trainer:ok"]);
        assert_eq!((found[0].0.experiments, found[0].0.transcripts), (2, 1));
        assert_eq!(found[0].1["report"]["transcripts"][0]["agent"], "planner");
        assert!(find(&archive, "2026").is_err(), "ambiguous prefix");
        assert!(find(&archive, "nope").unwrap().is_none());
    }
}
