//! The Data Universe client against an axum stub on 127.0.0.1 speaking the documented
//! Connect-style protocol: `POST /{package.Service}/{Method}`, Bearer key, camelCase Gravity
//! fields, integers as strings, 464 when the miners are busy, 429 with `Retry-After`, slow
//! answers; dataset files served as Parquet and kept in the social store.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use services::data_universe::{
    summarize, DataUniverse, GravitySpec, OnDemandQuery, Platform, SocialStore, TaskKind,
    TaskRecord,
};
use services::{Secret, ServiceError};

use crate::stub::{fast, serve};

const KEY: &str = "mc_test_key_42";

#[derive(Default)]
struct Stub {
    base: Mutex<String>,
    calls: Mutex<Vec<(String, Value)>>,
    polls: AtomicU32,
    dataset_polls: AtomicU32,
    on_demand: AtomicU32,
}

type S = Arc<Stub>;

fn authorised(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
}

/// A Gravity-like Parquet file: its own column names and a timestamp column.
fn gravity_parquet() -> Vec<u8> {
    let t0 = 1_796_000_000_000i64;
    let cols: Vec<(&str, ArrayRef)> = vec![
        (
            "datetime",
            std::sync::Arc::new(TimestampMillisecondArray::from(vec![
                t0,
                t0 + 60_000,
                t0 + 3_600_000,
            ])),
        ),
        (
            "text",
            std::sync::Arc::new(StringArray::from(vec![
                "$SOL breaking out #solana",
                "$sol perps listed",
                "quiet day",
            ])),
        ),
        (
            "username",
            std::sync::Arc::new(StringArray::from(vec!["a", "b", "c"])),
        ),
        (
            "like_count",
            std::sync::Arc::new(Int64Array::from(vec![5, 50, 1])),
        ),
    ];
    let batch = RecordBatch::try_from_iter(cols).unwrap();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    out
}

async fn rpc(
    State(s): State<S>,
    axum::extract::Path((service, method)): axum::extract::Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if !authorised(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"code": "unauthenticated", "message": "invalid API key"})),
        )
            .into_response();
    }
    s.calls.lock().unwrap().push((method.clone(), body.clone()));
    match (service.as_str(), method.as_str()) {
        ("sn13.v1.Sn13Service", "OnDemandData") => {
            if s.on_demand.fetch_add(1, Ordering::SeqCst) == 0 {
                return (StatusCode::from_u16(464).unwrap(), "miners unavailable").into_response();
            }
            Json(json!({"status": "success", "meta": {"miners": 3}, "data": [
                {"datetime": "2026-12-05T10:00:00Z", "source": "X", "text": "$BTC ETF inflows",
                 "uri": "https://x.com/a/status/1", "user": {"username": "a"},
                 "tweet": {"like_count": "12", "retweet_count": 3, "hashtags": ["#btc"]}},
                {"datetime": "2026-12-05T11:00:00Z", "source": "X", "uri": "no text"}
            ]}))
            .into_response()
        }
        ("gravity.v1.GravityService", "CreateGravityTask") => {
            Json(json!({"gravityTaskId": "multicrawler-abc"})).into_response()
        }
        ("gravity.v1.GravityService", "GetGravityTasks") => {
            let n = s.polls.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                let mut h = HeaderMap::new();
                h.insert("retry-after", "1".parse().unwrap());
                return (StatusCode::TOO_MANY_REQUESTS, h, "slow down").into_response();
            }
            let status = if n >= 3 { "Completed" } else { "Running" };
            Json(json!({"gravityTaskStates": [{
                "gravityTaskId": "multicrawler-abc", "name": "sol", "status": status,
                "startTime": "2026-12-06T00:00:00Z",
                "crawlerIds": ["crawler-0-multicrawler-abc"],
                "crawlerWorkflows": [{"crawlerId": "crawler-0-multicrawler-abc",
                    "state": {"status": status, "recordsCollected": (n * 100).to_string()}}]
            }]}))
            .into_response()
        }
        ("gravity.v1.GravityService", "BuildDataset") => {
            Json(json!({"datasetId": "dataset-1", "dataset": null})).into_response()
        }
        ("gravity.v1.GravityService", "GetDataset") => {
            let n = s.dataset_polls.fetch_add(1, Ordering::SeqCst);
            if n == 0 {
                return Json(json!({"dataset": {"status": "Running", "totalSteps": "2",
                    "steps": [{"progress": 1.0, "stepName": "collect"}, {"progress": 0.5}]}}))
                .into_response();
            }
            let base = s.base.lock().unwrap().clone();
            Json(
                json!({"dataset": {"status": "Completed", "totalSteps": 2, "files": [
                    {"fileName": "data-0.parquet", "fileSizeBytes": "1000", "numRows": "3",
                     "url": format!("{base}/files/data-0.parquet?sig=abc")}
                ]}}),
            )
            .into_response()
        }
        ("gravity.v1.GravityService", "CancelGravityTask") => {
            Json(json!({"message": "cancelled"})).into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no such method").into_response(),
    }
}

