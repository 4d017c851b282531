//! The HTTP chat-completions client: timeouts, retries with jittered exponential back-off on
//! 429 / 5xx / timeouts / connection errors (honouring `Retry-After`), usage accounting.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use super::config::LlmConfig;
use super::meter::UsageMeter;
use super::types::{ChatRequest, ChatResponse, FunctionCall, Role, ToolCall};

/// A boxed, sendable future (keeps [`ChatModel`] object-safe).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a chat call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// Bad key or forbidden (401/403): retrying cannot help.
    #[error(
        "the LLM server refused the key (HTTP {status}): {body}; check CHUTES_API_KEY or \
         LLM_API_KEY, or use the built-in planner (`synth-city pipeline --planner builtin`)"
    )]
    Auth {
        /// HTTP status.
        status: u16,
        /// Start of the response body.
        body: String,
    },
    /// Any other non-success status after the retries.
    #[error("LLM HTTP {status}: {body}")]
    Http {
        /// HTTP status.
        status: u16,
        /// Start of the response body.
        body: String,
    },
    /// Timeout or connection failure after the retries.
    #[error("LLM transport error: {0}")]
    Transport(String),
    /// The body was not a chat-completions response.
    #[error("LLM response not understood: {0}")]
    Parse(String),
}

impl LlmError {
    /// True when retrying the stage cannot help (bad key, bad request): the orchestrator stops.
    pub fn is_environment(&self) -> bool {
        matches!(self, LlmError::Auth { .. })
            || matches!(self, LlmError::Http { status, .. } if *status == 404 || *status == 400)
    }
}

/// Anything that answers a chat request: the HTTP client, or the built-in planner's policies.
pub trait ChatModel: Send + Sync {
    /// Model id for logs and events.
    fn model_name(&self) -> String;
    /// Answers one request.
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>>;
}

/// An OpenAI-compatible chat-completions client.
#[derive(Debug, Clone)]
pub struct LlmClient {
    cfg: LlmConfig,
    http: reqwest::Client,
    meter: UsageMeter,
}

impl LlmClient {
    /// A client for `cfg`, counting usage into `meter`.
    pub fn new(cfg: LlmConfig, meter: UsageMeter) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.connect_timeout)
            .build()
            .map_err(|e| LlmError::Transport(format!("building HTTP client: {e}")))?;
        Ok(Self { cfg, http, meter })
    }

    /// The settings in use.
    pub fn config(&self) -> &LlmConfig {
        &self.cfg
    }

    /// The usage meter.
    pub fn meter(&self) -> &UsageMeter {
        &self.meter
    }

    /// Sends `req`, retrying transient failures. Tool calls that a model wrote as text
    /// (`<tool_call>{...}</tool_call>`) are lifted into `tool_calls`.
    pub async fn chat(&self, req: &ChatRequest) -> Result<ChatResponse, LlmError> {
        let url = format!("{}/chat/completions", self.cfg.base_url);
        let mut attempt = 0u32;
        loop {
            let outcome = self.send_once(&url, req).await;
            let (err, retry_after) = match outcome {
                Ok(mut resp) => {
                    if let Some(u) = resp.usage {
                        self.meter.record(&u, self.cfg.pricing);
                    } else {
                        self.meter.record(&Default::default(), self.cfg.pricing);
                    }
                    normalise(&mut resp);
                    return Ok(resp);
                }
                Err(e) => e,
            };
            self.meter.record_failure();
            if !is_retryable(&err) || attempt >= self.cfg.max_retries {
                return Err(err);
            }
            let delay = self.backoff(attempt, retry_after);
            tracing::warn!(attempt = attempt + 1, delay_ms = delay.as_millis() as u64, error = %err, "LLM call failed, retrying");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn send_once(
        &self,
        url: &str,
        req: &ChatRequest,
    ) -> Result<ChatResponse, (LlmError, Option<Duration>)> {
        let mut rb = self.http.post(url).json(req);
        if let Some(k) = self.cfg.api_key() {
            rb = rb.bearer_auth(k);
        }
        let resp = rb
            .send()
            .await
            .map_err(|e| (LlmError::Transport(describe(&e)), None))?;
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let body = resp
            .text()
            .await
            .map_err(|e| (LlmError::Transport(describe(&e)), None))?;
        if !(200..300).contains(&status) {
            let body = snippet(&body);
            let err = if status == 401 || status == 403 {
                LlmError::Auth { status, body }
            } else {
                LlmError::Http { status, body }
            };
            return Err((err, retry_after));
        }
        let parsed: ChatResponse = crate::json::parse_lenient(&body).map_err(|e| {
            (
                LlmError::Parse(format!("{e}; body: {}", snippet(&body))),
                None,
            )
        })?;
        if parsed.choices.is_empty() {
            return Err((
                LlmError::Parse(format!("no choices in response: {}", snippet(&body))),
                None,
            ));
        }
        Ok(parsed)
    }

    fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(ra) = retry_after {
            return ra.min(self.cfg.max_backoff);
        }
        let base = self
            .cfg
            .base_backoff
            .saturating_mul(1u32 << attempt.min(16));
        // Jitter in [0.5, 1.0) from the clock's sub-second noise: enough to de-synchronise bots.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let jitter = 0.5 + (nanos % 1000) as f64 / 2000.0;
        base.mul_f64(jitter).min(self.cfg.max_backoff)
    }
}

