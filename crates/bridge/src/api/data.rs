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

/// Cross-bot ranking: the registry's best runs, each naming the bot that produced it and its
/// `baseline_ratio` (its CRPS over the reference GBM's on the same prompts; below 1 beats it).
/// With both `asset` and `timeframe` given, runs are ranked by CRPS; otherwise CRPS of
/// different assets and competitions cannot be compared, so runs are ranked by
/// `baseline_ratio` within each asset × timeframe (`rank` counts within that group; runs
/// without a baseline score come last).
async fn ranking(
    State(st): State<AppState>,
    _bot: Bot,
    Q(mut q): Q<HistoryQuery>,
) -> ApiResult<Json<Value>> {
    q.order = Some("best".into());
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1-1000, got {limit}"
        )));
    }
    let by_crps = q.asset.is_some() && q.timeframe.is_some();
    if !by_crps {
        // Read a wide window: the best runs by ratio need not be the best by raw CRPS.
        q.limit = Some(1000);
    }
    let b = st.backend.clone();
    let h = blocking(st.config.request_timeout, None, move || b.history(&q)).await?;
    let mut runs = h["runs"].as_array().cloned().unwrap_or_default();
    let ratio = |r: &Value| r["baseline_ratio"].as_f64().unwrap_or(f64::INFINITY);
    let group = |r: &Value| {
        (
            r["asset"].as_str().unwrap_or("").to_string(),
            r["timeframe"].as_str().unwrap_or("").to_string(),
        )
    };
    if !by_crps {
        runs.sort_by(|a, b| group(a).cmp(&group(b)).then(ratio(a).total_cmp(&ratio(b))));
    }
    let mut ranking: Vec<Value> = Vec::with_capacity(runs.len());
    let mut last_group = None;
    let mut rank = 0;
    for r in runs {
        let g = group(&r);
        if by_crps || last_group.as_ref() != Some(&g) {
            rank = if by_crps { rank } else { 0 };
            last_group = Some(g);
        }
        rank += 1;
        ranking.push(
            json!({"rank": rank, "bot_id": r["bot_id"], "id": r["id"], "crps": r["crps"],
               "baseline_ratio": r["baseline_ratio"], "asset": r["asset"],
               "timeframe": r["timeframe"], "model": r["model"], "created_at": r["created_at"]}),
        );
    }
    if !by_crps {
        // The best of every group first, then the second of each, ...: a limit keeps every group.
        ranking.sort_by(|a, b| {
            a["rank"]
                .as_u64()
                .cmp(&b["rank"].as_u64())
                .then(ratio(a).total_cmp(&ratio(b)))
        });
    }
    ranking.truncate(limit);
    let mut bots: Vec<String> = ranking
        .iter()
        .filter_map(|r| r["bot_id"].as_str().map(str::to_string))
        .collect();
    bots.sort();
    bots.dedup();
    Ok(Json(json!({
        "total": ranking.len(), "bots": bots,
        "ranked_by": if by_crps { "crps" } else { "baseline_ratio per asset and timeframe" },
        "ranking": ranking,
    })))
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

/// Body of `POST /publish`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct PublishBody {
    run_id: String,
    #[serde(default)]
    remote: Option<bool>,
}

async fn publish(State(st): State<AppState>, bot: Bot, body: JsonBody) -> ApiResult<Json<Value>> {
    let id = serde_json::from_value::<PublishBody>(Value::Object(body.0.clone()))
        .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?
        .run_id;
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
