//! A blocking client of a running bridge, for the CLI's `client` commands and scripts.

use std::time::Duration;

use serde_json::Value;

/// Environment variable with the bridge URL.
pub const URL_ENV: &str = "SYNTH_BRIDGE_URL";
/// Environment variable with the caller's key.
pub const KEY_ENV: &str = "SYNTH_BRIDGE_KEY";
/// The default bridge URL.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8377";

/// Why a call produced no HTTP answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Bad URL or method.
    #[error("{0}")]
    Input(String),
    /// No connection, timeout, or a body that is not JSON.
    #[error("{0}")]
    Transport(String),
}

/// An HTTP answer: status and JSON body.
#[derive(Debug, Clone)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// The JSON body (`null` when empty).
    pub body: Value,
}

impl Answer {
    /// True for 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// A bridge client.
pub struct Client {
    base: String,
    key: Option<String>,
    http: reqwest::blocking::Client,
}

impl Client {
    /// A client of `base` (e.g. `http://127.0.0.1:8377`) sending `key` as a bearer token.
    pub fn new(base: &str, key: Option<String>, timeout: Duration) -> Result<Self, ClientError> {
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(ClientError::Input(format!(
                "bridge URL must start with http:// or https://, got {base:?}"
            )));
        }
        let http = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|e| ClientError::Transport(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            base: base.trim_end_matches('/').to_string(),
            key: key.filter(|k| !k.is_empty()),
            http,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Calls `method path` (path with its query string) with an optional JSON body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ClientError> {
        let m = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| ClientError::Input(format!("bad HTTP method {method:?}")))?;
        let url = format!(
            "{}{}",
            self.base,
            if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            }
        );
        let mut req = self.http.request(m, &url);
        if let Some(k) = &self.key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().map_err(|e| {
            ClientError::Transport(format!("bridge unreachable at {}: {e}", self.base))
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .text()
            .map_err(|e| ClientError::Transport(format!("reading the answer: {e}")))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).map_err(|_| {
                ClientError::Transport(format!(
                    "HTTP {status}: answer is not JSON: {}",
                    truncate(&text)
                ))
            })?
        };
        Ok(Answer { status, body })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(200).collect()
}
