//! The Basilica client and its guards against a stub that speaks Basilica's documented API
//! (services.md §4: gpu-prices, deployments with camelCase bodies, `{error:{code,message}}`,
//! slow starts through the deployment phases).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use services::basilica::budget::Budget;
use services::basilica::lease::{reap_orphans, Lease, Owner};
use services::basilica::{Basilica, DeploymentRequest, OfferFilter, Resources};
use services::http::HttpSettings;
use services::{Secret, ServiceError};

const TOKEN: &str = "basilica_test_token";

#[derive(Default)]
struct Stub {
    /// name → (deployment JSON, polls left before it is ready).
    deployments: BTreeMap<String, (Value, u32)>,
    /// Polls a new deployment spends starting.
    slow: u32,
    /// Answer the next create with 503 (not processed).
    busy_once: bool,
    creates: u32,
    deletes: Vec<String>,
    /// Requests bodies of creates.
    bodies: Vec<Value>,
}

type S = Arc<Mutex<Stub>>;

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
        "url": format!("https://{name}.deployments.basilica.ai"),
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

async fn stub(slow: u32) -> (String, S) {
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

fn client(url: &str, token: &str) -> Basilica {
    let settings = HttpSettings {
        base_backoff: Duration::from_millis(5),
        max_retries: 2,
        ..Default::default()
    };
    Basilica::new(url, Secret::new(token), settings).unwrap()
}

fn worker_request() -> DeploymentRequest {
    DeploymentRequest {
        image: "ghcr.io/synth-city/worker:latest".into(),
        replicas: 1,
        port: 7070,
        command: vec!["synth-city".into(), "worker".into()],
        args: vec!["--listen".into(), "0.0.0.0:7070".into()],
        env: BTreeMap::from([("SYNTH_CITY_WORKER_TOKEN".into(), "w-secret".into())]),
        resources: Resources {
            cpu: "4".into(),
            memory: "16Gi".into(),
            gpus: None,
        },
        ttl_seconds: 3600,
        public: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn offers_are_filtered_by_rate_and_gpu_type_cheapest_first() {
    let (url, _) = stub(0).await;
    let c = client(&url, TOKEN);
    let all = c.offers(&OfferFilter::default()).await.unwrap();
    // The unpriced offer is never rentable.
    assert_eq!(
        all.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o1", "o2", "o3"]
    );
    let f = OfferFilter {
        max_hourly_rate: Some(0.40),
        allowed_gpu_types: vec!["V100".into(), "A4000".into(), "H100".into()],
    };
    let cheap = c.offers(&f).await.unwrap();
    // A4000 ×2 costs 0.32/h (rate × GPUs), under the cap; H100 is over it.
    assert_eq!(
        cheap.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(),
        ["o1", "o2"]
    );
    assert!((cheap[1].hourly_rate().unwrap() - 0.32).abs() < 1e-12);
}

#[tokio::test]
async fn a_wrong_token_is_an_auth_error_without_the_token() {
    let (url, _) = stub(0).await;
    let e = client(&url, "basilica_wrong")
        .offers(&OfferFilter::default())
        .await
        .unwrap_err();
    assert!(matches!(e, ServiceError::Auth { status: 401, .. }), "{e:?}");
    assert!(!e.to_string().contains("basilica_wrong"));
    assert!(e.to_string().contains("BASILICA_API_AUTH_MISSING"));
}

#[tokio::test]
async fn a_lease_is_labelled_waits_through_a_slow_start_and_ends() {
    let (url, s) = stub(4).await;
    let c = client(&url, TOKEN);
    s.lock().unwrap().busy_once = true;
    let owner = Owner::current("run-1");
    let mut lease = Lease::start(&c, worker_request(), &owner, 0.5)
        .await
        .unwrap();
    // 503 "not processed" was retried once; one deployment exists.
    assert_eq!(s.lock().unwrap().creates, 1);
    let body = s.lock().unwrap().bodies[0].clone();
    assert_eq!(body["instanceName"], "synth-city-run-1");
    assert_eq!(body["ttlSeconds"], 3600);
    assert_eq!(body["publicMetadata"]["managed-by"], "synth-city");
    assert_eq!(
        body["publicMetadata"]["owner-pid"],
        std::process::id().to_string()
    );
    assert_eq!(body["resources"]["cpu"], "4");
    lease
        .wait_ready(Duration::from_secs(10), Duration::from_millis(5))
        .await
        .unwrap();
    assert!(lease.deployment.is_ready());
    assert!(c
        .logs(lease.name(), 50)
        .await
        .unwrap()
        .contains("synth-city worker"));
    let mine = c.list_labelled("run", "run-1").await.unwrap();
    assert_eq!(mine.len(), 1);
    lease.end().await.unwrap();
    assert_eq!(s.lock().unwrap().deletes, ["synth-city-run-1"]);
    assert!(c.list().await.unwrap().is_empty());
    // Deleting what is gone is not an error.
    assert!(!c.delete("synth-city-run-1").await.unwrap());
}

// Multi-threaded: Drop blocks its thread while the stub (on this runtime) answers the delete.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_that_never_gets_ready_times_out_and_a_dropped_lease_deletes_it() {
    let (url, s) = stub(1_000).await;
    let c = client(&url, TOKEN);
    let mut lease = Lease::start(&c, worker_request(), &Owner::current("slow"), 0.5)
        .await
        .unwrap();
    let e = lease
        .wait_ready(Duration::from_millis(50), Duration::from_millis(5))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not ready"), "{e}");
    // The error path drops the lease without end(): Drop deletes the deployment.
    drop(lease);
    assert_eq!(s.lock().unwrap().deletes, ["synth-city-slow"]);
}

#[tokio::test]
async fn a_deployment_without_a_lease_timeout_is_refused() {
    let (url, s) = stub(0).await;
    let c = client(&url, TOKEN);
    let mut req = worker_request();
    req.ttl_seconds = 0;
    assert!(matches!(
        Lease::start(&c, req, &Owner::current("nottl"), 0.5).await,
        Err(ServiceError::Invalid(_))
    ));
    assert_eq!(s.lock().unwrap().creates, 0);
}

/// The coordinator crashes between deploy and terminate (its process is gone; nothing ran
/// `end` or `Drop`); the next start lists deployments with our labels and ends the orphan,
/// while leaving a live owner's and another host's alone.
#[tokio::test]
async fn a_restart_after_a_coordinator_crash_finds_and_ends_the_orphan() {
    let (url, s) = stub(0).await;
    let c = client(&url, TOKEN);
    // A real process that has exited: its pid is the crashed coordinator's.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = child.id();
    child.wait().unwrap();
    let host = services::basilica::lease::host_name();
    let crashed = Owner {
        host: host.clone(),
        pid: dead_pid,
        run: "crashed".into(),
    };
    let lease = Lease::start(&c, worker_request(), &crashed, 0.5)
        .await
        .unwrap();
    std::mem::forget(lease); // the crash: no end(), no Drop
    let elsewhere = Owner {
        host: "other-host".into(),
        pid: 1,
        run: "theirs".into(),
    };
    std::mem::forget(
        Lease::start(&c, worker_request(), &elsewhere, 0.5)
            .await
            .unwrap(),
    );
    let live = Lease::start(&c, worker_request(), &Owner::current("live"), 0.5)
        .await
        .unwrap();
    let ended = reap_orphans(&c, &host, services::basilica::lease::pid_alive, false)
        .await
        .unwrap();
    assert_eq!(ended, ["synth-city-crashed"]);
    let left: Vec<String> = c
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.instance_name)
        .collect();
    assert_eq!(left, ["synth-city-live", "synth-city-theirs"]);
    live.end().await.unwrap();
    // --all-hosts ends the other host's too.
    let ended = reap_orphans(&c, &host, |_| true, true).await.unwrap();
    assert_eq!(ended, ["synth-city-theirs"]);
    assert!(s.lock().unwrap().deployments.is_empty());
}

#[test]
fn the_budget_caps_the_lease_before_renting() {
    let b = Budget {
        per_run_usd: 1.0,
        per_day_usd: 3.0,
    };
    // $1 at $0.50/h: two hours at most, whatever lease was asked.
    assert_eq!(b.lease_secs(0.5, 0.0, 86_400).unwrap(), 7200);
    let e = b.lease_secs(0.5, 2.99, 86_400).unwrap_err().to_string();
    assert!(e.contains("BASILICA_BUDGET_RUN_USD"), "{e}");
}
