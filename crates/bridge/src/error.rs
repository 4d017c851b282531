//! Errors as HTTP responses: a status code and the body `{"error": {"kind", "message"}}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// What went wrong, in words a client can branch on. Each kind has one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Malformed request: bad JSON, a missing or out-of-range field (400).
    BadRequest,
    /// No key, or a key that is unknown or revoked (401).
    Unauthorized,
    /// A valid key that may not do this (403).
    Forbidden,
    /// The thing asked for does not exist (404).
    NotFound,
    /// The path exists but not with this method (405).
    MethodNotAllowed,
    /// The request conflicts with the current state, e.g. a pipeline already running (409).
    Conflict,
    /// The client sent its request too slowly: the body was not complete in time (408).
    RequestTimeout,
    /// The body is larger than the limit (413).
    PayloadTooLarge,
    /// The experiment's model is larger than the memory cap, or the bot's running models and
    /// this one together would be (422).
    ModelTooLarge,
    /// Well-formed but invalid, e.g. an experiment spec that does not validate (422).
    Invalid,
    /// Every pipeline slot and queue place is taken; retry later (429).
    TooManyPipelines,
    /// The operation failed while running (500).
    Failed,
    /// A service or data source the operation needs is not available (503).
    Unavailable,
    /// The operation took longer than allowed (504).
    Timeout,
    /// The bot's workspace quota (bytes or files) would be exceeded (507).
    QuotaExceeded,
}

impl ErrorKind {
    /// The HTTP status for this kind.
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict => StatusCode::CONFLICT,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::ModelTooLarge => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyPipelines => StatusCode::TOO_MANY_REQUESTS,
            Self::Failed => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
        }
    }

    /// The snake_case name used in error bodies.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadRequest => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Conflict => "conflict",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge => "payload_too_large",
            Self::ModelTooLarge => "model_too_large",
            Self::Invalid => "invalid",
            Self::TooManyPipelines => "too_many_pipelines",
            Self::Failed => "failed",
            Self::Unavailable => "unavailable",
            Self::Timeout => "timeout",
            Self::QuotaExceeded => "quota_exceeded",
        }
    }
}

/// An error returned by a handler or a backend: a kind and a one-line message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {message}", kind.as_str())]
pub struct ApiError {
    /// What kind of failure.
    pub kind: ErrorKind,
    /// A message for people; never contains a key.
    pub message: String,
}

impl ApiError {
    /// A new error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, message)
    }
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, message)
    }
    /// 422.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }
    /// 500.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failed, message)
    }
    /// 503.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }
}

/// Result of handlers and backend operations.
pub type ApiResult<T> = Result<T, ApiError>;

/// `message` with every absolute server path cut down to its last component (`/home/x/data/
/// BTC.csv` → `BTC.csv`). A path is a word starting with `/` whose first component is a
/// directory at the file-system root, so URL paths (`/history/{id}`) stay as they are.
pub fn redact_paths(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(i) = rest.find('/') {
        let (before, from) = rest.split_at(i);
        out.push_str(before);
        let at_word_start = before
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "\"'`([{=:,".contains(c));
        let end = from
            .find(|c: char| c.is_whitespace() || "\"'`)]},;".contains(c))
            .unwrap_or(from.len());
        let word = &from[..end];
        let first = word[1..].split('/').next().unwrap_or("");
        let is_server_path = at_word_start
            && !first.is_empty()
            && word[1..].contains('/')
            && std::path::Path::new("/").join(first).is_dir();
        if is_server_path {
            let last = word.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            out.push_str(if last.is_empty() { "<path>" } else { last });
        } else {
            out.push_str(word);
        }
        rest = &from[end..];
    }
    out.push_str(rest);
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = redact_paths(&self.message);
        let body = json!({"error": {"kind": self.kind.as_str(), "message": message}});
        let mut resp = (self.kind.status(), Json(body)).into_response();
        if self.kind == ErrorKind::TooManyPipelines {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("10"));
        }
        resp
    }
}
