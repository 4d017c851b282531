//! A bot's research pipeline: start (queued fairly for a compute slot), status, stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::extract::{Bot, JsonBody};
use super::AppState;
use crate::backend::PipelineRequest;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::sessions::{timestamp, PipelineState, PipelineStatus, Session};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/pipeline/run", post(run))
        .route("/pipeline/status", get(status))
        .route("/pipeline/stop", post(stop))
}

async fn run(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: PipelineRequest = body.parse()?;
    req.check().map_err(ApiError::bad_request)?;
    let session = Arc::clone(bot.guard.session());
    let mut job = st.job(&bot);
    let mut ticket = {
        let mut d = session.lock();
        if d.pipeline.active() {
            return Err(ApiError::conflict(
                "this bot's pipeline is already queued or running; stop it first",
            ));
        }
        let ticket = st.slots.admit(&bot.id)?;
        d.pipeline = PipelineState {
            status: PipelineStatus::Queued,
            request: serde_json::to_value(&req).ok(),
            queued_at: Some(timestamp()),
            ..PipelineState::default()
        };
        d.save()?;
        let cancel = Arc::new(AtomicBool::new(false));
        *session.cancel.lock().unwrap_or_else(|p| p.into_inner()) = Arc::clone(&cancel);
        job.cancel = cancel;
        ticket
    };
    *job.stage.lock().unwrap_or_else(|p| p.into_inner()) = None;
    job.emit("pipeline.queued", json!({"request": req}));
    let backend = st.backend.clone();
    tokio::spawn(async move {
        ticket.run_slot().await;
        if job.cancelled() {
            drop(ticket);
            finish(
                &session,
                &job,
                Err(ApiError::conflict("stopped before it started")),
            );
            return;
        }
        {
            let mut d = session.lock();
            d.pipeline.status = PipelineStatus::Running;
            d.pipeline.started_at = Some(timestamp());
            if let Err(e) = d.save() {
                tracing::warn!("bot {}: {e}", job.bot_id);
            }
        }
        job.emit("pipeline.started", json!({}));
        let j = job.clone();
        let result = tokio::task::spawn_blocking(move || backend.run_pipeline(&j, &req))
            .await
            .unwrap_or_else(|_| Err(ApiError::failed("the pipeline crashed")));
        // Free the slot before the end is visible: whoever sees `completed` may start again.
        drop(ticket);
        finish(&session, &job, result);
    });
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "queued", "bot_id": bot.id,
        "message": "pipeline admitted; GET /pipeline/status or the /events stream shows its progress"})),
    ))
}

/// Records the end of a pipeline (saved before it is visible) and announces it.
fn finish(
    session: &Session,
    job: &crate::backend::Job,
    result: ApiResult<crate::types::PipelineOutcome>,
) {
    let mut d = session.lock();
    d.pipeline.finished_at = Some(timestamp());
    d.pipeline.stage = job.stage.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let event = match result {
        Ok(v) => {
            d.pipeline.status = PipelineStatus::Completed;
            d.pipeline.result = serde_json::to_value(v).ok();
            json!({"status": "completed"})
        }
        Err(e) => {
            d.pipeline.status = if job.cancelled() {
                PipelineStatus::Stopped
            } else {
                PipelineStatus::Failed
            };
            d.pipeline.error = Some(e.message.clone());
            json!({"status": d.pipeline.status, "error": e.message})
        }
    };
    if let Err(e) = d.save() {
        tracing::warn!("bot {}: {e}", job.bot_id);
    }
    // Announced before the lock drops, so whoever sees the new status can find the event.
    job.emit("pipeline.finished", event);
    drop(d);
}

async fn status(bot: Bot) -> Json<Value> {
    let view = bot.guard.session().view();
    let mut p = view["pipeline"].clone();
    p["bot_id"] = json!(bot.id);
    Json(p)
}

async fn stop(bot: Bot) -> ApiResult<(StatusCode, Json<Value>)> {
    let session = bot.guard.session();
    if !session.lock().pipeline.active() {
        return Err(ApiError::new(
            ErrorKind::Conflict,
            "no pipeline is queued or running",
        ));
    }
    session
        .cancel
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .store(true, Ordering::Relaxed);
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"status": "stopping", "bot_id": bot.id})),
    ))
}
