//! The one HTTP core every client here is built on: base URL, authentication, timeouts, a cap on
//! what is read back, and retries with jittered exponential back-off that honour `Retry-After`.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::snippet;
use crate::{Secret, ServiceError, ServiceResult};

/// Longest `Retry-After` honoured, whatever the server says.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Default cap on a response body (JSON answers); downloads raise it per call.
pub const DEFAULT_MAX_BODY: usize = 16 * 1024 * 1024;

/// How a request may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Safe to send again (GET, PUT of the same content, idempotent POST): retried on 408, 429,
    /// 5xx and transport errors.
    Idempotent,
    /// Must not run twice (creating a job, renting a GPU): retried only when the server says it
    /// did not process it (429, 503), never after a timeout.
    Once,
}

/// How a client authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials.
    None,
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// A named header carrying the key (`X-API-KEY: …`, `Authorization: <key>`).
    Header(&'static str, Secret),
}

/// Timeouts, retries and caps of a client.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Whole-request timeout.
    pub timeout: Duration,
    /// Connection timeout.
    pub connect_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First back-off; doubles each attempt (with jitter in [0.5, 1)).
    pub base_backoff: Duration,
    /// Longest back-off.
    pub max_backoff: Duration,
    /// Cap on a response body.
    pub max_body: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            max_retries: 4,
            base_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_body: DEFAULT_MAX_BODY,
        }
    }
}

