//! Research endpoints of a bot: components, experiments, sweeps, its session and comparisons.

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::extract::{Bot, JsonBody};
use super::{blocking, AppState};
use crate::error::{ApiError, ApiResult};
use crate::limits::{self, ModelSize};
use crate::types::{
    BlockList, CreateRequest, CreatedExperiment, ExperimentRequest, HeadList, PresetList, RunView,
    SweepOutcome, SweepRequest, ValidationReport,
};

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
    ($name:ident, $ty:ty) => {
        async fn $name(State(st): State<AppState>, _bot: Bot) -> ApiResult<Json<$ty>> {
            let b = st.backend.clone();
            blocking(st.config.request_timeout, None, move || b.$name())
                .await
                .map(Json)
        }
    };
}
catalog!(blocks, BlockList);
catalog!(heads, HeadList);
catalog!(presets, PresetList);

/// The `experiment` field: an object, or a JSON string holding one.
fn experiment_field(body: JsonBody) -> ApiResult<Value> {
    match body.parse::<ExperimentRequest>()?.experiment {
        Value::Object(o) => Ok(Value::Object(o)),
        Value::String(s) => serde_json::from_str::<Value>(&s)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                ApiError::bad_request("experiment is a string that is not a JSON object")
            }),
        _ => Err(ApiError::bad_request("experiment must be a JSON object")),
    }
}

/// `experiment` with the user components it names resolved for `bot` (definitions embedded).
async fn resolved(st: &AppState, bot: &Bot, experiment: Value) -> ApiResult<Value> {
    let b = st.backend.clone();
    let id = bot.id.clone();
    blocking(st.config.request_timeout, None, move || {
        b.resolve_components(&id, &experiment)
    })
    .await
}

/// The size of `experiment`'s model, from its spec (nothing is built).
async fn model_size(st: &AppState, experiment: &Value) -> ApiResult<Option<ModelSize>> {
    let b = st.backend.clone();
    let e = experiment.clone();
    blocking(st.config.request_timeout, None, move || b.estimate(&e)).await
}

async fn create(
    State(st): State<AppState>,
    _bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<CreatedExperiment>> {
    let params: CreateRequest = body.parse()?;
    let b = st.backend.clone();
    let mut out = blocking(st.config.request_timeout, None, move || {
        b.create_experiment(&params)
    })
    .await?;
    if let Some(size) = model_size(&st, &out.experiment).await? {
        limits::check(&st.config.model_limits, size)?;
        out.estimate = Some(size.into());
    }
    Ok(Json(out))
}

async fn validate(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<ValidationReport>> {
    let spec = resolved(&st, &bot, experiment_field(body)?).await?;
    let size = model_size(&st, &spec).await?;
    if let Some(size) = size {
        limits::check(&st.config.model_limits, size)?;
    }
    let b = st.backend.clone();
    let mut out = blocking(st.config.request_timeout, None, move || {
        b.validate_experiment(&spec)
    })
    .await?;
    out.estimate = size.map(Into::into);
    Ok(Json(out))
}

/// Runs `f` as a compute job of `bot`: admitted (or 429), queued fairly for a slot, then run
/// on a blocking thread, all within the job deadline.
async fn run_job<T: Send + 'static>(
    st: &AppState,
    bot: &Bot,
    f: impl FnOnce(&crate::backend::Job) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
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

/// A result as the session keeps it.
fn kept(run: &RunView) -> Value {
    serde_json::to_value(run).unwrap_or(Value::Null)
}

async fn run(State(st): State<AppState>, bot: Bot, body: JsonBody) -> ApiResult<Json<RunView>> {
    let spec = resolved(&st, &bot, experiment_field(body)?).await?;
    // Held until the run ends: the model's memory counts against the bot's and the global cap.
    let _reserved = match model_size(&st, &spec).await? {
        Some(size) => Some(st.models.reserve(&st.config.model_limits, &bot.id, size)?),
        None => None,
    };
    let b = st.backend.clone();
    let result = run_job(&st, &bot, move |job| b.run_experiment(job, &spec)).await?;
    let mut s = bot.guard.session().lock();
    s.experiments.push(kept(&result));
    s.save()?;
    Ok(Json(result))
}

async fn sweep(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<SweepOutcome>> {
    let req: SweepRequest = body.parse()?;
    let b = st.backend.clone();
    let result = run_job(&st, &bot, move |job| b.sweep(job, &req)).await?;
    let mut s = bot.guard.session().lock();
    s.experiments.extend(result.results.iter().map(kept));
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
