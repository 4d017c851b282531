//! The remote object store: Hippius S3 (or any S3) configured from `HIPPIUS_*` variables.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use crate::{ResearchError, Result};

/// Hippius' S3 endpoint (EU cache; all regions serve the same data).
pub const HIPPIUS_ENDPOINT: &str = "https://s3.hippius.com";
/// Hippius' signing region.
pub const HIPPIUS_REGION: &str = "decentralized";
/// Default bucket.
pub const DEFAULT_BUCKET: &str = "synth-city";

/// Where and how to reach the S3 remote. `Debug` never prints the secret.
#[derive(Clone)]
pub struct RemoteConfig {
    /// Endpoint URL (`HIPPIUS_ENDPOINT`, default [`HIPPIUS_ENDPOINT`]).
    pub endpoint: String,
    /// Signing region (`HIPPIUS_REGION`, default `decentralized`).
    pub region: String,
    /// Bucket (`HIPPIUS_BUCKET`, default `synth-city`); must exist.
    pub bucket: String,
    /// Key prefix inside the bucket (`HIPPIUS_PREFIX`, default none).
    pub prefix: String,
    /// Access key id (`HIPPIUS_ACCESS_KEY`).
    pub access_key: String,
    /// Secret key (`HIPPIUS_SECRET_KEY`); never logged.
    pub secret_key: String,
    /// Retries per request (default 3) and their overall time bound.
    pub max_retries: usize,
    /// No retry starts after a request has been failing this long (default 6 s).
    pub retry_timeout: Duration,
    /// Whole-request timeout, uploads included (default 120 s; `HIPPIUS_TIMEOUT_SECS`).
    pub timeout: Duration,
    /// Connect timeout (default 3 s; `HIPPIUS_CONNECT_TIMEOUT_SECS`).
    pub connect_timeout: Duration,
    /// Longest wait for the next bytes from the server, e.g. an endpoint that accepts the
    /// connection and never answers (default 4 s; `HIPPIUS_READ_TIMEOUT_SECS`). Past it the
    /// request fails, the sync stops and the rest stays in the outbox.
    pub read_timeout: Duration,
}

impl std::fmt::Debug for RemoteConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteConfig")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("access_key", &redact(&self.access_key))
            .field("secret_key", &"<redacted>")
            .finish()
    }
}

fn redact(key: &str) -> String {
    let head: String = key.chars().take(6).collect();
    format!("{head}…")
}

impl RemoteConfig {
    /// A config for `endpoint`/`bucket` with these credentials and default region/timeouts.
    pub fn new(endpoint: &str, bucket: &str, access_key: &str, secret_key: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            region: HIPPIUS_REGION.into(),
            bucket: bucket.into(),
            prefix: String::new(),
            access_key: access_key.into(),
            secret_key: secret_key.into(),
            max_retries: 3,
            retry_timeout: Duration::from_secs(6),
            timeout: Duration::from_secs(120),
            connect_timeout: Duration::from_secs(3),
            read_timeout: Duration::from_secs(4),
        }
    }

    /// From `HIPPIUS_*` variables; `None` when `HIPPIUS_ACCESS_KEY` or `HIPPIUS_SECRET_KEY` is
    /// unset (storage stays local-only).
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| {
            std::env::var(k)
                .ok()
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let access = var("HIPPIUS_ACCESS_KEY")?;
        let secret = var("HIPPIUS_SECRET_KEY")?;
        let mut cfg = Self::new(
            &var("HIPPIUS_ENDPOINT").unwrap_or_else(|| HIPPIUS_ENDPOINT.into()),
            &var("HIPPIUS_BUCKET").unwrap_or_else(|| DEFAULT_BUCKET.into()),
            &access,
            &secret,
        );
        if let Some(r) = var("HIPPIUS_REGION") {
            cfg.region = r;
        }
        if let Some(p) = var("HIPPIUS_PREFIX") {
            cfg.prefix = p.trim_matches('/').to_string();
        }
        let secs = |k: &str| {
            let v = var(k)?;
            match v.parse::<f64>() {
                Ok(s) if s > 0.0 && s <= 3600.0 => Some(Duration::from_secs_f64(s)),
                _ => {
                    tracing::warn!(
                        "{k}={v:?} is not a number of seconds in (0, 3600]; using the default"
                    );
                    None
                }
            }
        };
        if let Some(t) = secs("HIPPIUS_TIMEOUT_SECS") {
            cfg.timeout = t;
        }
        if let Some(t) = secs("HIPPIUS_CONNECT_TIMEOUT_SECS") {
            cfg.connect_timeout = t;
        }
        if let Some(t) = secs("HIPPIUS_READ_TIMEOUT_SECS") {
            cfg.read_timeout = t;
        }
        Some(cfg)
    }
}

/// A connected remote: the object store and the key prefix.
#[derive(Debug, Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
    label: String,
}

impl Remote {
    /// Builds an S3 client (path-style, SigV4 with the configured region).
    pub fn s3(cfg: &RemoteConfig) -> Result<Self> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(5),
                base: 2.0,
            },
            max_retries: cfg.max_retries,
            retry_timeout: cfg.retry_timeout,
        };
        let client = ClientOptions::new()
            .with_allow_http(cfg.endpoint.starts_with("http://"))
            .with_connect_timeout(cfg.connect_timeout.min(cfg.timeout))
            .with_read_timeout(cfg.read_timeout.min(cfg.timeout))
            .with_timeout(cfg.timeout);
        let store = AmazonS3Builder::new()
            .with_endpoint(&cfg.endpoint)
            .with_region(&cfg.region)
            .with_bucket_name(&cfg.bucket)
            .with_access_key_id(&cfg.access_key)
            .with_secret_access_key(&cfg.secret_key)
            .with_virtual_hosted_style_request(false)
            .with_retry(retry)
            .with_client_options(client)
            .build()
            .map_err(|e| ResearchError::env(format!("S3 client: {e}")))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: cfg.prefix.clone(),
            label: format!("{}/{}", cfg.endpoint, cfg.bucket),
        })
    }

    /// Any object store (tests, other backends), with a key prefix.
    pub fn from_store(store: Arc<dyn ObjectStore>, prefix: &str, label: &str) -> Self {
        Self {
            store,
            prefix: prefix.trim_matches('/').to_string(),
            label: label.into(),
        }
    }

    /// From `HIPPIUS_*` variables, if configured.
    pub fn from_env() -> Result<Option<Self>> {
        RemoteConfig::from_env().map(|c| Self::s3(&c)).transpose()
    }

    /// Human-readable location (endpoint/bucket), without credentials.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The object store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The remote path of a key.
    pub fn path(&self, key: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(key)
        } else {
            ObjPath::from(format!("{}/{key}", self.prefix))
        }
    }

    /// The key of a remote path (its prefix removed).
    pub fn key_of(&self, path: &ObjPath) -> String {
        let s = path.as_ref();
        if self.prefix.is_empty() {
            s.to_string()
        } else {
            s.strip_prefix(&format!("{}/", self.prefix))
                .unwrap_or(s)
                .to_string()
        }
    }
}

/// An object-store error as a message without credentials (object_store never includes the
/// secret in its errors; the message is also truncated).
pub(crate) fn describe(e: &object_store::Error) -> String {
    let mut s = e.to_string();
    if s.len() > 300 {
        let mut cut = 300;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}
