//! The Gradients client: submit, read, list and cancel fine-tuning tasks.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use super::types::{JobSpec, Task};
use super::{DEFAULT_URL, KEY_ENV, SERVICE, URL_ENV};
use crate::http::{Auth, HttpSettings};
use crate::{env, HttpClient, Retry, Secret, ServiceError, ServiceResult};

/// Tasks asked for per page when listing.
const PAGE: usize = 100;
/// Most pages read when listing (10,000 tasks).
const MAX_PAGES: u32 = 100;

/// A Gradients client.
#[derive(Debug, Clone)]
pub struct Gradients {
    http: HttpClient,
}

#[derive(Deserialize)]
struct Created {
    #[serde(default)]
    task_id: Option<Value>,
    #[serde(default)]
    success: Option<bool>,
}

/// A task id as a safe URL path segment.
fn segment(id: &str) -> ServiceResult<&str> {
    let id = id.trim();
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if ok {
        Ok(id)
    } else {
        Err(ServiceError::Invalid(format!(
            "{id:?} is not a Gradients task or account id"
        )))
    }
}

impl Gradients {
    /// The client configured by the environment: `GRADIENTS_API_KEY` (an error naming it when
    /// unset), `GRADIENTS_API_URL` (default the service's).
    pub fn from_env() -> ServiceResult<Self> {
        let key = env::secret(SERVICE, KEY_ENV)?;
        Self::new(
            env::base_url(URL_ENV, DEFAULT_URL),
            key,
            HttpSettings::default(),
        )
    }

    /// A client for `base_url` with `key` (a Bearer token).
    pub fn new(
        base_url: impl Into<String>,
        key: Secret,
        settings: HttpSettings,
    ) -> ServiceResult<Self> {
        Ok(Self {
            http: HttpClient::new(SERVICE, base_url, Auth::Bearer(key), settings)?,
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }

    /// Submits a chat fine-tuning task; returns its id. Sent once: a timeout is not retried
    /// (it could create a second paid task).
    pub async fn submit(&self, spec: &JobSpec) -> ServiceResult<String> {
        spec.check()?;
        let (path, body) = spec.body();
        let c: Created = self
            .http
            .json(Method::POST, path, &body, Retry::Once)
            .await?;
        let id = match c.task_id {
            Some(Value::String(s)) if !s.trim().is_empty() => s,
            Some(Value::Number(n)) => n.to_string(),
            _ => {
                return Err(ServiceError::Parse {
                    service: SERVICE,
                    detail: format!("no task_id in the answer (success: {:?})", c.success),
                })
            }
        };
        Ok(id)
    }

    /// The task `id`.
    pub async fn task(&self, id: &str) -> ServiceResult<Task> {
        let mut t: Task = self
            .http
            .get_json(&format!("/v1/tasks/{}", segment(id)?), &[])
            .await?;
        if t.task_id.is_none() {
            t.task_id = Some(id.to_string());
        }
        Ok(t)
    }

    /// Cancels (deletes) the task `id`.
    pub async fn cancel(&self, id: &str) -> ServiceResult<()> {
        self.http
            .send(
                Method::DELETE,
                &format!("/v1/tasks/delete/{}", segment(id)?),
                Retry::Idempotent,
                |rb| rb,
            )
            .await
            .map(|_| ())
    }

    /// Every task of `account_id`, page after page (at most 100 pages).
    pub async fn tasks(&self, account_id: &str) -> ServiceResult<Vec<Task>> {
        let path = format!("/v1/tasks/account/{}", segment(account_id)?);
        let mut out = Vec::new();
        let limit = PAGE.to_string();
        for page in 1..=MAX_PAGES {
            let p = page.to_string();
            let items: Vec<Value> = self
                .http
                .get_json(&path, &[("limit", &limit), ("page", &p)])
                .await?;
            let n = items.len();
            out.extend(
                items
                    .into_iter()
                    .filter_map(|v| serde_json::from_value::<Task>(v).ok()),
            );
            if n < PAGE {
                break;
            }
        }
        Ok(out)
    }
}
