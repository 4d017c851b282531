//! The intelligence-service endpoints over the wire: a bridge on loopback calling stubs of
//! Desearch, Chutes, Data Universe and Gradients (also on loopback, speaking their documented
//! protocols) through the production clients; and without keys, a 503 naming the variable.

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::{assert_error, Harness};

async fn stub() -> String {
    let app = Router::new()
        .route(
            "/desearch/ai/search",
            post(|h: HeaderMap, Json(b): Json<Value>| async move {
                if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("ds-key") {
                    return (StatusCode::UNAUTHORIZED, "bad key").into_response();
                }
                assert_eq!(b["prompt"], "BTC ETF");
                let mut hd = HeaderMap::new();
                hd.insert("x-desearch-cost-usd", "0.002".parse().unwrap());
                (hd, Json(json!({"search": [{"title": "ETF", "snippet": "inflows", "link": "https://n.example/etf"}]})))
                    .into_response()
            }),
        )
        .route(
            "/v1/models",
            get(|| async { Json(json!({"data": [{"id": "a/tools-TEE", "supported_features": ["tools"]}, {"id": "b/plain"}]})) }),
        )
        .route(
            "/sn13.v1.Sn13Service/OnDemandData",
            post(|h: HeaderMap| async move {
                if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer mc-key") {
                    return (StatusCode::UNAUTHORIZED, "bad key").into_response();
                }
                Json(json!({"status": "success", "data": [
                    {"datetime": "2026-12-05T10:00:00Z", "source": "X", "text": "$BTC bid", "uri": "https://x.com/a/status/1"}]}))
                .into_response()
            }),
        )
        .route(
            "/v1/tasks/{id}",
            get(|Path(id): Path<String>| async move {
                Json(json!({"id": id, "status": "training", "base_model_repository": "Qwen/Q"}))
            })
            .post(|Path(kind): Path<String>, Json(b): Json<Value>| async move {
                assert_eq!(kind, "create_chat");
                assert_eq!(b["ds_repo"], "me/plans");
                Json(json!({"success": true, "task_id": "job-1"}))
            }),
        );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    format!("http://{addr}")
}

const KEYS: &[&str] = &[
    "DESEARCH_API_KEY",
    "MC_API",
    "MACROCOSMOS_API_KEY",
    "GRADIENTS_API_KEY",
    "CHUTES_API_KEY",
];

// nextest runs each test in its own process: the variables set here reach this bridge only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_reach_the_services_through_the_bridge() {
    let base = stub().await;
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("SYNTH_CITY_HOME", home.path());
    for (k, v) in [
        ("DESEARCH_API_KEY", "ds-key"),
        ("MC_API", "mc-key"),
        ("GRADIENTS_API_KEY", "gr-key"),
    ] {
        std::env::set_var(k, v);
    }
    for k in [
        "DESEARCH_BASE_URL",
        "MACROCOSMOS_BASE_URL",
        "GRADIENTS_API_URL",
    ] {
        std::env::set_var(k, &base);
    }
    std::env::set_var("CHUTES_BASE_URL", format!("{base}/v1"));
    let h = Harness::start().await;
    let k = h.bot("scout").await;

    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/services/search",
            Some(json!({"query": "BTC ETF", "sources": "web"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["results"][0]["url"], "https://n.example/etf");
    assert_eq!(b["cost"]["usd"], 0.002);
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/services/search",
            Some(json!({"query": "x", "sources": "myspace"})),
        )
        .await;
    assert_error(s, &b, 400, "bad_request");

    let (s, b) = h
        .call(Some(&k), "GET", "/services/models?feature=tools", None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["models"].as_array().unwrap().len(), 1);
    assert_eq!(b["models"][0]["id"], "a/tools-TEE");

    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/services/social/tasks",
            Some(json!({"platform": "x", "keywords": ["bitcoin"], "limit": 10})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["posts"], 1);
    let id = b["task"]["id"].as_str().unwrap().to_string();
    let (s, b) = h.call(Some(&k), "GET", "/services/social", None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["tasks"][0]["id"], id.as_str());
    assert_eq!(b["files"][0]["file"], format!("{id}/posts.parquet"));
    assert!(home
        .path()
        .join("social")
        .join(&id)
        .join("posts.parquet")
        .is_file());
    let (s, b) = h
        .call(
            Some(&k),
            "GET",
            &format!("/services/social/tasks/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["task"]["status"], "Completed");

    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/services/gradients/jobs",
            Some(json!({"base_model": "Qwen/Q", "dataset": "me/plans", "hours": 2})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["task_id"], "job-1");
    let (s, b) = h
        .call(Some(&k), "GET", "/services/gradients/jobs/job-1", None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["task"]["status"], "training");
    assert_eq!(b["done"], false);
    // The job is kept in the data folder: listed, with who submitted it and the last status.
    let (s, b) = h
        .call(Some(&k), "GET", "/services/gradients/jobs", None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["jobs"][0]["task_id"], "job-1");
    assert_eq!(b["jobs"][0]["status"], "training");
    assert!(
        b["jobs"][0]["by"].as_str().unwrap().starts_with("bot:"),
        "{b}"
    );
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/services/gradients/jobs",
            Some(json!({"base_model": "Qwen/Q", "dataset": "me/plans", "hours": 0})),
        )
        .await;
    assert_error(s, &b, 400, "bad_request");
    // Without a key: no call is made.
    let (s, b) = h.call(None, "GET", "/services/social", None).await;
    assert_eq!(s, 401, "{b}");

    // Without the service keys: 503 naming what to set, never a stack trace.
    for k in KEYS {
        std::env::remove_var(k);
    }
    let cases = [
        (
            "POST",
            "/services/search",
            Some(json!({"query": "btc"})),
            "DESEARCH_API_KEY",
        ),
        (
            "POST",
            "/services/social/tasks",
            Some(json!({"keywords": ["btc"]})),
            "MC_API",
        ),
        (
            "GET",
            "/services/social/tasks/multicrawler-x",
            None,
            "MC_API",
        ),
        (
            "POST",
            "/services/gradients/jobs",
            Some(json!({"base_model": "Qwen/Q", "dataset": "me/plans"})),
            "GRADIENTS_API_KEY",
        ),
        (
            "GET",
            "/services/gradients/jobs/job-1",
            None,
            "GRADIENTS_API_KEY",
        ),
        (
            "DELETE",
            "/services/gradients/jobs/job-1",
            None,
            "GRADIENTS_API_KEY",
        ),
    ];
    for (m, p, body, var) in cases {
        let (s, b) = h.call(Some(&k), m, p, body).await;
        assert_error(s, &b, 503, "unavailable");
        let msg = b["error"]["message"].as_str().unwrap();
        assert!(msg.contains(var), "{m} {p}: {msg}");
        assert!(!msg.contains("panicked") && !msg.contains("src/"), "{msg}");
    }
    h.running.stop().await;
}
