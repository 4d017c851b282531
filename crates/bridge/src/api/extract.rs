//! Request extractors: who is calling (from the key), the caller's session, JSON bodies and
//! query strings, all rejecting with JSON error bodies.

use axum::body::Bytes;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::AppState;
use crate::error::{ApiError, ErrorKind};
use crate::keys::secrets_equal;
use crate::sessions::InFlight;

/// The bot id used when the bridge runs open (no keys configured, loopback only).
pub const LOCAL_BOT: &str = "local";

/// Who is calling.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// The admin key.
    Admin,
    /// A bot, identified by its key.
    Bot(String),
    /// No keys are configured and the bridge listens on loopback only: full access as bot `local`.
    Open,
}

fn presented_key(parts: &Parts) -> Option<String> {
    if let Some(v) = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(k) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(k.trim().to_string());
        }
    }
    parts
        .headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(|k| k.trim().to_string())
}

/// Identifies the caller from `Authorization: Bearer <key>` or `X-API-Key`. Any `X-Bot-Id`
/// header is ignored: identity comes from the key alone.
pub fn identify(state: &AppState, parts: &Parts) -> Result<Caller, ApiError> {
    let unauthorized = |m: &str| ApiError::new(ErrorKind::Unauthorized, m);
    let Some(key) = presented_key(parts).filter(|k| !k.is_empty()) else {
        if state.open_mode()? {
            return Ok(Caller::Open);
        }
        return Err(unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
        ));
    };
    if let Some(admin) = &state.config.admin_key {
        if secrets_equal(&key, admin) {
            return Ok(Caller::Admin);
        }
    }
    match state
        .keys
        .lookup(&key)
        .map_err(|e| ApiError::failed(e.to_string()))?
    {
        Some(bot) => Ok(Caller::Bot(bot)),
        None => Err(unauthorized("invalid or revoked API key")),
    }
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        identify(&AppState::from_ref(state), parts)
    }
}

/// A caller allowed to administer keys and sessions.
pub struct Admin;

impl<S> FromRequestParts<S> for Admin
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match identify(&AppState::from_ref(state), parts)? {
            Caller::Admin | Caller::Open => Ok(Admin),
            Caller::Bot(_) => Err(ApiError::new(
                ErrorKind::Forbidden,
                "this needs the admin key (BRIDGE_ADMIN_KEY)",
            )),
        }
    }
}

/// A bot caller inside its session; the session is marked busy (never reaped) until this drops.
pub struct Bot {
    /// The bot id, from its key.
    pub id: String,
    /// The session, marked in flight.
    pub guard: InFlight,
}

impl<S> FromRequestParts<S> for Bot
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let st = AppState::from_ref(state);
        let id = match identify(&st, parts)? {
            Caller::Bot(id) => id,
            Caller::Open => LOCAL_BOT.to_string(),
            Caller::Admin => {
                return Err(ApiError::new(
                    ErrorKind::Forbidden,
                    "the admin key acts on no bot's behalf; use a bot key (POST /admin/bots creates one)",
                ))
            }
        };
        let guard = st.sessions.enter(&id)?;
        Ok(Bot { id, guard })
    }
}

/// A JSON object body; an empty body is `{}`. Rejections: 400 (not JSON, not an object), 408
/// (the body did not arrive within the body deadline), 413.
pub struct JsonBody(pub Map<String, Value>);

/// True when `e` (or an error it wraps) is the body deadline firing.
fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cur = err.source();
    }
    false
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(ErrorKind::PayloadTooLarge, "request body too large")
            } else if is_body_timeout(&e) {
                ApiError::new(
                    ErrorKind::RequestTimeout,
                    "request body not received in time; send the whole body at once",
                )
            } else {
                ApiError::bad_request(e.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody(Map::new()));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(m)) => Ok(JsonBody(m)),
            Ok(other) => Err(ApiError::bad_request(format!(
                "expected a JSON object, got {}",
                type_name(&other)
            ))),
            Err(e) => Err(ApiError::bad_request(format!("invalid JSON: {e}"))),
        }
    }
}

impl JsonBody {
    /// Deserialises the body into `T` (400 naming the problem).
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        serde_json::from_value(Value::Object(self.0))
            .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A query string parsed into `T`, rejecting with 400 JSON.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Q(q.0))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}
