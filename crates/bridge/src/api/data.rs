//! Registry, ranking, market data, publishing and the (read-only) agent catalogue.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::extract::{Bot, JsonBody, Q};
use super::{blocking, AppState};
use crate::backend::HistoryQuery;
use crate::error::{ApiError, ApiResult};
use crate::types::{
    AgentCatalogue, ChampionList, DailyHistory, Fan, Price, PublishRequest, Published, Ranked,
    Ranking, RunList, RunView,
};

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
) -> ApiResult<Json<RunList>> {
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || b.history(&q))
        .await
        .map(Json)
}

async fn record(
    State(st): State<AppState>,
    _bot: Bot,
    Path(id): Path<String>,
) -> ApiResult<Json<RunView>> {
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
) -> ApiResult<Json<Fan>> {
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
) -> ApiResult<Json<ChampionList>> {
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
) -> ApiResult<Json<Ranking>> {
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
    let mut runs = blocking(st.config.request_timeout, None, move || b.history(&q))
        .await?
        .runs;
    let ratio = |r: &RunView| r.baseline_ratio.unwrap_or(f64::INFINITY);
    if !by_crps {
        runs.sort_by(|a, b| {
            (&a.asset, &a.timeframe)
                .cmp(&(&b.asset, &b.timeframe))
                .then(ratio(a).total_cmp(&ratio(b)))
        });
    }
    let mut ranking: Vec<Ranked> = Vec::with_capacity(runs.len());
    let mut last_group = None;
    let mut rank = 0;
    for r in runs {
        let g = (r.asset.clone(), r.timeframe.clone());
        if by_crps || last_group.as_ref() != Some(&g) {
            rank = if by_crps { rank } else { 0 };
            last_group = Some(g);
        }
        rank += 1;
        ranking.push(Ranked {
            rank,
            bot_id: r.bot_id,
            id: r.id,
            crps: r.crps,
            baseline_ratio: r.baseline_ratio,
            asset: r.asset,
            timeframe: r.timeframe,
            model: r.model,
            created_at: r.created_at,
        });
    }
    if !by_crps {
        // The best of every group first, then the second of each, ...: a limit keeps every group.
        let ratio = |r: &Ranked| r.baseline_ratio.unwrap_or(f64::INFINITY);
        ranking.sort_by(|a, b| a.rank.cmp(&b.rank).then(ratio(a).total_cmp(&ratio(b))));
    }
    ranking.truncate(limit);
    let mut bots: Vec<String> = ranking.iter().filter_map(|r| r.bot_id.clone()).collect();
    bots.sort();
    bots.dedup();
    Ok(Json(Ranking {
        total: ranking.len(),
        bots,
        ranked_by: if by_crps {
            "crps"
        } else {
            "baseline_ratio per asset and timeframe"
        }
        .into(),
        ranking,
    }))
}

async fn price(
    State(st): State<AppState>,
    _bot: Bot,
    Path(asset): Path<String>,
) -> ApiResult<Json<Price>> {
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
) -> ApiResult<Json<DailyHistory>> {
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

async fn publish(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<Published>> {
    let req: PublishRequest = body.parse()?;
    check_token("run id", &req.run_id)?;
    let job = st.job(&bot);
    let b = st.backend.clone();
    blocking(st.config.job_timeout, None, move || b.publish(&job, &req))
        .await
        .map(Json)
}

async fn agents(State(st): State<AppState>, _bot: Bot) -> ApiResult<Json<AgentCatalogue>> {
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || b.agents())
        .await
        .map(Json)
}
