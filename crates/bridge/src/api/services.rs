//! The intelligence services for bots: search (Desearch, SN22), the models Chutes serves (SN64),
//! social data tasks (Data Universe, SN13) and fine-tuning jobs (Gradients, SN56), through the
//! same clients as the CLI. The bridge's own keys pay: a service without its key answers 503
//! `unavailable` naming the variable to set on the bridge's machine; a service failure is 503,
//! bad input 400, an unknown task 404 — never a stack trace.

use std::future::Future;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use services::data_universe::{
    parse_date, DataUniverse, GravitySpec, OnDemandQuery, Platform, SocialStore, TaskKind,
    TaskRecord,
};
use services::desearch::{parse_since, Desearch, SearchQuery, Source};
use services::gradients::{DatasetSource, Gradients, JobSpec, JobStore};
use services::ServiceError;

use super::extract::{Bot, JsonBody, Q};
use super::AppState;
use crate::error::{ApiError, ApiResult};

/// Longest a service call may take (Data Universe answers in 10-60 s).
const SERVICE_TIMEOUT: Duration = Duration::from_secs(200);

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/services/search", post(search))
        .route("/services/models", get(models))
        .route("/services/social", get(social))
        .route("/services/social/tasks", post(social_create))
        .route("/services/social/tasks/{id}", get(social_task))
        .route(
            "/services/gradients/jobs",
            get(gradients_list).post(gradients_submit),
        )
        .route(
            "/services/gradients/jobs/{id}",
            get(gradients_status).delete(gradients_cancel),
        )
}

/// A service failure as an API error.
fn api(e: ServiceError) -> ApiError {
    match e {
        ServiceError::NotConfigured { .. } => ApiError::unavailable(format!(
            "{e} on the bridge's machine, then restart the bridge"
        )),
        ServiceError::Invalid(m) => ApiError::bad_request(m),
        ServiceError::NotFound { .. } => ApiError::not_found(e.to_string()),
        e => ApiError::unavailable(e.to_string()),
    }
}

