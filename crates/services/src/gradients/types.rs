//! A fine-tuning job: what to submit and what the service reports back.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::hf::RepoId;
use crate::ServiceError;

/// Longest training time accepted, in hours (a week).
pub const MAX_HOURS: u32 = 168;

/// Where the training set is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "at", rename_all = "snake_case")]
pub enum DatasetSource {
    /// A Hugging Face dataset repository (`owner/name`).
    HfRepo(String),
    /// A URL of a JSONL file (a custom dataset).
    Url(String),
}

impl DatasetSource {
    /// `https://…` (or `http://`) is a URL, `owner/name` a Hub repository; anything else is
    /// refused.
    pub fn parse(s: &str) -> Result<Self, ServiceError> {
        let s = s.trim();
        if s.starts_with("https://") || s.starts_with("http://") {
            if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(ServiceError::Invalid(format!("bad dataset URL {s:?}")));
            }
            return Ok(Self::Url(s.to_string()));
        }
        RepoId::parse(s)
            .map(|r| Self::HfRepo(r.to_string()))
            .map_err(|_| {
                ServiceError::Invalid(format!(
                    "dataset {s:?}: give a Hugging Face repository (owner/name) or an https:// URL"
                ))
            })
    }
}

/// A chat fine-tuning job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSpec {
    /// The Hugging Face base model (`Qwen/Qwen2.5-7B-Instruct`).
    pub base_model: String,
    /// The training set: JSONL rows `{"messages": [{"role", "content"}, …]}`.
    pub dataset: DatasetSource,
    /// Hours the miners get (1–168).
    pub hours: u32,
    /// The name of the trained model.
    #[serde(default)]
    pub output_name: Option<String>,
}

impl JobSpec {
    /// Refuses a bad base model id, hours outside 1–168, an odd output name.
    pub fn check(&self) -> Result<(), ServiceError> {
        RepoId::parse(self.base_model.trim()).map_err(|_| {
            ServiceError::Invalid(format!(
                "base model {:?}: give a Hugging Face model id (owner/name)",
                self.base_model
            ))
        })?;
        if self.hours == 0 || self.hours > MAX_HOURS {
            return Err(ServiceError::Invalid(format!(
                "hours must be between 1 and {MAX_HOURS}"
            )));
        }
        if let Some(n) = &self.output_name {
            let ok = !n.is_empty()
                && n.len() <= 96
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'));
            if !ok {
                return Err(ServiceError::Invalid(format!(
                    "output name {n:?}: letters, digits, - _ . / only (at most 96)"
                )));
            }
        }
        Ok(())
    }

    /// The request body, with the chat fields of our JSONL layout.
    pub(crate) fn body(&self) -> (&'static str, Value) {
        let mut b = serde_json::json!({
            "model_repo": self.base_model.trim(),
            "hours_to_complete": self.hours,
            "chat_template": "chatml",
            "chat_column": "messages",
            "chat_role_field": "role",
            "chat_content_field": "content",
            "chat_user_reference": "user",
            "chat_assistant_reference": "assistant",
            "file_format": "json",
        });
        if let Some(n) = &self.output_name {
            b["result_model_name"] = serde_json::json!(n);
        }
        match &self.dataset {
            DatasetSource::HfRepo(r) => {
                b["ds_repo"] = serde_json::json!(r);
                b["file_format"] = serde_json::json!("hf");
                ("/v1/tasks/create_chat", b)
            }
            DatasetSource::Url(u) => {
                b["training_data"] = serde_json::json!(u);
                ("/v1/tasks/create_custom_dataset_chat", b)
            }
        }
    }
}

/// Where a task stands (the service's word on the wire and in our JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskStatus {
    /// Accepted, waiting.
    Pending,
    /// The dataset is being prepared.
    PreparingData,
    /// Looking for miners.
    LookingForNodes,
    /// Miners found.
    Ready,
    /// Miners are training.
    Training,
    /// First checks of the results.
    Preevaluation,
    /// Results are scored.
    Evaluating,
    /// Done: the trained model is in `trained_model_repository`.
    Success,
    /// Held back.
    Delayed,
    /// The dataset could not be prepared.
    PrepTaskFailure,
    /// No miner took it.
    FailureFindingNodes,
    /// Failed.
    Failure,
    /// A status this client does not know.
    Other(String),
}

