//! A stub W&B server on 127.0.0.1 speaking the protocol the SDK uses (services.md §10b):
//! GraphQL `viewer` / `upsertBucket` / `createRunFiles` with Basic auth (`api:<key>`),
//! `file_stream`, and pre-signed uploads on a key-less path. Shared by the services and the
//! research tests.

#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{json, Value};

/// What the stub received.
#[derive(Default)]
pub struct WbState {
    /// Base URL (for upload URLs).
    pub base: String,
    /// The API key it accepts.
    pub key: String,
    /// `upsertBucket` variables received.
    pub upserts: Vec<Value>,
    /// `file_stream` bodies received, with entity/project/run.
    pub streams: Vec<(String, Value)>,
    /// Uploads: name, bytes, Authorization header seen.
    pub uploads: Vec<(String, Vec<u8>, String)>,
}

/// Shared stub state.
pub type Shared = Arc<Mutex<WbState>>;

fn authed(st: &WbState, h: &HeaderMap) -> bool {
    let want = base64::engine::general_purpose::STANDARD.encode(format!("api:{}", st.key));
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Basic {want}"))
}

async fn graphql(State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>) -> Response {
    let mut st = s.lock().unwrap();
    if !authed(&st, &h) {
        return (StatusCode::UNAUTHORIZED, "user is not logged in").into_response();
    }
    let q = b["query"].as_str().unwrap();
    let v = &b["variables"];
    if q.contains("query Viewer") {
        return Json(json!({"data": {"viewer": {"id": "u1", "entity": "me"}}})).into_response();
    }
    if q.contains("mutation UpsertBucket") {
        // config and summaryMetrics are JSON *strings*.
        serde_json::from_str::<Value>(v["config"].as_str().unwrap()).unwrap();
        serde_json::from_str::<Value>(v["summaryMetrics"].as_str().unwrap()).unwrap();
        st.upserts.push(v.clone());
        return Json(json!({"data": {"upsertBucket": {"bucket": {"id": "b1", "name": v["name"], "displayName": v["displayName"], "historyLineCount": 0, "project": {"name": v["project"], "entity": {"name": v["entity"]}}}, "inserted": true}}})).into_response();
    }
    if q.contains("mutation CreateRunFiles") {
        let files: Vec<Value> = v["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| json!({"name": f, "uploadUrl": format!("{}/wandb-storage/{}", st.base, f.as_str().unwrap().replace('/', "_"))}))
            .collect();
        return Json(json!({"data": {"createRunFiles": {"runID": "r1", "uploadHeaders": ["x-stub: 1"], "files": files}}})).into_response();
    }
    Json(json!({"errors": [{"message": "unknown query"}]})).into_response()
}

async fn file_stream(
    State(s): State<Shared>,
    Path((e, p, r)): Path<(String, String, String)>,
    h: HeaderMap,
    Json(b): Json<Value>,
) -> Response {
    let mut st = s.lock().unwrap();
    if !authed(&st, &h) {
        return (StatusCode::UNAUTHORIZED, "no").into_response();
    }
    st.streams.push((format!("{e}/{p}/{r}"), b));
    Json(json!({"exitcode": null, "limits": {}})).into_response()
}

async fn storage(
    State(s): State<Shared>,
    Path(name): Path<String>,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let mut st = s.lock().unwrap();
    let auth = h
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert_eq!(h.get("x-stub").unwrap(), "1");
    st.uploads.push((name, body.to_vec(), auth));
    StatusCode::OK.into_response()
}

/// Starts the stub; returns its base URL and state.
pub async fn start(key: &str) -> (String, Shared) {
    let state: Shared = Arc::new(Mutex::new(WbState {
        key: key.into(),
        ..Default::default()
    }));
    let app = Router::new()
        .route("/graphql", post(graphql))
        .route("/files/{e}/{p}/{r}/file_stream", post(file_stream))
        .route("/wandb-storage/{name}", put(storage))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    state.lock().unwrap().base = base.clone();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, state)
}
