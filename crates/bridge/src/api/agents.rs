//! Agents as data for bots: list the stored agents, prompts and pipelines, write an agent or a
//! prompt fragment as the bot's own. A definition is checked against the tools and prompts that
//! exist and stored with a version and hash; nothing in it is ever run as code.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};

use super::extract::{Bot, JsonBody};
use super::{blocking, AppState};
use crate::error::ApiResult;
use crate::types::{AgentWriteRequest, DefinitionList, DefinitionView, PromptWriteRequest};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/agents/stored", get(stored))
        .route("/agents/write", post(write_agent))
        .route("/agents/prompts/write", post(write_prompt))
}

async fn stored(State(st): State<AppState>, _bot: Bot) -> ApiResult<Json<DefinitionList>> {
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || b.definitions())
        .await
        .map(Json)
}

async fn write_agent(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<DefinitionView>> {
    let req: AgentWriteRequest = body.parse()?;
    let b = st.backend.clone();
    let id = bot.id.clone();
    blocking(st.config.request_timeout, None, move || {
        b.agent_write(&id, &req)
    })
    .await
    .map(Json)
}

async fn write_prompt(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<DefinitionView>> {
    let req: PromptWriteRequest = body.parse()?;
    let b = st.backend.clone();
    let id = bot.id.clone();
    blocking(st.config.request_timeout, None, move || {
        b.prompt_write(&id, &req)
    })
    .await
    .map(Json)
}
