//! The fine-tuning jobs submitted from here, kept in `<data>/gradients/jobs.json` (updated
//! under the state file's lock, written through the one atomic write), so that
//! `gradients list|status` — and the agents' and the bridge's Gradients calls — still know
//! them after a restart.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::types::{JobSpec, Task};
use crate::data_universe::now_rfc3339;
use crate::state_file::{read_json, update_json};
use crate::ServiceError;

/// The state file's name in the folder.
pub const JOBS_FILE: &str = "jobs.json";
/// Largest state file read.
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;

/// A job as kept in `jobs.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// The service's task id.
    pub task_id: String,
    /// What was submitted (unknown for a job first seen through `status`).
    #[serde(default)]
    pub spec: Option<JobSpec>,
    /// Who submitted it (`cli`, `agent:planner`, `bot:<id>`).
    #[serde(default)]
    pub by: Option<String>,
    /// When it was recorded (RFC 3339 UTC).
    pub recorded_at: String,
    /// The last status seen (`training`, `success`, `cancelled`, …).
    #[serde(default)]
    pub status: Option<String>,
    /// The trained model's repository, once known.
    #[serde(default)]
    pub trained_model: Option<String>,
    /// When the status was last read (RFC 3339 UTC).
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The jobs folder (`<data>/gradients`).
#[derive(Debug, Clone)]
pub struct JobStore {
    dir: PathBuf,
}

impl JobStore {
    /// The folder `<data>/gradients` (`$SYNTH_CITY_HOME/gradients` when set).
    pub fn open_default() -> Self {
        Self::new(market::home::data_dir().join("gradients"))
    }

    /// A store at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The state file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(JOBS_FILE)
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every job recorded, oldest first (none without a state file; a damaged file is an
    /// error naming it, never overwritten).
    pub fn jobs(&self) -> Result<Vec<JobRecord>, ServiceError> {
        Ok(read_json(&self.path(), MAX_STATE_BYTES)?.unwrap_or_default())
    }

    /// The job `id`, if recorded.
    pub fn job(&self, id: &str) -> Result<Option<JobRecord>, ServiceError> {
        Ok(self.jobs()?.into_iter().find(|j| j.task_id == id.trim()))
    }

    /// The job recorded last, if any.
    pub fn latest(&self) -> Result<Option<JobRecord>, ServiceError> {
        Ok(self.jobs()?.pop())
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut JobRecord)) -> Result<JobRecord, ServiceError> {
        update_json(&self.path(), MAX_STATE_BYTES, |all: &mut Vec<JobRecord>| {
            let i = match all.iter().position(|j| j.task_id == id) {
                Some(i) => i,
                None => {
                    all.push(JobRecord {
                        task_id: id.to_string(),
                        spec: None,
                        by: None,
                        recorded_at: now_rfc3339(),
                        status: None,
                        trained_model: None,
                        updated_at: None,
                    });
                    all.len() - 1
                }
            };
            f(&mut all[i]);
            Ok(all[i].clone())
        })
    }

    /// Records a job just submitted.
    pub fn record_submitted(
        &self,
        id: &str,
        spec: &JobSpec,
        by: &str,
    ) -> Result<JobRecord, ServiceError> {
        self.update(id, |j| {
            j.spec = Some(spec.clone());
            j.by = Some(by.to_string());
            j.status = Some("submitted".into());
        })
    }

    /// Records what the service said of a job (recorded now when it was not yet).
    pub fn record_task(&self, t: &Task) -> Result<Option<JobRecord>, ServiceError> {
        let Some(id) = t.task_id.as_deref() else {
            return Ok(None);
        };
        self.update(id, |j| {
            j.status = Some(t.status.as_str().to_string());
            if t.trained_model_repository.is_some() {
                j.trained_model = t.trained_model_repository.clone();
            }
            j.updated_at = Some(now_rfc3339());
        })
        .map(Some)
    }

    /// Records that a job was cancelled.
    pub fn record_cancelled(&self, id: &str) -> Result<JobRecord, ServiceError> {
        self.update(id, |j| {
            j.status = Some("cancelled".into());
            j.updated_at = Some(now_rfc3339());
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradients::{DatasetSource, TaskStatus};

    #[test]
    fn jobs_survive_a_new_store_and_a_damaged_file_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let s = JobStore::new(dir.path().join("gradients"));
        assert!(s.jobs().unwrap().is_empty() && s.latest().unwrap().is_none());
        let spec = JobSpec {
            base_model: "Qwen/Qwen2.5-7B-Instruct".into(),
            dataset: DatasetSource::parse("me/plans").unwrap(),
            hours: 2,
            output_name: None,
        };
        s.record_submitted("t-1", &spec, "cli").unwrap();
        s.record_submitted("t-2", &spec, "agent:planner").unwrap();
        let task: Task = serde_json::from_value(serde_json::json!({"task_id": "t-1",
            "status": "success", "trained_model_repository": "gradients-io/x"}))
        .unwrap();
        s.record_task(&task).unwrap();
        s.record_cancelled("t-2").unwrap();
        // A new store (a restart) reads the same jobs, in the order they were recorded.
        let again = JobStore::new(dir.path().join("gradients"));
        let jobs = again.jobs().unwrap();
        assert_eq!(jobs.len(), 2);
        assert_eq!(
            jobs[0].status.as_deref(),
            Some(TaskStatus::Success.as_str())
        );
        assert_eq!(jobs[0].trained_model.as_deref(), Some("gradients-io/x"));
        assert_eq!(jobs[0].spec.as_ref(), Some(&spec));
        assert_eq!(
            again.latest().unwrap().unwrap().status.as_deref(),
            Some("cancelled")
        );
        std::fs::write(again.path(), b"[{").unwrap();
        assert!(again.jobs().unwrap_err().to_string().contains("damaged"));
        assert!(again.record_cancelled("t-1").is_err(), "not overwritten");
        assert_eq!(std::fs::read(again.path()).unwrap(), b"[{");
    }
}
