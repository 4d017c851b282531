//! The coordinator's blocking client for one worker (called from the research session's run
//! threads). Control calls time out after seconds; uploads and downloads get longer.

use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};

use crate::config::WorkerAddr;
use crate::protocol::{ErrorBody, Health, JobSpec, JobStatus};

/// Why a call to a worker failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The worker could not be reached (refused, reset, timed out): it may be dead.
    #[error("worker {url}: unreachable ({detail})")]
    Unreachable {
        /// Worker URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The worker answered with an error status.
    #[error("worker {url}: HTTP {status}: {message}")]
    Status {
        /// Worker URL.
        url: String,
        /// Status.
        status: u16,
        /// Its `error` text.
        message: String,
    },
    /// The answer did not parse, or a file did not match its hash.
    #[error("worker {url}: bad answer: {detail}")]
    Bad {
        /// Worker URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

/// Cap on a downloaded file (weights, samples).
pub const MAX_FILE: u64 = 1 << 30;

/// A client for one worker.
#[derive(Debug, Clone)]
pub struct WorkerClient {
    addr: WorkerAddr,
    http: Client,
}

impl WorkerClient {
    /// A client for `addr`.
    pub fn new(addr: WorkerAddr) -> Result<Self, String> {
        let http = Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(300))
            .user_agent(concat!(
                "synth-city-coordinator/",
                env!("CARGO_PKG_VERSION")
            ))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Self { addr, http })
    }

    /// The worker's URL.
    pub fn url(&self) -> &str {
        &self.addr.url
    }

    fn req(&self, method: reqwest::Method, path: &str, timeout: Duration) -> RequestBuilder {
        let rb = self
            .http
            .request(method, format!("{}{path}", self.addr.url))
            .timeout(timeout);
        if self.addr.token.is_empty() {
            rb
        } else {
            rb.bearer_auth(&self.addr.token)
        }
    }

    fn send(&self, rb: RequestBuilder) -> Result<Response, CallError> {
        let resp = rb.send().map_err(|e| CallError::Unreachable {
            url: self.addr.url.clone(),
            detail: if e.is_timeout() {
                "timed out".into()
            } else if e.is_connect() {
                "connection failed".into()
            } else {
                "request failed".into()
            },
        })?;
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let message = resp
            .json::<ErrorBody>()
            .map(|b| b.error)
            .unwrap_or_else(|_| "no error text".into());
        Err(CallError::Status {
            url: self.addr.url.clone(),
            status,
            message,
        })
    }

    fn json<T: serde::de::DeserializeOwned>(&self, resp: Response) -> Result<T, CallError> {
        resp.json().map_err(|e| CallError::Bad {
            url: self.addr.url.clone(),
            detail: e.to_string(),
        })
    }

    /// `GET /v1/health`.
    pub fn health(&self) -> Result<Health, CallError> {
        let r = self.send(self.req(reqwest::Method::GET, "/v1/health", Duration::from_secs(5)))?;
        self.json(r)
    }

    /// True when the worker holds data `sha`.
    pub fn has_data(&self, sha: &str) -> Result<bool, CallError> {
        match self.send(self.req(
            reqwest::Method::HEAD,
            &format!("/v1/data/{sha}"),
            Duration::from_secs(10),
        )) {
            Ok(_) => Ok(true),
            Err(CallError::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Uploads data `sha` (the worker checks the hash).
    pub fn put_data(&self, sha: &str, bytes: Vec<u8>) -> Result<(), CallError> {
        self.send(
            self.req(
                reqwest::Method::PUT,
                &format!("/v1/data/{sha}"),
                Duration::from_secs(600),
            )
            .body(bytes),
        )?;
        Ok(())
    }

    /// Submits job `id` (idempotent: the same job again answers its status).
    pub fn submit(&self, id: &str, job: &JobSpec) -> Result<JobStatus, CallError> {
        let r = self.send(
            self.req(
                reqwest::Method::PUT,
                &format!("/v1/jobs/{id}"),
                Duration::from_secs(30),
            )
            .json(job),
        )?;
        self.json(r)
    }

    /// Job status with events from index `since`.
    pub fn status(&self, id: &str, since: usize) -> Result<JobStatus, CallError> {
        let r = self.send(self.req(
            reqwest::Method::GET,
            &format!("/v1/jobs/{id}?since={since}"),
            Duration::from_secs(10),
        ))?;
        self.json(r)
    }

    /// Cancels job `id`.
    pub fn cancel(&self, id: &str) -> Result<JobStatus, CallError> {
        let r = self.send(self.req(
            reqwest::Method::DELETE,
            &format!("/v1/jobs/{id}"),
            Duration::from_secs(10),
        ))?;
        self.json(r)
    }

    /// File `index` of job `id`, checked against `sha256`.
    pub fn file(&self, id: &str, index: usize, sha256: &str) -> Result<Vec<u8>, CallError> {
        let r = self.send(self.req(
            reqwest::Method::GET,
            &format!("/v1/jobs/{id}/files/{index}"),
            Duration::from_secs(600),
        ))?;
        if r.content_length().is_some_and(|n| n > MAX_FILE) {
            return Err(CallError::Bad {
                url: self.addr.url.clone(),
                detail: format!("file {index} is over {MAX_FILE} bytes"),
            });
        }
        let bytes = r.bytes().map_err(|_| CallError::Unreachable {
            url: self.addr.url.clone(),
            detail: "the download broke off".into(),
        })?;
        if crate::protocol::sha256_hex(&bytes) != sha256 {
            return Err(CallError::Bad {
                url: self.addr.url.clone(),
                detail: format!("file {index} does not match its sha256"),
            });
        }
        Ok(bytes.to_vec())
    }
}

/// True for errors that say the worker is gone (rather than that the job is bad).
pub fn is_worker_gone(e: &CallError) -> bool {
    match e {
        CallError::Unreachable { .. } => true,
        CallError::Status { status, .. } => *status == 404 || *status >= 500,
        CallError::Bad { .. } => true,
    }
}
