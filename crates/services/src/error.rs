//! Why a call to an external service failed, worded for the person who has to act on it.

/// Result of a service call.
pub type ServiceResult<T> = Result<T, ServiceError>;

/// A failed service call. Bodies are cut to a short snippet; secrets never appear.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ServiceError {
    /// The credential the service needs is not set.
    #[error("{service} is not configured: set {var} (in the environment or .env)")]
    NotConfigured {
        /// Service name.
        service: &'static str,
        /// The environment variable to set.
        var: &'static str,
    },
    /// 401 / 403: the key is wrong or lacks the permission.
    #[error("{service} refused the credentials (HTTP {status}): {body}")]
    Auth {
        /// Service name.
        service: &'static str,
        /// HTTP status.
        status: u16,
        /// Start of the response body.
        body: String,
    },
    /// 404: the thing asked for does not exist.
    #[error("{service}: not found (HTTP 404): {body}")]
    NotFound {
        /// Service name.
        service: &'static str,
        /// Start of the response body.
        body: String,
    },
    /// 409: the request conflicts with the server's state (exists already, stale revision).
    #[error("{service}: conflict (HTTP 409): {body}")]
    Conflict {
        /// Service name.
        service: &'static str,
        /// Start of the response body.
        body: String,
    },
    /// 429 after every retry.
    #[error("{service}: rate limited (HTTP 429) after {attempts} attempts; try again later")]
    RateLimited {
        /// Service name.
        service: &'static str,
        /// Attempts made.
        attempts: u32,
    },
    /// Any other non-success status (after retries where they apply).
    #[error("{service}: HTTP {status}: {body}")]
    Http {
        /// Service name.
        service: &'static str,
        /// HTTP status.
        status: u16,
        /// Start of the response body.
        body: String,
    },
    /// Timeout, refused connection, TLS failure — after the retries.
    #[error("{service}: could not reach the server: {detail}")]
    Transport {
        /// Service name.
        service: &'static str,
        /// What failed.
        detail: String,
    },
    /// The answer was larger than the cap for this call.
    #[error("{service}: response larger than {limit} bytes")]
    TooLarge {
        /// Service name.
        service: &'static str,
        /// The cap in bytes.
        limit: usize,
    },
    /// The answer was not what the documented protocol says.
    #[error("{service}: unexpected response: {detail}")]
    Parse {
        /// Service name.
        service: &'static str,
        /// What did not parse (with a body snippet).
        detail: String,
    },
    /// The caller's input was refused before anything was sent.
    #[error("{0}")]
    Invalid(String),
}

impl ServiceError {
    /// True when trying again later may succeed (rate limits, 5xx, transport).
    pub fn is_transient(&self) -> bool {
        match self {
            ServiceError::RateLimited { .. } | ServiceError::Transport { .. } => true,
            ServiceError::Http { status, .. } => *status == 408 || *status >= 500,
            _ => false,
        }
    }
}

/// At most 300 characters of `body`, on a char boundary, one line.
pub(crate) fn snippet(body: &str) -> String {
    let one_line: String = body
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    if body.chars().count() > 300 {
        format!("{one_line}…")
    } else {
        one_line
    }
}