/// A response read in full (within the cap).
#[derive(Debug, Clone)]
pub struct Response {
    /// Status (always 2xx when returned by [`HttpClient::send`]).
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The body parsed as JSON.
    pub fn json<T: DeserializeOwned>(&self, service: &'static str) -> ServiceResult<T> {
        serde_json::from_slice(&self.body).map_err(|e| ServiceError::Parse {
            service,
            detail: format!(
                "{e}; body: {}",
                snippet(&String::from_utf8_lossy(&self.body))
            ),
        })
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// An HTTP client for one service.
#[derive(Debug, Clone)]
pub struct HttpClient {
    service: &'static str,
    base_url: String,
    auth: Auth,
    settings: HttpSettings,
    http: reqwest::Client,
}

impl HttpClient {
    /// A client for `service` (its name in messages) at `base_url`.
    pub fn new(
        service: &'static str,
        base_url: impl Into<String>,
        auth: Auth,
        settings: HttpSettings,
    ) -> ServiceResult<Self> {
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .user_agent(concat!("synth-city/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ServiceError::Transport {
                service,
                detail: format!("building the HTTP client: {e}"),
            })?;
        let base_url = base_url.into().trim_end_matches('/').to_string();
        Ok(Self {
            service,
            base_url,
            auth,
            settings,
            http,
        })
    }

    /// The service's name.
    pub fn service(&self) -> &'static str {
        self.service
    }

    /// The base URL (no trailing `/`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `path` joined to the base URL; an absolute `http(s)://` URL is kept as is (for upload
    /// URLs a server hands back).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else if path.starts_with('/') {
            format!("{}{path}", self.base_url)
        } else {
            format!("{}/{path}", self.base_url)
        }
    }

    /// `path` joined to the base URL with `query` form-encoded onto it.
    pub fn url_with_query(&self, path: &str, query: &[(&str, &str)]) -> ServiceResult<String> {
        let mut url = reqwest::Url::parse(&self.url(path))
            .map_err(|e| ServiceError::Invalid(format!("{}: bad URL: {e}", self.service)))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url.into())
    }

    /// GET `path` and parse the JSON answer.
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, &str)],
    ) -> ServiceResult<T> {
        let url = self.url_with_query(path, query)?;
        self.send(Method::GET, &url, Retry::Idempotent, |rb| rb)
            .await?
            .json(self.service)
    }

    /// Sends `body` as JSON with `method` and parses the JSON answer.
    pub async fn json<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        retry: Retry,
    ) -> ServiceResult<T> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ServiceError::Invalid(format!("encoding the request: {e}")))?;
        self.send(method, path, retry, |rb| {
            rb.header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes.clone())
        })
        .await?
        .json(self.service)
    }

    /// Sends a request built by `build` (called again for each attempt), retrying as `retry`
    /// allows, and reads the whole body within the cap. Non-2xx statuses become errors.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        retry: Retry,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> ServiceResult<Response> {
        self.send_capped(method, path, retry, self.settings.max_body, build)
            .await
    }

    /// [`HttpClient::send`] with its own body cap (downloads).
    pub async fn send_capped(
        &self,
        method: Method,
        path: &str,
        retry: Retry,
        max_body: usize,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> ServiceResult<Response> {
        let url = self.url(path);
        let mut attempt = 0u32;
        loop {
            let rb = build(self.authorise(self.http.request(method.clone(), &url)));
            let (err, retry_after, retryable) = match self.attempt(rb, max_body).await {
                Ok(resp) => return Ok(resp),
                Err(AttemptError::Status(status, headers, body)) => {
                    let retry_after = headers
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_retry_after);
                    let retryable = match retry {
                        Retry::Idempotent => status == 408 || status == 429 || status >= 500,
                        Retry::Once => status == 429 || status == 503,
                    };
                    (
                        self.status_error(status, &body, attempt + 1),
                        retry_after,
                        retryable,
                    )
                }
                Err(AttemptError::Other(e, sent)) => {
                    // A request that may have reached the server is not repeated unless idempotent.
                    let retryable = retry == Retry::Idempotent || !sent;
                    let retryable = retryable && matches!(e, ServiceError::Transport { .. });
                    (e, None, retryable)
                }
            };
            if !retryable || attempt >= self.settings.max_retries {
                return Err(err);
            }
            let delay = backoff(&self.settings, attempt, retry_after);
            tracing::warn!(service = self.service, attempt = attempt + 1, delay_ms = delay.as_millis() as u64, error = %err, "service call failed, retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    fn authorise(&self, rb: RequestBuilder) -> RequestBuilder {
        match &self.auth {
            Auth::None => rb,
            Auth::Bearer(s) => rb.bearer_auth(s.expose()),
            Auth::Header(name, s) => match (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(s.expose()),
            ) {
                (Ok(n), Ok(mut v)) => {
                    v.set_sensitive(true);
                    rb.header(n, v)
                }
                // A key with bytes a header cannot hold: sent without it, the server answers 401.
                _ => rb,
            },
        }
    }

    async fn attempt(&self, rb: RequestBuilder, max_body: usize) -> Result<Response, AttemptError> {
        let mut resp = rb.send().await.map_err(|e| {
            let sent = !(e.is_connect() || e.is_builder());
            AttemptError::Other(self.transport(&e), sent)
        })?;
        let status = resp.status();
        let headers = resp.headers().clone();
        if resp.content_length().is_some_and(|n| n > max_body as u64) {
            return Err(AttemptError::Other(
                ServiceError::TooLarge {
                    service: self.service,
                    limit: max_body,
                },
                true,
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| AttemptError::Other(self.transport(&e), true))?
        {
            if body.len() + chunk.len() > max_body {
                return Err(AttemptError::Other(
                    ServiceError::TooLarge {
                        service: self.service,
                        limit: max_body,
                    },
                    true,
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            return Err(AttemptError::Status(
                status.as_u16(),
                headers,
                String::from_utf8_lossy(&body).into_owned(),
            ));
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn transport(&self, e: &reqwest::Error) -> ServiceError {
        // reqwest's Display carries the URL; keep the kind only (URLs may carry tokens).
        let kind = if e.is_timeout() {
            "timed out"
        } else if e.is_connect() {
            "connection failed"
        } else if e.is_body() || e.is_decode() {
            "the response body broke off"
        } else {
            "request failed"
        };
        ServiceError::Transport {
            service: self.service,
            detail: kind.to_string(),
        }
    }

    fn status_error(&self, status: u16, body: &str, attempts: u32) -> ServiceError {
        let service = self.service;
        let body = snippet(body);
        match status {
            401 | 403 => ServiceError::Auth {
                service,
                status,
                body,
            },
            404 => ServiceError::NotFound { service, body },
            409 => ServiceError::Conflict { service, body },
            429 => ServiceError::RateLimited { service, attempts },
            _ => ServiceError::Http {
                service,
                status,
                body,
            },
        }
    }
}

enum AttemptError {
    Status(u16, HeaderMap, String),
    /// The error, and whether the request may have reached the server.
    Other(ServiceError, bool),
}

/// A `Retry-After` in seconds (the HTTP-date form is ignored), clamped to [`MAX_RETRY_AFTER`];
/// `None` for anything that is not a finite, non-negative number.
pub fn parse_retry_after(s: &str) -> Option<Duration> {
    let secs = s.trim().parse::<f64>().ok()?;
    if !(secs.is_finite() && secs >= 0.0) {
        return None;
    }
    let d = Duration::try_from_secs_f64(secs).unwrap_or(MAX_RETRY_AFTER);
    Some(d.min(MAX_RETRY_AFTER))
}

fn backoff(s: &HttpSettings, attempt: u32, retry_after: Option<Duration>) -> Duration {
    if let Some(ra) = retry_after {
        return ra.min(s.max_backoff);
    }
    let base = s.base_backoff.saturating_mul(1u32 << attempt.min(16));
    // Jitter in [0.5, 1.0) from the clock's sub-second noise: enough to de-synchronise clients.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = 0.5 + (nanos % 1000) as f64 / 2000.0;
    base.mul_f64(jitter).min(s.max_backoff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_clamped_and_rejects_garbage() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("1e9"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("NaN"), None);
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn secret_never_prints() {
        let a = Auth::Bearer(Secret::new("hf_abc123"));
        assert!(!format!("{a:?}").contains("abc123"));
    }
}
