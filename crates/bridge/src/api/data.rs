//! Registry, ranking, market data, publishing and the (read-only) agent catalogue.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::extract::{Bot, JsonBody, Q};
use super::{blocking, AppState};
use crate::backend::HistoryQuery;
use crate::error::{ApiError, ApiResult};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/history", get(history))
        .route("/history/{id}", get(record))
        .route("/history/{id}/fan", get(fan))
        .route("/champion", get(champion))
        .route("/ranking", get(ranking))
        .route("/experiments/compare/all", get(ranking))
        .route("/market/price/{asset}", get(price))
        .route("/market/history/{asset}", get(market_history))
        .route("/publish", post(publish))
        .route("/agents", get(agents))
}

fn check_token(what: &str, v: &str) -> ApiResult<()> {
    if v.is_empty()
        || v.len() > 64
        || !v
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
    {
        return Err(ApiError::bad_request(format!("invalid {what} {v:?}")));
    }
    Ok(())
}

async fn history(
    State(st): State<AppState>,
    _bot: Bot,
    Q(q): Q<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || b.history(&q))
        .await
        .map(Json)
}

async fn record(
    State(st): State<AppState>,
    _bot: Bot,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    check_token("run id", &id)?;
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || b.run_record(&id))
        .await
        .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FanQuery {
    asset: Option<String>,
}

/// Fan-chart data of a run (readable by every bot, like the run itself).
async fn fan(
    State(st): State<AppState>,
    _bot: Bot,
    Path(id): Path<String>,
    Q(q): Q<FanQuery>,
) -> ApiResult<Json<Value>> {
    check_token("run id", &id)?;
    if let Some(a) = &q.asset {
        check_token("asset", a)?;
    }
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || {
        b.run_fan(&id, q.asset.as_deref())
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChampionQuery {
    asset: Option<String>,
    timeframe: Option<String>,
}

async fn champion(
    State(st): State<AppState>,
    _bot: Bot,
    Q(q): Q<ChampionQuery>,
) -> ApiResult<Json<Value>> {
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || {
        b.champion(q.asset.as_deref(), q.timeframe.as_deref())
    })
    .await
    .map(Json)
}

/// Cross-bot ranking: the registry's best runs, each naming the bot that produced it.
async fn ranking(
    State(st): State<AppState>,
    _bot: Bot,
    Q(mut q): Q<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    q.order = Some("best".into());
    let b = st.backend.clone();
    let h = blocking(st.config.request_timeout, None, move || b.history(&q)).await?;
    let runs = h["runs"].as_array().cloned().unwrap_or_default();
    let mut bots: Vec<String> = runs
        .iter()
        .filter_map(|r| r["bot_id"].as_str().map(str::to_string))
        .collect();
    bots.sort();
    bots.dedup();
    let ranking: Vec<Value> = runs
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            json!({"rank": i + 1, "bot_id": r["bot_id"], "id": r["id"], "crps": r["crps"], "asset": r["asset"],
                   "timeframe": r["timeframe"], "model": r["model"], "created_at": r["created_at"]})
        })
        .collect();
    Ok(Json(
        json!({"total": ranking.len(), "bots": bots, "ranking": ranking}),
    ))
}

async fn price(
    State(st): State<AppState>,
    _bot: Bot,
    Path(asset): Path<String>,
) -> ApiResult<Json<Value>> {
    check_token("asset", &asset)?;
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || {
        b.market_price(&asset)
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DaysQuery {
    days: Option<u32>,
}

async fn market_history(
    State(st): State<AppState>,
    _bot: Bot,
    Path(asset): Path<String>,
    Q(q): Q<DaysQuery>,
) -> ApiResult<Json<Value>> {
    check_token("asset", &asset)?;
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::bad_request(format!(
            "days must be 1-365, got {days}"
        )));
    }
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || {
        b.market_history(&asset, days)
    })
    .await
    .map(Json)
}

async fn publish(State(st): State<AppState>, bot: Bot, body: JsonBody) -> ApiResult<Json<Value>> {
    let id = body
        .0
        .get("run_id")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| ApiError::bad_request("missing field run_id"))?;
    check_token("run id", &id)?;
    let options = Value::Object(body.0);
    let job = st.job(&bot);
    let b = st.backend.clone();
    blocking(st.config.job_timeout, None, move || {
        b.publish(&job, &id, &options)
    })
    .await
    .map(Json)
}

async fn agents(State(st): State<AppState>, _bot: Bot) -> ApiResult<Json<Value>> {
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || b.agents())
        .await
        .map(Json)
}
