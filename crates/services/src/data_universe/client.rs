//! The Data Universe client: on-demand queries, Gravity tasks and datasets, downloads.

use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde_json::{json, Value};

use super::posts::SocialPost;
use super::query::{GravitySpec, OnDemandQuery};
use super::wire::{Dataset, DatasetWire, GravityTask, TasksWire};
use super::{DEFAULT_URL, KEY_ENVS, SERVICE, URL_ENV};
use crate::http::{Auth, HttpSettings};
use crate::{env, HttpClient, Retry, Secret, ServiceError, ServiceResult};

const SN13: &str = "sn13.v1.Sn13Service";
const GRAVITY: &str = "gravity.v1.GravityService";
/// Largest dataset file downloaded (1 GiB).
pub const MAX_DOWNLOAD: usize = 1 << 30;
/// Tries on HTTP 464 (the SN13 miner network is busy).
const BUSY_TRIES: u32 = 3;

/// A Data Universe client.
#[derive(Debug, Clone)]
pub struct DataUniverse {
    http: HttpClient,
    /// Without the key: dataset files come from pre-signed URLs on another host.
    files: HttpClient,
    busy_wait: Duration,
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl DataUniverse {
    /// The client configured by the environment: the key in `MC_API` or
    /// `MACROCOSMOS_API_KEY` (an error naming them when unset), the base URL in
    /// `MACROCOSMOS_BASE_URL`.
    pub fn from_env() -> ServiceResult<Self> {
        let key = env::secret_any(SERVICE, KEY_ENVS)?;
        Self::new(
            env::base_url(URL_ENV, DEFAULT_URL),
            key,
            Self::default_settings(),
        )
    }

    /// Timeouts and retries for the service: answers take 10–60 s.
    pub fn default_settings() -> HttpSettings {
        HttpSettings {
            timeout: Duration::from_secs(180),
            max_retries: 3,
            ..HttpSettings::default()
        }
    }

    /// A client for `base_url` with `key` (sent as a Bearer token).
    pub fn new(
        base_url: impl Into<String>,
        key: Secret,
        settings: HttpSettings,
    ) -> ServiceResult<Self> {
        let base_url = base_url.into();
        let busy_wait = settings.base_backoff.saturating_mul(4);
        let files = HttpClient::new(
            SERVICE,
            &base_url,
            Auth::None,
            HttpSettings {
                timeout: settings.timeout.max(Duration::from_secs(600)),
                max_body: MAX_DOWNLOAD,
                ..settings.clone()
            },
        )?;
        Ok(Self {
            http: HttpClient::new(SERVICE, base_url, Auth::Bearer(key), settings)?,
            files,
            busy_wait,
        })
    }

    /// `POST /{service}/{method}` with a JSON body; 464 (miners busy) is tried again.
    async fn call<B: Serialize>(
        &self,
        service: &str,
        method: &str,
        body: &B,
        retry: Retry,
    ) -> ServiceResult<Value> {
        let path = format!("/{service}/{method}");
        let mut tries = 0;
        loop {
            tries += 1;
            match self
                .http
                .json::<B, Value>(Method::POST, &path, body, retry)
                .await
            {
                Err(ServiceError::Http {
                    status: 464, body, ..
                }) => {
                    if tries >= BUSY_TRIES {
                        return Err(ServiceError::Http {
                            service: SERVICE,
                            status: 464,
                            body: format!(
                                "the SN13 miner network is busy; try again in a minute ({body})"
                            ),
                        });
                    }
                    tokio::time::sleep(self.busy_wait.saturating_mul(tries)).await;
                }
                r => return r,
            }
        }
    }

    fn parse<T: serde::de::DeserializeOwned>(v: Value) -> ServiceResult<T> {
        serde_json::from_value(v).map_err(|e| ServiceError::Parse {
            service: SERVICE,
            detail: e.to_string(),
        })
    }

    /// Runs an on-demand query; the posts come back normalised (entries without text are
    /// skipped). An answer whose `status` says error is an error.
    pub async fn on_demand(&self, q: &OnDemandQuery) -> ServiceResult<Vec<SocialPost>> {
        q.check()?;
        let mut body = json!({
            "source": q.platform.source(),
            "limit": q.limit,
            "keyword_mode": if q.match_all { "all" } else { "any" },
        });
        if !q.keywords.is_empty() {
            body["keywords"] = json!(q.keywords);
        }
        if !q.usernames.is_empty() {
            body["usernames"] = json!(q.usernames);
        }
        if let Some(s) = q.start {
            body["start_date"] = json!(rfc3339(s));
        }
        if let Some(e) = q.end {
            body["end_date"] = json!(rfc3339(e));
        }
        // A query changes nothing on the server: safe to repeat.
        let v = self
            .call(SN13, "OnDemandData", &body, Retry::Idempotent)
            .await?;
        let status = v.get("status").and_then(Value::as_str).unwrap_or("");
        if status.to_ascii_lowercase().contains("error") {
            let msg = v
                .pointer("/meta/error")
                .or_else(|| v.get("message"))
                .map(|m| m.to_string())
                .unwrap_or_default();
            return Err(ServiceError::Http {
                service: SERVICE,
                status: 200,
                body: format!("status {status}: {msg}"),
            });
        }
        let data = v.get("data").and_then(Value::as_array);
        Ok(data
            .map(|a| {
                a.iter()
                    .filter_map(|p| SocialPost::from_on_demand(p, q.platform.as_str()))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Creates a Gravity task; returns its id.
    pub async fn create_gravity(&self, spec: &GravitySpec) -> ServiceResult<String> {
        spec.check()?;
        let mut task = json!({"platform": spec.platform.as_str()});
        if let Some(t) = &spec.topic {
            task["topic"] = json!(t.trim());
        }
        if let Some(k) = &spec.keyword {
            task["keyword"] = json!(k.trim());
        }
        if let Some(s) = spec.start {
            task["postStartDatetime"] = json!(rfc3339(s));
        }
        if let Some(e) = spec.end {
            task["postEndDatetime"] = json!(rfc3339(e));
        }
        let mut body = json!({"gravityTasks": [task]});
        if let Some(n) = &spec.name {
            body["name"] = json!(n.trim());
        }
        let v = self
            .call(GRAVITY, "CreateGravityTask", &body, Retry::Once)
            .await?;
        v.get("gravityTaskId")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| ServiceError::Parse {
                service: SERVICE,
                detail: "no gravityTaskId in the answer".into(),
            })
    }

    /// The Gravity tasks of the account, or the one with `id`, with their crawlers.
    pub async fn gravity_tasks(&self, id: Option<&str>) -> ServiceResult<Vec<GravityTask>> {
        let mut body = json!({"includeCrawlers": true});
        if let Some(id) = id {
            body["gravityTaskId"] = json!(id);
        }
        let v = self
            .call(GRAVITY, "GetGravityTasks", &body, Retry::Idempotent)
            .await?;
        Ok(Self::parse::<TasksWire>(v)?.tasks())
    }

    /// Builds a dataset of crawler `crawler_id` (at most `max_rows` rows); returns the
    /// dataset's id. **This stops the crawler.**
    pub async fn build_dataset(&self, crawler_id: &str, max_rows: u64) -> ServiceResult<String> {
        let body = json!({"crawlerId": crawler_id, "maxRows": max_rows});
        let v = self
            .call(GRAVITY, "BuildDataset", &body, Retry::Once)
            .await?;
        v.get("datasetId")
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .ok_or_else(|| ServiceError::Parse {
                service: SERVICE,
                detail: "no datasetId in the answer".into(),
            })
    }

    /// The dataset `id`: its build's progress and, once built, its files.
    pub async fn dataset(&self, id: &str) -> ServiceResult<Dataset> {
        let v = self
            .call(
                GRAVITY,
                "GetDataset",
                &json!({"datasetId": id}),
                Retry::Idempotent,
            )
            .await?;
        Self::parse::<DatasetWire>(v)?
            .dataset
            .ok_or_else(|| ServiceError::NotFound {
                service: SERVICE,
                body: format!("dataset {id}"),
            })
    }

    /// Cancels Gravity task `id`.
    pub async fn cancel_task(&self, id: &str) -> ServiceResult<()> {
        self.call(
            GRAVITY,
            "CancelGravityTask",
            &json!({"gravityTaskId": id}),
            Retry::Idempotent,
        )
        .await
        .map(|_| ())
    }

    /// Cancels the build of dataset `id`.
    pub async fn cancel_dataset(&self, id: &str) -> ServiceResult<()> {
        self.call(
            GRAVITY,
            "CancelDataset",
            &json!({"datasetId": id}),
            Retry::Idempotent,
        )
        .await
        .map(|_| ())
    }

    /// Downloads a dataset file from its URL (`http(s)` only; no key sent, the URL carries
    /// its own permission), at most [`MAX_DOWNLOAD`] bytes.
    pub async fn download(&self, url: &str) -> ServiceResult<Vec<u8>> {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(ServiceError::Invalid(format!(
                "dataset file URL {url:?} is not http(s)"
            )));
        }
        Ok(self
            .files
            .send(Method::GET, url, Retry::Idempotent, |rb| rb)
            .await?
            .body)
    }
}
