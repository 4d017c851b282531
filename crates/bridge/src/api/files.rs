//! A bot's workspace files: list, read, write, delete — never outside its own directory.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Bot, JsonBody, Q};
use super::{blocking, AppState};
use crate::error::{ApiError, ApiResult};
use crate::workspace;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/workspace/files", get(list))
        .route("/workspace/file", get(read).put(write).delete(delete))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PathQuery {
    path: String,
}

/// Body of `PUT /workspace/file`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WriteBody {
    content: String,
}

async fn list(State(st): State<AppState>, bot: Bot) -> ApiResult<Json<Value>> {
    let root = bot.guard.session().workspace().to_path_buf();
    let files = blocking(st.config.request_timeout, None, move || {
        workspace::list(&root)
    })
    .await?;
    Ok(Json(
        json!({"bot_id": bot.id, "total": files.len(), "files": files}),
    ))
}

async fn read(State(st): State<AppState>, bot: Bot, Q(q): Q<PathQuery>) -> ApiResult<Json<Value>> {
    let root = bot.guard.session().workspace().to_path_buf();
    let path = q.path.clone();
    let content = blocking(st.config.request_timeout, None, move || {
        workspace::read(&root, &path)
    })
    .await?;
    Ok(Json(json!({"path": q.path, "content": content})))
}

async fn write(
    State(st): State<AppState>,
    bot: Bot,
    Q(q): Q<PathQuery>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let content = match body.parse::<WriteBody>() {
        Ok(b) => b.content,
        Err(e) => {
            return Err(ApiError::bad_request(format!(
                "body must be {{\"content\": \"<text>\"}}: {}",
                e.message
            )))
        }
    };
    let root = bot.guard.session().workspace().to_path_buf();
    let path = q.path.clone();
    let quota = st.config.workspace_quota;
    let bytes = blocking(st.config.request_timeout, None, move || {
        workspace::write(&root, &path, content.as_bytes(), &quota)
    })
    .await?;
    Ok(Json(
        json!({"status": "written", "path": q.path, "bytes": bytes}),
    ))
}

async fn delete(
    State(st): State<AppState>,
    bot: Bot,
    Q(q): Q<PathQuery>,
) -> ApiResult<Json<Value>> {
    let root = bot.guard.session().workspace().to_path_buf();
    let path = q.path.clone();
    blocking(st.config.request_timeout, None, move || {
        workspace::delete(&root, &path)
    })
    .await?;
    Ok(Json(json!({"status": "deleted", "path": q.path})))
}