async fn file(headers: HeaderMap) -> Response {
    // Pre-signed URLs carry their own permission: the API key must not travel to them.
    if headers.get("authorization").is_some() {
        return (StatusCode::BAD_REQUEST, "unexpected Authorization").into_response();
    }
    gravity_parquet().into_response()
}

async fn start() -> (S, String) {
    let s: S = Arc::default();
    let app = Router::new()
        .route("/{service}/{method}", post(rpc))
        .route("/files/data-0.parquet", get(file))
        .with_state(s.clone());
    let base = serve(app).await;
    *s.base.lock().unwrap() = base.clone();
    (s, base)
}

fn client(base: &str, key: &str) -> DataUniverse {
    DataUniverse::new(
        base,
        Secret::new(key),
        services::http::HttpSettings {
            max_backoff: Duration::from_secs(2),
            ..fast(DataUniverse::default_settings())
        },
    )
    .unwrap()
}

#[tokio::test]
async fn on_demand_retries_a_busy_network_and_sends_the_documented_fields() {
    let (s, base) = start().await;
    let c = client(&base, KEY);
    let mut q = OnDemandQuery::new(Platform::X, vec!["bitcoin".into(), "etf".into()]);
    q.limit = 50;
    q.match_all = false;
    q.start = Some(services::data_universe::parse_date("2026-12-01").unwrap());
    let posts = c.on_demand(&q).await.unwrap();
    assert_eq!(s.on_demand.load(Ordering::SeqCst), 2, "464 was tried again");
    assert_eq!(posts.len(), 1, "the entry without text is skipped");
    assert_eq!(posts[0].likes, Some(12));
    assert_eq!(posts[0].source, "x");
    let (_, body) = s.calls.lock().unwrap()[0].clone();
    assert_eq!(body["source"], "X");
    assert_eq!(body["keywords"], json!(["bitcoin", "etf"]));
    assert_eq!(body["keyword_mode"], "any");
    assert_eq!(body["limit"], 50);
    assert_eq!(body["start_date"], "2026-12-01T00:00:00Z");
    assert!(body.get("usernames").is_none());
}

