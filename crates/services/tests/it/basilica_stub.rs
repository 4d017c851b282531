//! A stub of Basilica's documented API (services.md §4: gpu-prices, deployments with camelCase
//! bodies, `{error:{code,message}}`, slow starts through the deployment phases), served on
//! loopback. Shared by the services tests and the CLI's `compute` tests (`#[path]`).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

pub const TOKEN: &str = "basilica_test_token";

#[derive(Default)]
pub struct Stub {
    /// name → (deployment JSON, polls left before it is ready).
    pub deployments: BTreeMap<String, (Value, u32)>,
    /// Polls a new deployment spends starting.
    pub slow: u32,
    /// Answer the next create with 503 (not processed).
    pub busy_once: bool,
    pub creates: u32,
    pub deletes: Vec<String>,
    /// Requests bodies of creates.
    pub bodies: Vec<Value>,
    /// The URL every deployment answers on (default: a Basilica-style public URL).
    pub url: Option<String>,
}

pub type S = Arc<Mutex<Stub>>;

fn err(status: StatusCode, code: &str, msg: &str) -> Response {
    (
        status,
        Json(json!({"error": {"code": code, "message": msg}})),
    )
        .into_response()
}

fn authed(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

async fn prices(h: HeaderMap) -> Response {
    if !authed(&h) {
        return err(
            StatusCode::UNAUTHORIZED,
            "BASILICA_API_AUTH_MISSING",
            "no token",
        );
    }
    Json(json!({"count": 4, "nodes": [
        {"id": "o1", "provider": "verda", "gpu_type": "TESLA V100", "gpu_count": 1, "hourly_rate_per_gpu": "0.15", "is_spot": false},
        {"id": "o2", "provider": "hyperstack", "gpu_type": "RTX-A4000", "gpu_count": 2, "hourly_rate_per_gpu": "0.16"},
        {"id": "o3", "provider": "lambda", "gpu_type": "H100", "gpu_count": 1, "hourly_rate_per_gpu": 2.49},
        {"id": "o4", "provider": "x", "gpu_type": "RTX-A6000", "gpu_count": 1, "hourly_rate_per_gpu": null, "extra_field": 1}
    ]}))
    .into_response()
}

async fn create(State(s): State<S>, h: HeaderMap, Json(b): Json<Value>) -> Response {
    if !authed(&h) {
        return err(
            StatusCode::UNAUTHORIZED,
            "BASILICA_API_AUTH_MISSING",
            "no token",
        );
    }
    let mut st = s.lock().unwrap();
    if st.busy_once {
        st.busy_once = false;
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "0")],
            Json(json!({"error": {"code": "BUSY", "message": "try again"}})),
        )
            .into_response();
    }
    let name = b["instanceName"].as_str().unwrap_or("").to_string();
    if st.deployments.contains_key(&name) {
        return err(StatusCode::CONFLICT, "EXISTS", "instance exists");
    }
    st.creates += 1;
    st.bodies.push(b.clone());
    let d = json!({"instanceName": name, "state": "Pending", "phase": "pending",
        "url": st.url.clone().unwrap_or_else(|| format!("https://{name}.deployments.basilica.ai")),
        "replicas": {"desired": 1, "ready": 0}, "createdAt": "2026-12-06T14:00:00Z",
        "publicMetadata": b["publicMetadata"], "userId": "u1"});
    let slow = st.slow;
    st.deployments.insert(name, (d.clone(), slow));
    (StatusCode::CREATED, Json(d)).into_response()
}

async fn list(State(s): State<S>, h: HeaderMap) -> Response {
    if !authed(&h) {
        return err(
            StatusCode::UNAUTHORIZED,
            "BASILICA_API_AUTH_MISSING",
            "no token",
        );
    }
    let st = s.lock().unwrap();
    let v: Vec<Value> = st.deployments.values().map(|(d, _)| d.clone()).collect();
    Json(json!({"deployments": v, "total": v.len()})).into_response()
}

async fn get_one(State(s): State<S>, Path(n): Path<String>) -> Response {
    let mut st = s.lock().unwrap();
    let Some((d, left)) = st.deployments.get_mut(&n) else {
        return err(StatusCode::NOT_FOUND, "NOT_FOUND", "no such deployment");
    };
    if *left > 0 {
        *left -= 1;
        d["phase"] = json!(["pulling", "starting", "health_check"][(*left as usize) % 3]);
    } else {
        d["state"] = json!("Active");
        d["phase"] = json!("ready");
        d["replicas"]["ready"] = json!(1);
    }
    Json(d.clone()).into_response()
}

async fn delete(State(s): State<S>, Path(n): Path<String>) -> Response {
    let mut st = s.lock().unwrap();
    if st.deployments.remove(&n).is_none() {
        return err(StatusCode::NOT_FOUND, "NOT_FOUND", "no such deployment");
    }
    st.deletes.push(n.clone());
    Json(json!({"instanceName": n, "status": "deleted"})).into_response()
}

async fn logs(Path(n): Path<String>) -> Response {
    format!("{n}: synth-city worker on http://0.0.0.0:7070\n").into_response()
}

pub async fn stub(slow: u32) -> (String, S) {
    let s: S = Arc::new(Mutex::new(Stub {
        slow,
        ..Default::default()
    }));
    let app = Router::new()
        .route("/secure-cloud/gpu-prices", get(prices))
        .route("/deployments", get(list).post(create))
        .route("/deployments/{name}", get(get_one).delete(delete))
        .route("/deployments/{name}/logs", get(logs))
        .with_state(s.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, s)
}
