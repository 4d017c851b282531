//! The Desearch client: one call, `search`, and a meter of what this client has spent.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde::Serialize;
use serde_json::json;

use super::query::SearchQuery;
use super::results::{Cost, SearchResults};
use super::wire::AiSearchResponse;
use super::{DEFAULT_URL, KEY_ENV, SERVICE, URL_ENV};
use crate::http::{Auth, HttpSettings};
use crate::{env, HttpClient, Retry, Secret, ServiceResult};

/// What a client has spent so far (all its clones together).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spend {
    /// Searches answered.
    pub calls: u64,
    /// Sum of the reported `X-Desearch-Cost-Usd`.
    pub usd: f64,
}

#[derive(Debug, Default)]
struct Meter {
    calls: AtomicU64,
    /// Micro-dollars, so that the sum is exact and lock-free.
    micro_usd: AtomicU64,
}

/// A Desearch client.
#[derive(Debug, Clone)]
pub struct Desearch {
    http: HttpClient,
    meter: Arc<Meter>,
}

impl Desearch {
    /// The client configured by the environment: the key in `DESEARCH_API_KEY` (an error
    /// naming it when unset), the base URL in `DESEARCH_BASE_URL` (default the service's).
    pub fn from_env() -> ServiceResult<Self> {
        let key = env::secret(SERVICE, KEY_ENV)?;
        Self::new(
            env::base_url(URL_ENV, DEFAULT_URL),
            key,
            Self::default_settings(),
        )
    }

    /// Timeouts and retries for the service: its answers can take a minute and a half.
    pub fn default_settings() -> HttpSettings {
        HttpSettings {
            timeout: Duration::from_secs(120),
            max_retries: 2,
            max_body: 8 * 1024 * 1024,
            ..HttpSettings::default()
        }
    }

    /// A client for `base_url` with `key` (sent raw in `Authorization`, as the service wants).
    pub fn new(
        base_url: impl Into<String>,
        key: Secret,
        settings: HttpSettings,
    ) -> ServiceResult<Self> {
        Ok(Self {
            http: HttpClient::new(
                SERVICE,
                base_url,
                Auth::Header("Authorization", key),
                settings,
            )?,
            meter: Arc::default(),
        })
    }

    /// Searches; the hits come back normalised and the call's cost is added to [`Self::spent`].
    pub async fn search(&self, q: &SearchQuery) -> ServiceResult<SearchResults> {
        q.check()?;
        let now = chrono::Utc::now();
        let fmt = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let start = q
            .since
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| fmt(now - d));
        let tools: Vec<&str> = q.sources.iter().map(|s| s.as_str()).collect();
        let mut body = json!({
            "prompt": q.text.trim(),
            "tools": tools,
            "count": q.limit.clamp(10, super::MAX_LIMIT),
            "streaming": false,
            "result_type": "ONLY_LINKS",
        });
        if let Some(s) = &start {
            body["start_date"] = json!(s);
            body["end_date"] = json!(fmt(now));
        }
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| crate::ServiceError::Invalid(format!("encoding the request: {e}")))?;
        // A search changes nothing on the server: safe to send again after a 5xx or a timeout.
        let resp = self
            .http
            .send(
                Method::POST,
                "/desearch/ai/search",
                Retry::Idempotent,
                |rb| {
                    rb.header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(bytes.clone())
                },
            )
            .await?;
        let cost = Cost::from_response(&resp);
        self.record(&cost);
        if let Some(usd) = cost.usd {
            tracing::info!(service = SERVICE, cost_usd = usd, "search cost");
        }
        let parsed: AiSearchResponse = resp.json(SERVICE)?;
        Ok(SearchResults {
            query: q.text.trim().to_string(),
            sources: tools.iter().map(|s| s.to_string()).collect(),
            since: start,
            results: parsed.hits(q.limit),
            cost,
        })
    }

    fn record(&self, cost: &Cost) {
        self.meter.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(usd) = cost.usd {
            // At most $1M per call counts: a garbled header cannot overflow the meter.
            let micro = (usd.min(1e6) * 1e6).round() as u64;
            self.meter.micro_usd.fetch_add(micro, Ordering::Relaxed);
        }
    }

    /// What this client (and its clones) has spent so far.
    pub fn spent(&self) -> Spend {
        Spend {
            calls: self.meter.calls.load(Ordering::Relaxed),
            usd: self.meter.micro_usd.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}