#[tokio::test]
async fn a_gravity_task_is_created_watched_built_downloaded_and_survives_a_restart() {
    let (s, base) = start().await;
    let c = client(&base, KEY);
    let dir = tempfile::tempdir().unwrap();
    let spec = GravitySpec {
        platform: Platform::X,
        topic: Some("$SOL".into()),
        keyword: None,
        start: None,
        end: None,
        name: Some("sol".into()),
    };
    let id = c.create_gravity(&spec).await.unwrap();
    assert_eq!(id, "multicrawler-abc");
    let sent = s.calls.lock().unwrap()[0].1.clone();
    assert_eq!(
        sent,
        json!({"gravityTasks": [{"platform": "x", "topic": "$SOL"}], "name": "sol"})
    );
    let store = SocialStore::new(dir.path().join("social"));
    let mut rec = TaskRecord {
        id: id.clone(),
        kind: TaskKind::Gravity { spec },
        created_at: "2026-12-06T00:00:00Z".into(),
        status: None,
        datasets: vec![],
        files: vec![],
    };
    store.save_task(&rec).unwrap();

    // Watch: the first poll is rate limited (Retry-After: 1), then the records grow.
    let t0 = std::time::Instant::now();
    let t = c.gravity_tasks(Some(&id)).await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "Retry-After honoured"
    );
    assert_eq!(t[0].crawlers[0].records, Some(100));
    let t = c.gravity_tasks(Some(&id)).await.unwrap();
    assert_eq!(t[0].crawlers[0].records, Some(200));
    assert_eq!(t[0].status.as_deref(), Some("Running"));
    let polled = s.calls.lock().unwrap().last().unwrap().1.clone();
    assert_eq!(
        polled,
        json!({"includeCrawlers": true, "gravityTaskId": "multicrawler-abc"})
    );

    // A restart: a new store sees the task and its crawler.
    let store = SocialStore::new(dir.path().join("social"));
    let again = store.task(&id).unwrap().unwrap();
    assert_eq!(again, rec);
    let crawler = &t[0].crawler_ids[0];
    let ds = c.build_dataset(crawler, 5000).await.unwrap();
    rec.datasets.push((crawler.clone(), ds.clone()));
    store.save_task(&rec).unwrap();
    let sent = s.calls.lock().unwrap().last().unwrap().1.clone();
    assert_eq!(
        sent,
        json!({"crawlerId": "crawler-0-multicrawler-abc", "maxRows": 5000})
    );

    let d = c.dataset(&ds).await.unwrap();
    assert!(!d.is_ready());
    assert!((d.progress() - 0.75).abs() < 1e-9);
    let d = c.dataset(&ds).await.unwrap();
    assert!(d.is_ready());
    let f = &d.files[0];
    assert_eq!(f.num_rows, Some(3));
    let bytes = c.download(f.url.as_deref().unwrap()).await.unwrap();
    let name = store
        .write_parquet(&id, f.file_name.as_deref().unwrap(), &bytes)
        .unwrap();
    assert_eq!(name, "multicrawler-abc/data-0.parquet");
    let files = store.files().unwrap();
    assert_eq!(files.len(), 1);

    // Gravity's own layout is summarised too.
    let sum = summarize(&files[0].path).unwrap();
    assert_eq!(sum.rows, 3);
    assert_eq!(sum.top_tags[0], ("$SOL".to_string(), 2));
    assert_eq!(sum.top_posts[0].likes, Some(50));
    assert_eq!(sum.top_posts[0].username.as_deref(), Some("b"));
    assert!(sum.first.as_deref().unwrap() < sum.last.as_deref().unwrap());

    c.cancel_task(&id).await.unwrap();
}

#[tokio::test]
async fn bad_keys_garbage_and_slow_answers_are_clear_errors() {
    let (_, base) = start().await;
    let err = client(&base, "wrong-secret-key")
        .gravity_tasks(None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Auth { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong-secret-key"));

    let junk = Router::new().route(
        "/{service}/{method}",
        post(|| async { "<html>gateway</html>" }),
    );
    let c = client(&serve(junk).await, KEY);
    let err = c.gravity_tasks(None).await.unwrap_err();
    assert!(matches!(err, ServiceError::Parse { .. }), "{err:?}");
    let err = c.download("ftp://x/y").await.unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)));

    let slow = Router::new().route(
        "/{service}/{method}",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "{}"
        }),
    );
    let c = DataUniverse::new(
        serve(slow).await,
        Secret::new(KEY),
        services::http::HttpSettings {
            timeout: Duration::from_millis(300),
            max_retries: 0,
            ..fast(DataUniverse::default_settings())
        },
    )
    .unwrap();
    let err = c.dataset("dataset-1").await.unwrap_err();
    assert!(matches!(err, ServiceError::Transport { .. }), "{err:?}");

    // Invalid input is refused before anything is sent.
    let err = c
        .on_demand(&OnDemandQuery::new(Platform::X, vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)));
}

#[tokio::test]
async fn a_busy_network_that_stays_busy_says_so() {
    let busy = Router::new().route(
        "/{service}/{method}",
        post(|| async { (StatusCode::from_u16(464).unwrap(), "no miners") }),
    );
    let c = client(&serve(busy).await, KEY);
    let err = c
        .on_demand(&OnDemandQuery::new(
            Platform::Reddit,
            vec!["r/bitcoin".into()],
        ))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("busy"), "{err}");
}