impl TaskStatus {
    /// The lifecycle's steps in order, for progress.
    const STEPS: &'static [TaskStatus] = &[
        TaskStatus::Pending,
        TaskStatus::PreparingData,
        TaskStatus::LookingForNodes,
        TaskStatus::Ready,
        TaskStatus::Training,
        TaskStatus::Preevaluation,
        TaskStatus::Evaluating,
        TaskStatus::Success,
    ];

    /// Reads the service's word for it.
    pub fn parse(s: &str) -> TaskStatus {
        match s.trim().to_ascii_lowercase().as_str() {
            "pending" => Self::Pending,
            "preparing_data" => Self::PreparingData,
            "looking_for_nodes" => Self::LookingForNodes,
            "ready" => Self::Ready,
            "training" => Self::Training,
            "preevaluation" => Self::Preevaluation,
            "evaluating" => Self::Evaluating,
            "success" => Self::Success,
            "delayed" => Self::Delayed,
            "prep_task_failure" => Self::PrepTaskFailure,
            "failure_finding_nodes" => Self::FailureFindingNodes,
            "failure" => Self::Failure,
            other => Self::Other(other.chars().take(64).collect()),
        }
    }

    /// The service's word for it.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::PreparingData => "preparing_data",
            Self::LookingForNodes => "looking_for_nodes",
            Self::Ready => "ready",
            Self::Training => "training",
            Self::Preevaluation => "preevaluation",
            Self::Evaluating => "evaluating",
            Self::Success => "success",
            Self::Delayed => "delayed",
            Self::PrepTaskFailure => "prep_task_failure",
            Self::FailureFindingNodes => "failure_finding_nodes",
            Self::Failure => "failure",
            Self::Other(s) => s,
        }
    }

    /// Whether the task failed.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            Self::PrepTaskFailure | Self::FailureFindingNodes | Self::Failure
        ) || matches!(self, Self::Other(s) if s.contains("fail") || s.contains("cancel"))
    }

    /// Whether the task is over (success or failure).
    pub fn is_done(&self) -> bool {
        *self == Self::Success || self.is_failure()
    }

    /// `(step, of)`: where the status sits in the lifecycle (1-based), for a progress bar.
    pub fn step(&self) -> (u64, u64) {
        let n = Self::STEPS.len() as u64;
        match Self::STEPS.iter().position(|s| s == self) {
            Some(i) => (i as u64 + 1, n),
            None if self.is_failure() => (n, n),
            None => (1, n),
        }
    }
}

impl Serialize for TaskStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for TaskStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Value::deserialize(d)? {
            Value::String(s) => TaskStatus::parse(&s),
            _ => TaskStatus::Other("unknown".into()),
        })
    }
}

fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn hours<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite()))
}

/// A task as `GET /v1/tasks/{id}` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Its id (`task_id`, or `id`).
    #[serde(default, alias = "id", deserialize_with = "text")]
    pub task_id: Option<String>,
    /// Where it stands.
    pub status: TaskStatus,
    /// The base model.
    #[serde(default, deserialize_with = "text")]
    pub base_model_repository: Option<String>,
    /// The dataset.
    #[serde(default, deserialize_with = "text")]
    pub ds_repo: Option<String>,
    /// The name asked for the result.
    #[serde(default, deserialize_with = "text")]
    pub result_model_name: Option<String>,
    /// The trained model (a Hugging Face repository), once done.
    #[serde(default, deserialize_with = "text")]
    pub trained_model_repository: Option<String>,
    /// `InstructTextTask`, `ChatTask`, …
    #[serde(default, deserialize_with = "text")]
    pub task_type: Option<String>,
    /// Hours given.
    #[serde(default, deserialize_with = "hours")]
    pub hours_to_complete: Option<f64>,
    /// When it was created.
    #[serde(default, deserialize_with = "text")]
    pub created_at: Option<String>,
    /// When training started.
    #[serde(default, deserialize_with = "text")]
    pub started_at: Option<String>,
    /// When it finished.
    #[serde(default, deserialize_with = "text")]
    pub finished_at: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn specs_are_checked_and_bodies_follow_the_dataset() {
        let mut s = JobSpec {
            base_model: "Qwen/Qwen2.5-7B-Instruct".into(),
            dataset: DatasetSource::parse("me/synth-city-plans").unwrap(),
            hours: 4,
            output_name: Some("synth-city-planner-v1".into()),
        };
        assert!(s.check().is_ok());
        let (path, b) = s.body();
        assert_eq!(path, "/v1/tasks/create_chat");
        assert_eq!(b["ds_repo"], "me/synth-city-plans");
        assert_eq!(b["chat_column"], "messages");
        s.dataset = DatasetSource::parse("https://h.example/train.jsonl").unwrap();
        let (path, b) = s.body();
        assert_eq!(path, "/v1/tasks/create_custom_dataset_chat");
        assert_eq!(b["training_data"], "https://h.example/train.jsonl");
        s.hours = 0;
        assert!(s.check().is_err());
        s.hours = 169;
        assert!(s.check().is_err());
        s.hours = 1;
        s.output_name = Some("a b".into());
        assert!(s.check().is_err());
        s.output_name = None;
        s.base_model = "not a model".into();
        assert!(s.check().is_err());
        assert!(DatasetSource::parse("../etc").is_err());
        assert!(DatasetSource::parse("file:///etc/passwd").is_err());
    }

    #[test]
    fn statuses_parse_and_order() {
        assert_eq!(TaskStatus::parse("Training"), TaskStatus::Training);
        assert_eq!(TaskStatus::Training.step(), (5, 8));
        assert!(TaskStatus::Success.is_done() && !TaskStatus::Success.is_failure());
        assert!(TaskStatus::parse("failure_finding_nodes").is_failure());
        assert!(!TaskStatus::Delayed.is_done());
        let t: Task = serde_json::from_value(json!({"id": 7, "status": "success",
            "trained_model_repository": "gradients-io/abc", "hours_to_complete": "4"}))
        .unwrap();
        assert_eq!(t.task_id.as_deref(), Some("7"));
        assert_eq!(t.hours_to_complete, Some(4.0));
        assert_eq!(t.status, TaskStatus::Success);
    }
}
