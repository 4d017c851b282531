//! The Gradients client against an axum stub on 127.0.0.1 speaking the documented REST
//! protocol: Bearer key, a task whose status walks the lifecycle, paging of an account's tasks,
//! `{detail}` errors, 429 with `Retry-After`, a submit that is never sent twice, slow answers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};
use services::gradients::{DatasetSource, Gradients, JobSpec, TaskStatus};
use services::{Secret, ServiceError};

use crate::stub::{fast, serve};

const KEY: &str = "grad_test_key_7";
const LIFECYCLE: &[&str] = &[
    "pending",
    "preparing_data",
    "looking_for_nodes",
    "training",
    "evaluating",
    "success",
];

#[derive(Default)]
struct Stub {
    submitted: Mutex<Vec<(String, Value)>>,
    polls: AtomicU32,
    deleted: Mutex<Vec<String>>,
    submit_status: Mutex<Option<u16>>,
}

type S = Arc<Stub>;

fn denied(h: &HeaderMap) -> Option<Response> {
    let ok = h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"));
    (!ok).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Invalid API key"})),
        )
            .into_response()
    })
}

async fn create(
    State(s): State<S>,
    Path(kind): Path<String>,
    h: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = denied(&h) {
        return r;
    }
    s.submitted.lock().unwrap().push((kind, body));
    if let Some(code) = *s.submit_status.lock().unwrap() {
        return (
            StatusCode::from_u16(code).unwrap(),
            Json(json!({"detail": "insufficient balance"})),
        )
            .into_response();
    }
    Json(json!({"success": true, "task_id": "3f2a-77", "created_at": "2026-12-06T10:00:00Z", "account_id": "acc-1"}))
        .into_response()
}

async fn task(State(s): State<S>, Path(id): Path<String>, h: HeaderMap) -> Response {
    if let Some(r) = denied(&h) {
        return r;
    }
    if id != "3f2a-77" {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"detail": "Task not found"})),
        )
            .into_response();
    }
    let n = s.polls.fetch_add(1, Ordering::SeqCst) as usize;
    if n == 1 {
        let mut hd = HeaderMap::new();
        hd.insert("retry-after", "1".parse().unwrap());
        return (StatusCode::TOO_MANY_REQUESTS, hd, "rate limited").into_response();
    }
    let status = LIFECYCLE[n.min(LIFECYCLE.len() - 1)];
    let done = status == "success";
    Json(json!({"id": id, "account_id": "acc-1", "status": status, "task_type": "ChatTask",
        "base_model_repository": "Qwen/Qwen2.5-7B-Instruct", "ds_repo": "me/plans",
        "hours_to_complete": 4, "result_model_name": "planner-v1",
        "trained_model_repository": if done { json!("gradients-io/planner-v1") } else { Value::Null },
        "created_at": "2026-12-06T10:00:00Z", "extra": {"x": 1}}))
    .into_response()
}

async fn remove(State(s): State<S>, Path(id): Path<String>, h: HeaderMap) -> Response {
    if let Some(r) = denied(&h) {
        return r;
    }
    s.deleted.lock().unwrap().push(id);
    Json(json!({"success": true})).into_response()
}

async fn account(
    Query(q): Query<std::collections::HashMap<String, String>>,
    h: HeaderMap,
) -> Response {
    if let Some(r) = denied(&h) {
        return r;
    }
    let limit: usize = q["limit"].parse().unwrap();
    let page: usize = q["page"].parse().unwrap();
    // 230 tasks: pages of 100, 100, 30.
    let from = (page - 1) * limit;
    let items: Vec<Value> = (from..(from + limit).min(230))
        .map(|i| json!({"task_id": format!("t{i}"), "status": "success"}))
        .collect();
    Json(items).into_response()
}

async fn start() -> (S, Gradients) {
    let s: S = Arc::default();
    let app = Router::new()
        .route("/v1/tasks/{id}", get(task).post(create))
        .route("/v1/tasks/delete/{id}", delete(remove))
        .route("/v1/tasks/account/{acc}", get(account))
        .with_state(s.clone());
    let base = serve(app).await;
    let c = Gradients::new(
        base,
        Secret::new(KEY),
        services::http::HttpSettings {
            max_backoff: Duration::from_secs(2),
            ..fast(Default::default())
        },
    )
    .unwrap();
    (s, c)
}

fn spec() -> JobSpec {
    JobSpec {
        base_model: "Qwen/Qwen2.5-7B-Instruct".into(),
        dataset: DatasetSource::parse("me/plans").unwrap(),
        hours: 4,
        output_name: Some("planner-v1".into()),
    }
}

