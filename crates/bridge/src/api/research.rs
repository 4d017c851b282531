//! Research endpoints of a bot: components, experiments, sweeps, its session and comparisons.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::extract::{Bot, JsonBody};
use super::{blocking, AppState};
use crate::error::{ApiError, ApiResult};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/components/blocks", get(blocks))
        .route("/components/heads", get(heads))
        .route("/components/presets", get(presets))
        .route("/experiments/create", post(create))
        .route("/experiments/validate", post(validate))
        .route("/experiments/run", post(run))
        .route("/experiments/sweep", post(sweep))
        .route("/experiments/compare", get(compare))
        .route("/session", get(session))
        .route("/session/summary", get(summary))
}

macro_rules! catalog {
    ($name:ident) => {
        async fn $name(State(st): State<AppState>, _bot: Bot) -> ApiResult<Json<Value>> {
            let b = st.backend.clone();
            blocking(st.config.request_timeout, None, move || b.$name())
                .await
                .map(Json)
        }
    };
}
catalog!(blocks);
catalog!(heads);
catalog!(presets);

/// The `experiment` field: an object, or a JSON string holding one.
fn experiment_field(body: &JsonBody) -> ApiResult<Value> {
    match body.0.get("experiment") {
        Some(Value::Object(o)) => Ok(Value::Object(o.clone())),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                ApiError::bad_request("experiment is a string that is not a JSON object")
            }),
        Some(_) => Err(ApiError::bad_request("experiment must be a JSON object")),
        None => Err(ApiError::bad_request("missing field experiment")),
    }
}

async fn create(State(st): State<AppState>, _bot: Bot, body: JsonBody) -> ApiResult<Json<Value>> {
    let b = st.backend.clone();
    let params = Value::Object(body.0);
    blocking(st.config.request_timeout, None, move || {
        b.create_experiment(&params)
    })
    .await
    .map(Json)
}

async fn validate(State(st): State<AppState>, _bot: Bot, body: JsonBody) -> ApiResult<Json<Value>> {
    let spec = experiment_field(&body)?;
    let b = st.backend.clone();
    blocking(st.config.request_timeout, None, move || {
        b.validate_experiment(&spec)
    })
    .await
    .map(Json)
}

/// Runs `f` as a compute job of `bot`: admitted (or 429), queued fairly for a slot, then run
/// on a blocking thread, all within the job deadline.
async fn run_job(
    st: &AppState,
    bot: &Bot,
    f: impl FnOnce(&crate::backend::Job) -> ApiResult<Value> + Send + 'static,
) -> ApiResult<Value> {
    let mut ticket = st.slots.admit(&bot.id)?;
    let job = st.job(bot);
    let cancel = job.cancel.clone();
    let timeout = st.config.job_timeout;
    let result = tokio::time::timeout(timeout, async {
        ticket.run_slot().await;
        blocking(timeout, Some(cancel.clone()), move || f(&job)).await
    })
    .await;
    drop(ticket);
    result.map_err(|_| {
        cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        ApiError::new(
            crate::ErrorKind::Timeout,
            format!("not finished within {} s", timeout.as_secs()),
        )
    })?
}

async fn run(State(st): State<AppState>, bot: Bot, body: JsonBody) -> ApiResult<Json<Value>> {
    let spec = experiment_field(&body)?;
    let b = st.backend.clone();
    let result = run_job(&st, &bot, move |job| b.run_experiment(job, &spec)).await?;
    let mut s = bot.guard.session().lock();
    s.experiments.push(result.clone());
    s.save()?;
    Ok(Json(result))
}

async fn sweep(State(st): State<AppState>, bot: Bot, body: JsonBody) -> ApiResult<Json<Value>> {
    let b = st.backend.clone();
    let body = Value::Object(body.0);
    let result = run_job(&st, &bot, move |job| b.sweep(job, &body)).await?;
    let mut s = bot.guard.session().lock();
    if let Some(runs) = result["results"].as_array() {
        s.experiments.extend(runs.iter().cloned());
    }
    s.save()?;
    Ok(Json(result))
}

fn crps(v: &Value) -> f64 {
    v["crps"].as_f64().unwrap_or(f64::INFINITY)
}

async fn compare(bot: Bot) -> Json<Value> {
    let mut ranking = bot.guard.session().lock().experiments.clone();
    ranking.sort_by(|a, b| crps(a).total_cmp(&crps(b)));
    Json(json!({"bot_id": bot.id, "total": ranking.len(), "ranking": ranking}))
}

async fn session(bot: Bot) -> Json<Value> {
    Json(bot.guard.session().view())
}

async fn summary(bot: Bot) -> Json<Value> {
    let s = bot.guard.session().lock();
    Json(
        json!({"bot_id": bot.id, "num_experiments": s.experiments.len(), "results": s.experiments}),
    )
}

pub(super) async fn session_clear(bot: Bot) -> ApiResult<Json<Value>> {
    let mut s = bot.guard.session().lock();
    let removed = s.experiments.len();
    s.experiments.clear();
    s.save()?;
    Ok(Json(
        json!({"status": "session cleared", "removed": removed,
                   "note": "results stay in the registry (/history)"}),
    ))
}

pub(super) async fn me(bot: Bot) -> Json<Value> {
    Json(json!({"bot_id": bot.id, "session": bot.guard.session().view()}))
}
