//! The HTTP API: shared state, the router and a helper that runs backend calls on blocking
//! threads under a deadline.

mod admin;
mod agents;
mod data;
mod events;
pub mod extract;
mod files;
mod pipeline;
mod registry;
mod research;
mod services;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderValue};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tower_http::timeout::RequestBodyDeadlineLayer;

use crate::backend::{Backend, Job};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::events::EventBus;
use crate::keys::KeyStore;
use crate::server::BridgeConfig;
use crate::sessions::Sessions;
use crate::slots::Slots;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The engine.
    pub backend: Arc<dyn Backend>,
    /// Bot keys.
    pub keys: Arc<KeyStore>,
    /// Sessions in memory.
    pub sessions: Arc<Sessions>,
    /// Compute slots.
    pub slots: Arc<Slots>,
    /// Event bus.
    pub events: EventBus,
    /// Settings.
    pub config: Arc<BridgeConfig>,
    /// True when the listener is bound to a loopback address.
    pub loopback: bool,
    /// Memory reserved by running models, per bot.
    pub models: Arc<crate::limits::ModelBudget>,
}

impl AppState {
    /// Open mode: no admin key, no active bot key, and listening on loopback only.
    pub fn open_mode(&self) -> ApiResult<bool> {
        if !self.loopback || self.config.admin_key.is_some() {
            return Ok(false);
        }
        Ok(self
            .keys
            .active_count()
            .map_err(|e| ApiError::failed(e.to_string()))?
            == 0)
    }

    /// A job for `bot` in its workspace with a fresh stop flag.
    pub fn job(&self, bot: &extract::Bot) -> Job {
        Job {
            bot_id: bot.id.clone(),
            workspace: bot.guard.session().workspace().to_path_buf(),
            cancel: Arc::new(AtomicBool::new(false)),
            events: self.events.clone(),
            stage: bot.guard.session().live_stage.clone(),
            max_model_bytes: self.config.model_limits.per_bot_bytes,
        }
    }
}

/// Runs `f` on a blocking thread; past `timeout` answers 504 and raises `cancel`.
pub async fn blocking<T: Send + 'static>(
    timeout: Duration,
    cancel: Option<Arc<AtomicBool>>,
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(f)).await {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(ApiError::failed("the operation crashed")),
        Err(_) => {
            if let Some(c) = cancel {
                c.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            Err(ApiError::new(
                ErrorKind::Timeout,
                format!("no answer within {} s", timeout.as_secs()),
            ))
        }
    }
}

async fn health(
    axum::extract::State(st): axum::extract::State<AppState>,
) -> ApiResult<Json<Value>> {
    let open = st.open_mode()?;
    let limits = st.slots.limits();
    Ok(Json(json!({
        "status": "ok",
        "service": "synth-city-bridge",
        "version": env!("CARGO_PKG_VERSION"),
        "backend": st.backend.describe(),
        "auth": if open { "open (no keys configured; loopback only)" } else { "api keys" },
        "active_sessions": st.sessions.len(),
        "jobs": {"running": st.slots.running(), "admitted": st.slots.admitted(),
                 "max_running": limits.max_running, "max_queued": limits.max_queued, "per_bot": limits.per_bot},
    })))
}

async fn dashboard() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Html(include_str!("../dashboard.html")),
    )
}

async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found(format!("no endpoint {}; see /openapi.json", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorKind::MethodNotAllowed,
        "method not allowed on this path; see /openapi.json",
    )
}

/// The whole router over `state`.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    let body_timeout = state.config.body_timeout;
    Router::new()
        .route("/", get(dashboard))
        .route("/health", get(health))
        .route("/openapi.json", get(openapi))
        .merge(admin::routes())
        .merge(research::routes())
        .merge(pipeline::routes())
        .merge(data::routes())
        .merge(files::routes())
        .merge(events::routes())
        .merge(services::routes())
        .merge(registry::routes())
        .merge(agents::routes())
        .route("/me", get(research::me))
        .route("/session/clear", post(research::session_clear))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyDeadlineLayer::new(body_timeout))
        .with_state(state)
}
