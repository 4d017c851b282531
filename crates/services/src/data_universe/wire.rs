//! The Gravity answers, read tolerantly: fields come and go, 64-bit integers may be strings.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// A whole non-negative number given as a number or a string; anything else is `None`.
pub(crate) fn count(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|x| *x >= 0.0).map(|x| x as u64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn opt_count<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(count(&Value::deserialize(d)?))
}

fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite()))
}

fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(a) => a
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    })
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// One crawler of a Gravity task, as far as its workflow entry says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct CrawlerState {
    /// `crawler-N-multicrawler-…`.
    pub crawler_id: String,
    /// Its state as the service words it (`Running`, `Completed`, …).
    pub status: Option<String>,
    /// Posts collected so far, when reported.
    pub records: Option<u64>,
    /// Bytes collected so far, when reported.
    pub bytes: Option<u64>,
}

impl CrawlerState {
    /// Reads a `crawlerWorkflows` entry; `None` without a crawler id.
    fn from_value(v: &Value) -> Option<CrawlerState> {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let id = s("crawlerId").or_else(|| s("crawler_id"))?;
        let state = v.get("state").unwrap_or(&Value::Null);
        let n = |keys: &[&str]| {
            keys.iter()
                .find_map(|k| v.get(*k).or_else(|| state.get(*k)).and_then(count))
        };
        Some(CrawlerState {
            crawler_id: id,
            status: s("status").or_else(|| {
                state
                    .get("status")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            }),
            records: n(&["recordsCollected", "records_collected"]),
            bytes: n(&["bytesCollected", "bytes_collected"]),
        })
    }
}

/// A Gravity task as `GetGravityTasks` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct GravityTask {
    /// `multicrawler-…`.
    pub id: String,
    /// Its name.
    pub name: Option<String>,
    /// Its status (`Running`, `Completed`, `Cancelled`, …).
    pub status: Option<String>,
    /// When it started.
    pub start_time: Option<String>,
    /// Its crawlers.
    pub crawler_ids: Vec<String>,
    /// What the crawlers report.
    pub crawlers: Vec<CrawlerState>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskWire {
    #[serde(default, deserialize_with = "text")]
    gravity_task_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    status: Option<String>,
    #[serde(default, deserialize_with = "text")]
    start_time: Option<String>,
    #[serde(default, deserialize_with = "strings")]
    crawler_ids: Vec<String>,
    #[serde(default)]
    crawler_workflows: Option<Vec<Value>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TasksWire {
    #[serde(default)]
    gravity_task_states: Option<Vec<Value>>,
}

impl TasksWire {
    /// The tasks; entries without an id are skipped.
    pub(crate) fn tasks(self) -> Vec<GravityTask> {
        self.gravity_task_states
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| serde_json::from_value::<TaskWire>(v).ok())
            .filter_map(|w| {
                let crawlers: Vec<CrawlerState> = w
                    .crawler_workflows
                    .unwrap_or_default()
                    .iter()
                    .filter_map(CrawlerState::from_value)
                    .collect();
                let mut ids = w.crawler_ids;
                for c in &crawlers {
                    if !ids.contains(&c.crawler_id) {
                        ids.push(c.crawler_id.clone());
                    }
                }
                Some(GravityTask {
                    id: w.gravity_task_id?,
                    name: w.name,
                    status: w.status,
                    start_time: w.start_time,
                    crawler_ids: ids,
                    crawlers,
                })
            })
            .collect()
    }
}

/// One Parquet file of a built dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatasetFile {
    /// Its name.
    #[serde(default, deserialize_with = "text")]
    pub file_name: Option<String>,
    /// Its size.
    #[serde(default, deserialize_with = "opt_count")]
    pub file_size_bytes: Option<u64>,
    /// Its rows.
    #[serde(default, deserialize_with = "opt_count")]
    pub num_rows: Option<u64>,
    /// Where to download it.
    #[serde(default, deserialize_with = "text")]
    pub url: Option<String>,
}