impl ChatModel for LlmClient {
    fn model_name(&self) -> String {
        self.cfg.model.clone()
    }
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(self.chat(req))
    }
}

/// Longest `Retry-After` honoured, whatever the server says (the config's `max_backoff` may
/// shorten it further).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A `Retry-After` in seconds (the HTTP-date form is ignored), clamped to [`MAX_RETRY_AFTER`];
/// `None` for anything that is not a finite, non-negative number.
fn parse_retry_after(s: &str) -> Option<Duration> {
    let secs = s.trim().parse::<f64>().ok()?;
    if !(secs.is_finite() && secs >= 0.0) {
        return None;
    }
    let d = Duration::try_from_secs_f64(secs).unwrap_or(MAX_RETRY_AFTER);
    Some(d.min(MAX_RETRY_AFTER))
}

fn is_retryable(e: &LlmError) -> bool {
    match e {
        LlmError::Http { status, .. } => *status == 429 || *status == 408 || *status >= 500,
        LlmError::Transport(_) => true,
        LlmError::Auth { .. } | LlmError::Parse(_) => false,
    }
}

fn describe(e: &reqwest::Error) -> String {
    // reqwest errors carry the URL, never the headers, so the key cannot leak here.
    if e.is_timeout() {
        format!("timed out: {e}")
    } else if e.is_connect() {
        format!("connection failed: {e}")
    } else {
        e.to_string()
    }
}

fn snippet(s: &str) -> String {
    const MAX: usize = 500;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Fills missing call ids and lifts `<tool_call>{json}</tool_call>` blocks written in the text
/// (models served without a tool parser) into real tool calls.
fn normalise(resp: &mut ChatResponse) {
    for (ci, choice) in resp.choices.iter_mut().enumerate() {
        let m = &mut choice.message;
        if m.role == Role::Other {
            m.role = Role::Assistant;
        }
        if m.tool_calls.is_empty() {
            if let Some(text) = m.content.clone() {
                let lifted = lift_text_tool_calls(&text);
                if !lifted.is_empty() {
                    m.tool_calls = lifted;
                }
            }
        }
        for (i, c) in m.tool_calls.iter_mut().enumerate() {
            if c.id.is_empty() {
                c.id = format!("call_{ci}_{i}");
            }
        }
    }
}

fn lift_text_tool_calls(text: &str) -> Vec<ToolCall> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("<tool_call>") {
        let after = &rest[start + "<tool_call>".len()..];
        let Some(end) = after.find("</tool_call>") else {
            break;
        };
        let inner = after[..end].trim();
        if let Ok(v) = crate::json::parse_lenient::<serde_json::Value>(inner) {
            if let Some(name) = v.get("name").and_then(|n| n.as_str()) {
                let args = v
                    .get("arguments")
                    .cloned()
                    .unwrap_or(serde_json::Value::Object(Default::default()));
                let arguments = match args {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                out.push(ToolCall {
                    id: String::new(),
                    kind: "function".into(),
                    function: FunctionCall {
                        name: name.to_string(),
                        arguments,
                    },
                });
            }
        }
        rest = &after[end + "</tool_call>".len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifts_text_tool_calls() {
        let calls = lift_text_tool_calls("thinking <tool_call>{\"name\":\"finish\",\"arguments\":{\"success\":true}}</tool_call>");
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].function.name, "finish");
        assert_eq!(calls[0].function.arguments, r#"{"success":true}"#);
    }

    #[test]
    fn retry_after_is_clamped_and_parsed_safely() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after(" 0.5 "), Some(Duration::from_millis(500)));
        assert_eq!(parse_retry_after("1e300"), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("1e20"), Some(MAX_RETRY_AFTER));
        for bad in ["-1", "inf", "NaN", "Wed, 21 Oct 2015 07:28:00 GMT", ""] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }

    #[test]
    fn auth_and_bad_request_are_environment_errors() {
        assert!(LlmError::Auth {
            status: 401,
            body: String::new()
        }
        .is_environment());
        assert!(!LlmError::Http {
            status: 503,
            body: String::new()
        }
        .is_environment());
        assert!(is_retryable(&LlmError::Http {
            status: 429,
            body: String::new()
        }));
        assert!(!is_retryable(&LlmError::Http {
            status: 400,
            body: String::new()
        }));
    }
}