#[tokio::test]
async fn a_job_is_submitted_watched_to_success_and_cancelled() {
    let (s, c) = start().await;
    let id = c.submit(&spec()).await.unwrap();
    assert_eq!(id, "3f2a-77");
    let (kind, body) = s.submitted.lock().unwrap()[0].clone();
    assert_eq!(kind, "create_chat");
    assert_eq!(body["model_repo"], "Qwen/Qwen2.5-7B-Instruct");
    assert_eq!(body["ds_repo"], "me/plans");
    assert_eq!(body["hours_to_complete"], 4);
    assert_eq!(body["result_model_name"], "planner-v1");
    assert_eq!(body["chat_role_field"], "role");

    let mut seen = Vec::new();
    let t0 = std::time::Instant::now();
    loop {
        let t = c.task(&id).await.unwrap();
        seen.push(t.status.clone());
        if t.status.is_done() {
            assert_eq!(t.status, TaskStatus::Success);
            assert_eq!(
                t.trained_model_repository.as_deref(),
                Some("gradients-io/planner-v1")
            );
            break;
        }
        assert!(t.trained_model_repository.is_none());
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(seen.first(), Some(&TaskStatus::Pending));
    assert_eq!(
        seen.len(),
        LIFECYCLE.len() - 1,
        "one poll was a 429: {seen:?}"
    );
    let steps: Vec<u64> = seen.iter().map(|s| s.step().0).collect();
    assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");

    c.cancel(&id).await.unwrap();
    assert_eq!(*s.deleted.lock().unwrap(), vec!["3f2a-77".to_string()]);

    // A URL dataset goes to the custom-dataset route.
    let mut sp = spec();
    sp.dataset =
        DatasetSource::parse("https://hf.example/me/plans/resolve/main/train.jsonl").unwrap();
    c.submit(&sp).await.unwrap();
    let (kind, body) = s.submitted.lock().unwrap()[1].clone();
    assert_eq!(kind, "create_custom_dataset_chat");
    assert!(body["training_data"]
        .as_str()
        .unwrap()
        .ends_with("train.jsonl"));
}

#[tokio::test]
async fn an_account_is_listed_page_by_page() {
    let (_, c) = start().await;
    let all = c.tasks("acc-1").await.unwrap();
    assert_eq!(all.len(), 230);
    assert_eq!(all[229].task_id.as_deref(), Some("t229"));
    assert!(
        c.tasks("../admin").await.is_err(),
        "ids stay one path segment"
    );
}

#[tokio::test]
async fn errors_are_worded_and_a_submit_is_not_repeated() {
    let (s, c) = start().await;
    let err = c.task("nope").await.unwrap_err();
    assert!(matches!(err, ServiceError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("Task not found"));

    *s.submit_status.lock().unwrap() = Some(500);
    let err = c.submit(&spec()).await.unwrap_err();
    assert!(matches!(err, ServiceError::Http { status: 500, .. }));
    assert_eq!(
        s.submitted.lock().unwrap().len(),
        1,
        "a paid submit is sent once"
    );
    *s.submit_status.lock().unwrap() = Some(422);
    let err = c.submit(&spec()).await.unwrap_err();
    assert!(err.to_string().contains("insufficient balance"), "{err}");

    let wrong = Gradients::new(
        c_base(&c),
        Secret::new("bad-key-value"),
        fast(Default::default()),
    )
    .unwrap();
    let err = wrong.task("3f2a-77").await.unwrap_err();
    assert!(matches!(err, ServiceError::Auth { status: 401, .. }));
    assert!(!err.to_string().contains("bad-key-value"));

    let mut bad = spec();
    bad.hours = 0;
    assert!(matches!(
        c.submit(&bad).await,
        Err(ServiceError::Invalid(_))
    ));

    let slow = Router::new().route(
        "/v1/tasks/{id}",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "{}"
        }),
    );
    let c = Gradients::new(
        serve(slow).await,
        Secret::new(KEY),
        services::http::HttpSettings {
            timeout: Duration::from_millis(300),
            max_retries: 0,
            ..fast(Default::default())
        },
    )
    .unwrap();
    let err = c.task("3f2a-77").await.unwrap_err();
    assert!(matches!(err, ServiceError::Transport { .. }), "{err:?}");
}

fn c_base(c: &Gradients) -> String {
    c.base_url().to_string()
}

#[tokio::test]
async fn a_training_set_goes_to_a_hub_dataset_repository() {
    use services::gradients::upload_dataset;
    use services::hf::{HubClient, HubConfig, RepoId};
    let (base, st) = crate::hub_stub::start("hf_good").await;
    let hub = HubClient::with_settings(
        &HubConfig {
            endpoint: base.clone(),
            token: Some(Secret::new("hf_good")),
            default_repo: None,
        },
        fast(Default::default()),
    )
    .unwrap();
    let repo = RepoId::parse("me/planner-set").unwrap();
    let rows = b"{\"messages\":[{\"role\":\"user\",\"content\":\"plan\"},{\"role\":\"assistant\",\"content\":\"{}\"}]}\n".repeat(3);
    let up = upload_dataset(&hub, &repo, "train.jsonl", rows.clone(), false)
        .await
        .unwrap();
    assert_eq!(up.rows, 3);
    assert_eq!(up.repo, "me/planner-set");
    assert_eq!(
        up.url,
        format!("{base}/datasets/me/planner-set/resolve/main/train.jsonl")
    );
    {
        let s = st.lock().unwrap();
        assert!(s.repos.contains("datasets/me/planner-set"), "{:?}", s.repos);
        assert!(
            !s.repos.contains("me/planner-set"),
            "not a model repository"
        );
    }
    // The URL a Gradients task trains on serves the rows, without a token.
    let got = reqwest::get(&up.url).await.unwrap().bytes().await.unwrap();
    assert_eq!(&got[..], &rows[..]);
    // Bad rows: nothing created, nothing committed.
    let err = upload_dataset(&hub, &repo, "bad.jsonl", b"{}".to_vec(), false)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)), "{err}");
    assert_eq!(st.lock().unwrap().commits, 1);
}
