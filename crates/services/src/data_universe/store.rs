//! The social data folder (`<data>/social/`): the collected Parquet files, one folder per task,
//! and `tasks.json`, the tasks' ids and state, so that a task survives a restart. Every file
//! is written through the workspace's one atomic write (`market::atomic`): readers see a whole
//! file or none.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::query::{GravitySpec, OnDemandQuery};
use crate::ServiceError;

/// The state file's name in the folder.
pub const STATE_FILE: &str = "tasks.json";
/// Largest state file read.
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;

/// How a task collects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TaskKind {
    /// One on-demand query, answered at once.
    OnDemand {
        /// The query.
        query: OnDemandQuery,
    },
    /// A Gravity crawler task.
    Gravity {
        /// What it collects.
        spec: GravitySpec,
    },
}

/// A task synth-city created, as kept in `tasks.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The service's id (`multicrawler-…`), or ours for an on-demand query (`ondemand-…`).
    pub id: String,
    /// What it collects.
    #[serde(flatten)]
    pub kind: TaskKind,
    /// When it was created (RFC 3339 UTC).
    pub created_at: String,
    /// The last status seen.
    #[serde(default)]
    pub status: Option<String>,
    /// Crawler id → dataset id, for the datasets being built (so a download resumes).
    #[serde(default)]
    pub datasets: Vec<(String, String)>,
    /// The Parquet files downloaded, relative to the folder.
    #[serde(default)]
    pub files: Vec<String>,
}

/// A Parquet file in the folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SocialFile {
    /// Path relative to the folder (`<task>/<file>.parquet`).
    pub name: String,
    /// Full path.
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
}

/// The social data folder.
#[derive(Debug, Clone)]
pub struct SocialStore {
    dir: PathBuf,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> ServiceError {
    ServiceError::Invalid(format!("{what} {}: {e}", path.display()))
}

/// Now, RFC 3339 UTC to the second (the records' times).
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A fresh id for an on-demand task (`ondemand-YYYYmmdd-HHMMSS-mmm`, UTC).
pub fn on_demand_id() -> String {
    format!(
        "ondemand-{}",
        chrono::Utc::now().format("%Y%m%d-%H%M%S-%3f")
    )
}

/// A name safe as one path component: letters, digits, `-`, `_`, `.`; not `.`-led; ≤ 200.
pub(crate) fn safe_name(s: &str) -> Result<&str, ServiceError> {
    let ok = !s.is_empty()
        && s.len() <= 200
        && !s.starts_with('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s)
    } else {
        Err(ServiceError::Invalid(format!(
            "{s:?} is not a safe file or task name (letters, digits, - _ . only)"
        )))
    }
}

impl SocialStore {
    /// The folder `<data>/social` (`$SYNTH_CITY_HOME/social` when set).
    pub fn open_default() -> Self {
        Self::new(market::home::data_dir().join("social"))
    }

    /// A store at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join(STATE_FILE)
    }

    /// The tasks recorded (none when there is no state file yet). A damaged file is an error
    /// naming it, never silently replaced.
    pub fn tasks(&self) -> Result<Vec<TaskRecord>, ServiceError> {
        Ok(crate::state_file::read_json(&self.state_path(), MAX_STATE_BYTES)?.unwrap_or_default())
    }

    /// The task `id`, if recorded.
    pub fn task(&self, id: &str) -> Result<Option<TaskRecord>, ServiceError> {
        Ok(self.tasks()?.into_iter().find(|t| t.id == id))
    }

    /// Records `task` (replacing the record with its id).
    pub fn save_task(&self, task: &TaskRecord) -> Result<(), ServiceError> {
        safe_name(&task.id)?;
        crate::state_file::update_json(
            &self.state_path(),
            MAX_STATE_BYTES,
            |all: &mut Vec<TaskRecord>| {
                match all.iter_mut().find(|t| t.id == task.id) {
                    Some(t) => *t = task.clone(),
                    None => all.push(task.clone()),
                }
                Ok(())
            },
        )
    }

    /// Keeps the answer of an on-demand query: the posts as one Parquet file (`posts.parquet`)
    /// of a new task, recorded as completed; returns the record.
    pub fn save_on_demand(
        &self,
        query: OnDemandQuery,
        posts: &[super::SocialPost],
    ) -> Result<TaskRecord, ServiceError> {
        let id = on_demand_id();
        let file = self.write_parquet(&id, "posts", &super::posts_to_parquet(posts)?)?;
        let rec = TaskRecord {
            id,
            kind: TaskKind::OnDemand { query },
            created_at: now_rfc3339(),
            status: Some("Completed".into()),
            datasets: vec![],
            files: vec![file],
        };
        self.save_task(&rec)?;
        Ok(rec)
    }