/// Runs a service call under [`SERVICE_TIMEOUT`].
async fn call<T>(fut: impl Future<Output = Result<T, ServiceError>>) -> ApiResult<T> {
    match tokio::time::timeout(SERVICE_TIMEOUT, fut).await {
        Ok(r) => r.map_err(api),
        Err(_) => Err(ApiError::new(
            crate::error::ErrorKind::Timeout,
            format!(
                "the service gave no answer within {} s",
                SERVICE_TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Body of `POST /services/search`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchBody {
    query: String,
    #[serde(default)]
    sources: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

async fn search(_bot: Bot, body: JsonBody) -> ApiResult<Json<Value>> {
    let b: SearchBody = body.parse()?;
    let mut q = SearchQuery::new(b.query);
    if let Some(s) = b.sources.filter(|s| !s.trim().is_empty()) {
        q.sources = Source::parse_list(&s).map_err(api)?;
    }
    q.since = match b.since.as_deref().map(str::trim) {
        Some("all") => None,
        Some(s) if !s.is_empty() => Some(parse_since(s).map_err(api)?),
        _ => q.since,
    };
    q.limit = b.limit.unwrap_or(20);
    q.check().map_err(api)?;
    let client = Desearch::from_env().map_err(api)?;
    let r = call(client.search(&q)).await?;
    Ok(Json(serde_json::to_value(r).unwrap_or(Value::Null)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsQuery {
    #[serde(default)]
    feature: Option<String>,
}

async fn models(_bot: Bot, Q(q): Q<ModelsQuery>) -> ApiResult<Json<Value>> {
    let client = services::chutes::Chutes::from_env().map_err(api)?;
    let mut list = call(client.models()).await?;
    let rec = services::chutes::recommend(&list);
    if let Some(f) = q.feature.as_deref().filter(|f| !f.trim().is_empty()) {
        list.retain(|m| m.has(f.trim()));
    }
    Ok(Json(json!({"models": list, "recommended": rec})))
}

/// Runs blocking store work off the async threads.
async fn store<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(SocialStore) -> Result<T, ServiceError> + Send + 'static,
) -> ApiResult<T> {
    super::blocking(st.config.request_timeout, None, move || {
        f(SocialStore::open_default()).map_err(|e| ApiError::failed(e.to_string()))
    })
    .await
}

async fn social(State(st): State<AppState>, _bot: Bot) -> ApiResult<Json<Value>> {
    let (tasks, files) = store(&st, |s| {
        let files: Vec<Value> = s
            .files()?
            .iter()
            .map(|f| json!({"file": f.name, "bytes": f.bytes}))
            .collect();
        Ok((s.tasks()?, files))
    })
    .await?;
    Ok(Json(json!({"tasks": tasks, "files": files})))
}

/// Body of `POST /services/social/tasks`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SocialBody {
    #[serde(default)]
    gravity: bool,
    #[serde(default = "x")]
    platform: String,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    usernames: Vec<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    any: bool,
    #[serde(default)]
    name: Option<String>,
}

fn x() -> String {
    "x".into()
}

fn now() -> String {
    services::data_universe::now_rfc3339()
}

async fn social_create(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let b: SocialBody = body.parse()?;
    let platform = Platform::parse(&b.platform).map_err(api)?;
    let date = |s: &Option<String>| s.as_deref().map(parse_date).transpose().map_err(api);
    let (start, end) = (date(&b.from)?, date(&b.to)?);
    if b.gravity {
        let spec = GravitySpec {
            platform,
            topic: b.topic,
            keyword: b.keywords.first().cloned(),
            start,
            end,
            name: b.name,
        };
        spec.check().map_err(api)?;
        let client = DataUniverse::from_env().map_err(api)?;
        let id = call(client.create_gravity(&spec)).await?;
        let rec = TaskRecord {
            id,
            kind: TaskKind::Gravity { spec },
            created_at: now(),
            status: Some(format!("Created by bot {}", bot.id)),
            datasets: vec![],
            files: vec![],
        };
        let r = rec.clone();
        store(&st, move |s| s.save_task(&r)).await?;
        return Ok(Json(json!({"task": rec})));
    }
    if b.topic.is_some() {
        return Err(ApiError::bad_request(
            "topic is for Gravity tasks: set gravity=true, or use keywords",
        ));
    }
    let query = OnDemandQuery {
        platform,
        keywords: b.keywords,
        usernames: b.usernames,
        start,
        end,
        limit: b.limit.unwrap_or(100),
        match_all: !b.any,
    };
    query.check().map_err(api)?;
    let client = DataUniverse::from_env().map_err(api)?;
    let posts = call(client.on_demand(&query)).await?;
    let n = posts.len();
    let rec = store(&st, move |s| s.save_on_demand(query, &posts)).await?;
    Ok(Json(json!({"task": rec, "posts": n})))
}

async fn social_task(
    State(st): State<AppState>,
    _bot: Bot,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let key = id.clone();
    let rec = store(&st, move |s| s.task(&key)).await?;
    if matches!(
        rec.as_ref().map(|r| &r.kind),
        Some(TaskKind::OnDemand { .. })
    ) {
        return Ok(Json(json!({"task": rec, "live": null})));
    }
    let client = DataUniverse::from_env().map_err(api)?;
    let live = call(client.gravity_tasks(Some(&id))).await?;
    let live = live.into_iter().find(|t| t.id == id);
    if rec.is_none() && live.is_none() {
        return Err(ApiError::not_found(format!("no social data task {id}")));
    }
    Ok(Json(json!({"task": rec, "live": live})))
}

/// Body of `POST /services/gradients/jobs`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobBody {
    base_model: String,
    dataset: String,
    #[serde(default = "four")]
    hours: u32,
    #[serde(default)]
    output_name: Option<String>,
}

fn four() -> u32 {
    4
}

/// Runs blocking work on the Gradients jobs file off the async threads.
async fn jobs<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(JobStore) -> Result<T, ServiceError> + Send + 'static,
) -> ApiResult<T> {
    super::blocking(st.config.request_timeout, None, move || {
        f(JobStore::open_default()).map_err(|e| ApiError::failed(e.to_string()))
    })
    .await
}

async fn gradients_list(State(st): State<AppState>, _bot: Bot) -> ApiResult<Json<Value>> {
    let all = jobs(&st, |s| s.jobs()).await?;
    Ok(Json(json!({"jobs": all})))
}

async fn gradients_submit(
    State(st): State<AppState>,
    bot: Bot,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    let b: JobBody = body.parse()?;
    let spec = JobSpec {
        base_model: b.base_model,
        dataset: DatasetSource::parse(&b.dataset).map_err(api)?,
        hours: b.hours,
        output_name: b.output_name,
    };
    spec.check().map_err(api)?;
    let client = Gradients::from_env().map_err(api)?;
    let id = call(client.submit(&spec)).await?;
    let (key, sp, by) = (id.clone(), spec.clone(), format!("bot:{}", bot.id));
    // Submitted (and paid): a job file that cannot be written must not turn that into an error.
    if let Err(e) = jobs(&st, move |s| s.record_submitted(&key, &sp, &by)).await {
        tracing::warn!(task = %id, error = %e.message, "Gradients job not kept");
    }
    Ok(Json(json!({"task_id": id, "spec": spec})))
}

async fn gradients_status(
    State(st): State<AppState>,
    _bot: Bot,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let client = Gradients::from_env().map_err(api)?;
    let t = call(client.task(&id)).await?;
    let task = t.clone();
    if let Err(e) = jobs(&st, move |s| s.record_task(&task)).await {
        tracing::warn!(task = %id, error = %e.message, "Gradients job status not kept");
    }
    Ok(Json(
        json!({"task": t, "done": t.status.is_done(), "failed": t.status.is_failure()}),
    ))
}

async fn gradients_cancel(
    State(st): State<AppState>,
    _bot: Bot,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let client = Gradients::from_env().map_err(api)?;
    call(client.cancel(&id)).await?;
    let key = id.clone();
    if let Err(e) = jobs(&st, move |s| s.record_cancelled(&key)).await {
        tracing::warn!(task = %id, error = %e.message, "Gradients cancellation not kept");
    }
    Ok(Json(json!({"cancelled": id})))
}
