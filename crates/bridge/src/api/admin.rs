//! Admin endpoints: bot keys and sessions of every bot.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Admin, JsonBody};
use super::AppState;
use crate::error::{ApiError, ApiResult};
use crate::keys::KeyError;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/bots", get(list_bots).post(create_bot))
        .route("/admin/bots/{id}", delete(revoke_bot))
        .route("/admin/sessions", get(list_sessions))
        .route(
            "/admin/sessions/{id}",
            get(get_session).delete(unload_session),
        )
}

fn key_error(e: KeyError) -> ApiError {
    match e {
        KeyError::InvalidBotId(_) => ApiError::bad_request(e.to_string()),
        KeyError::Exists(_) => ApiError::conflict(e.to_string()),
        KeyError::Unknown(_) => ApiError::not_found(e.to_string()),
        KeyError::Db { .. } | KeyError::Random(_) => ApiError::failed(e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBot {
    bot_id: String,
}

async fn create_bot(
    State(st): State<AppState>,
    _: Admin,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let req: CreateBot = body.parse()?;
    let key = st.keys.create(&req.bot_id).map_err(key_error)?;
    st.events
        .publish(None, "bot.created", json!({"bot_id": req.bot_id}));
    Ok((
        StatusCode::CREATED,
        Json(json!({"bot_id": req.bot_id, "api_key": key,
                    "note": "store this key now: it is shown once and only its hash is kept"})),
    ))
}

async fn list_bots(State(st): State<AppState>, _: Admin) -> ApiResult<Json<Value>> {
    let bots = st.keys.list().map_err(key_error)?;
    Ok(Json(json!({"total": bots.len(), "bots": bots})))
}

async fn revoke_bot(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    st.keys.revoke(&id).map_err(key_error)?;
    st.events
        .publish(None, "bot.revoked", json!({"bot_id": id}));
    Ok(Json(json!({"status": "revoked", "bot_id": id})))
}

async fn list_sessions(State(st): State<AppState>, _: Admin) -> Json<Value> {
    let sessions: Vec<Value> = st.sessions.all().iter().map(|s| s.view()).collect();
    Json(json!({"total": sessions.len(), "sessions": sessions}))
}

async fn get_session(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let s = st
        .sessions
        .get(&id)
        .ok_or_else(|| ApiError::not_found(format!("no session in memory for bot {id:?}")))?;
    Ok(Json(s.view()))
}

async fn unload_session(
    State(st): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    st.sessions.unload(&id)?;
    Ok(Json(json!({"status": "unloaded", "bot_id": id,
                   "note": "its saved state and workspace stay on disk and come back on its next request"})))
}
