//! The component registry of bots: read a component (a built-in's parameter schema, or a user
//! component's definition), write one (checked, versioned, owned by the bot), reload.
//! Definitions are data: parsed and checked, never compiled or run as native code.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{Bot, JsonBody, Q};
use super::{blocking, AppState};
use crate::backend::RegistryRead;
use crate::error::ApiResult;
use crate::types::{ComponentCatalogue, ComponentView, RegistryWriteRequest};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/registry/read", get(read))
        .route("/registry/write", post(write))
        .route("/registry/reload", post(reload))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NameQuery {
    name: Option<String>,
}

async fn read(
    State(st): State<AppState>,
    bot: Bot,
    Q(q): Q<NameQuery>,
) -> ApiResult<Json<RegistryRead>> {
    let b = st.backend.clone();
    let id = bot.id.clone();
    blocking(st.config.request_timeout, None, move || {
        b.registry_read(&id, q.name.as_deref())
    })
    .await
    .map(Json)
}

async fn write(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<ComponentView>> {
    let req: RegistryWriteRequest = body.parse()?;
    let b = st.backend.clone();
    let id = bot.id.clone();
    blocking(st.config.request_timeout, None, move || {
        b.registry_write(&id, &req)
    })
    .await
    .map(Json)
}

/// Components are read from the registry on every use, so a reload only answers what the bot
/// may use now.
async fn reload(State(st): State<AppState>, bot: Bot) -> ApiResult<Json<ComponentCatalogue>> {
    let b = st.backend.clone();
    let id = bot.id.clone();
    let all = blocking(st.config.request_timeout, None, move || {
        b.registry_read(&id, None)
    })
    .await?;
    match all {
        RegistryRead::All(mut c) => {
            c.note = "components are read from the registry on every use: nothing was cached, \
                      these are the ones you may use now"
                .into();
            Ok(Json(c))
        }
        RegistryRead::One(_) => Err(crate::error::ApiError::failed("unexpected answer")),
    }
}