/// One step of a dataset build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DatasetStep {
    /// Progress of the step in [0, 1].
    #[serde(default, deserialize_with = "opt_f64")]
    pub progress: Option<f64>,
    /// Its name.
    #[serde(default, deserialize_with = "text")]
    pub step_name: Option<String>,
}

/// A dataset (`GetDataset`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Dataset {
    /// `Running`, `Completed`, `Failed`, …
    #[serde(default, deserialize_with = "text")]
    pub status: Option<String>,
    /// What the service says about it.
    #[serde(default, deserialize_with = "text")]
    pub status_message: Option<String>,
    /// The build's steps.
    #[serde(default)]
    pub steps: Vec<DatasetStep>,
    /// How many steps the build has.
    #[serde(default, deserialize_with = "opt_count")]
    pub total_steps: Option<u64>,
    /// The Parquet files, once built.
    #[serde(default)]
    pub files: Vec<DatasetFile>,
    /// When it expires (download before).
    #[serde(default, deserialize_with = "text")]
    pub expire_date: Option<String>,
}

impl Dataset {
    /// Whether the build finished with files to download.
    pub fn is_ready(&self) -> bool {
        let s = self.status.as_deref().unwrap_or("").to_ascii_lowercase();
        !self.files.is_empty() && (s.is_empty() || s.contains("complete") || s == "done")
    }

    /// Whether the build failed or was cancelled.
    pub fn is_failed(&self) -> bool {
        let s = self.status.as_deref().unwrap_or("").to_ascii_lowercase();
        s.contains("fail") || s.contains("error") || s.contains("cancel")
    }

    /// Progress of the build in [0, 1]: the finished steps plus the running one's share.
    pub fn progress(&self) -> f64 {
        if self.is_ready() {
            return 1.0;
        }
        let total = self
            .total_steps
            .unwrap_or(self.steps.len() as u64)
            .max(self.steps.len() as u64);
        if total == 0 {
            return 0.0;
        }
        let done: f64 = self
            .steps
            .iter()
            .map(|s| s.progress.unwrap_or(0.0).clamp(0.0, 1.0))
            .sum();
        (done / total as f64).clamp(0.0, 1.0)
    }
}

#[derive(Deserialize)]
pub(crate) struct DatasetWire {
    #[serde(default)]
    pub(crate) dataset: Option<Dataset>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tasks_and_datasets_read_tolerantly() {
        let w: TasksWire = serde_json::from_value(json!({"gravityTaskStates": [
            {"gravityTaskId": "multicrawler-1", "name": "btc", "status": "Running",
             "crawlerIds": ["crawler-0-multicrawler-1", 7],
             "crawlerWorkflows": [{"crawlerId": "crawler-1-multicrawler-1",
                                   "state": {"status": "Running", "recordsCollected": "1234", "bytesCollected": 99}}]},
            {"name": "no id"}, 5
        ]}))
        .unwrap();
        let t = w.tasks();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].crawler_ids.len(), 2);
        assert_eq!(t[0].crawlers[0].records, Some(1234));
        assert_eq!(t[0].crawlers[0].status.as_deref(), Some("Running"));

        let d: DatasetWire = serde_json::from_value(json!({"dataset": {
            "status": "Running", "totalSteps": "4",
            "steps": [{"progress": 1.0, "stepName": "a"}, {"progress": "0.5"}],
            "files": []}}))
        .unwrap();
        let d = d.dataset.unwrap();
        assert!(!d.is_ready() && !d.is_failed());
        assert!((d.progress() - 0.375).abs() < 1e-12);
        let d: Dataset = serde_json::from_value(json!({"status": "Completed",
            "files": [{"fileName": "a.parquet", "fileSizeBytes": "10", "numRows": 3, "url": "http://x/a"}]}))
        .unwrap();
        assert!(d.is_ready());
        assert_eq!(d.files[0].file_size_bytes, Some(10));
        assert_eq!(d.progress(), 1.0);
    }
}