    /// Writes a Parquet file of task `task` named `file` (both checked: no path escapes; the
    /// name gets `.parquet` when it lacks it); returns its name relative to the folder.
    pub fn write_parquet(
        &self,
        task: &str,
        file: &str,
        bytes: &[u8],
    ) -> Result<String, ServiceError> {
        safe_name(task)?;
        safe_name(file)?;
        if bytes.len() < 8 || &bytes[..4] != b"PAR1" || &bytes[bytes.len() - 4..] != b"PAR1" {
            return Err(ServiceError::Invalid(format!(
                "{file}: not a Parquet file; nothing written"
            )));
        }
        let file = if file.ends_with(".parquet") {
            file.to_string()
        } else {
            format!("{file}.parquet")
        };
        crate::state_file::write_file(&self.dir.join(task).join(&file), bytes)?;
        Ok(format!("{task}/{file}"))
    }

    /// Every Parquet file in the folder (one level of task folders), sorted by name.
    pub fn files(&self) -> Result<Vec<SocialFile>, ServiceError> {
        let mut out = Vec::new();
        let top = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("reading", &self.dir, e)),
        };
        for task in top.flatten() {
            if !task.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(inner) = std::fs::read_dir(task.path()) else {
                continue;
            };
            for f in inner.flatten() {
                let name = f.file_name().to_string_lossy().into_owned();
                if !name.ends_with(".parquet") || name.starts_with('.') {
                    continue;
                }
                let Ok(meta) = f.metadata() else { continue };
                if !meta.is_file() {
                    continue;
                }
                out.push(SocialFile {
                    name: format!("{}/{name}", task.file_name().to_string_lossy()),
                    path: f.path(),
                    bytes: meta.len(),
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The file `name` (`<task>/<file>.parquet`, as [`Self::files`] lists it), checked to stay
    /// inside the folder.
    pub fn file(&self, name: &str) -> Result<PathBuf, ServiceError> {
        let (task, file) = name.split_once('/').ok_or_else(|| {
            ServiceError::Invalid(format!("{name:?}: write <task>/<file>.parquet"))
        })?;
        let p = self.dir.join(safe_name(task)?).join(safe_name(file)?);
        if !p.is_file() {
            return Err(ServiceError::Invalid(format!(
                "no social data file {name:?} in {}",
                self.dir.display()
            )));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data_universe::{posts_to_parquet, Platform, SocialPost};

    #[test]
    fn tasks_survive_a_new_store_and_files_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let s = SocialStore::new(dir.path().join("social"));
        assert!(s.tasks().unwrap().is_empty());
        assert!(s.files().unwrap().is_empty());
        let mut t = TaskRecord {
            id: "multicrawler-1".into(),
            kind: TaskKind::Gravity {
                spec: GravitySpec {
                    platform: Platform::X,
                    topic: Some("$BTC".into()),
                    keyword: None,
                    start: None,
                    end: None,
                    name: None,
                },
            },
            created_at: "2026-12-06T00:00:00Z".into(),
            status: Some("Running".into()),
            datasets: vec![],
            files: vec![],
        };
        s.save_task(&t).unwrap();
        t.datasets.push(("crawler-0".into(), "dataset-1".into()));
        s.save_task(&t).unwrap();
        // A fresh store (a restart) sees the same task, once.
        let again = SocialStore::new(dir.path().join("social"));
        assert_eq!(again.tasks().unwrap(), vec![t.clone()]);

        let bytes = posts_to_parquet(&[SocialPost {
            text: "x".into(),
            source: "x".into(),
            ..SocialPost::default()
        }])
        .unwrap();
        let name = s.write_parquet(&t.id, "part-0", &bytes).unwrap();
        assert_eq!(name, "multicrawler-1/part-0.parquet");
        assert_eq!(s.files().unwrap().len(), 1);
        assert!(s.file(&name).is_ok());
        for bad in ["../x", "a/../../b", "/etc/passwd", "a/.hidden", "noslash"] {
            assert!(s.file(bad).is_err(), "{bad}");
        }
        assert!(s.write_parquet("../up", "f", &bytes).is_err());
        assert!(s.write_parquet(&t.id, "f", b"<html>").is_err());
        assert_eq!(s.files().unwrap().len(), 1, "nothing else written");

        std::fs::write(s.dir().join(STATE_FILE), b"{not json").unwrap();
        let e = s.tasks().unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        assert!(
            s.save_task(&t).is_err(),
            "a damaged state is not overwritten"
        );
    }
}
