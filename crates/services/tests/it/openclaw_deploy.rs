//! An OpenClaw agent on Basilica against a stub of Basilica's deployments API (services.md §4):
//! deploy → crash → deploy again reconciles (the failed deployment deleted, one new one
//! created), a healthy agent is not started twice, a lost-answer duplicate is removed, the
//! lease is cut to the budget, and the compute reaper leaves agent deployments alone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use services::basilica::lease::reap_orphans;
use services::basilica::Basilica;
use services::http::HttpSettings;
use services::openclaw_deploy::{deploy, find, logs, stop, AgentSpec};
use services::Secret;

const TOKEN: &str = "basilica_test_token";

#[derive(Default)]
struct Stub {
    deployments: BTreeMap<String, Value>,
    clock: u32,
    creates: Vec<Value>,
    deletes: Vec<String>,
}

type S = Arc<Mutex<Stub>>;

fn authed(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn denied() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"error": {"code": "BASILICA_API_AUTH_MISSING", "message": "no token"}})),
    )
        .into_response()
}

fn app(s: S) -> Router {
    Router::new()
        .route(
            "/deployments",
            get(|State(s): State<S>, h: HeaderMap| async move {
                if !authed(&h) {
                    return denied();
                }
                let st = s.lock().unwrap();
                Json(json!({"deployments": st.deployments.values().cloned().collect::<Vec<_>>()})).into_response()
            })
            .post(|State(s): State<S>, h: HeaderMap, Json(b): Json<Value>| async move {
                if !authed(&h) {
                    return denied();
                }
                let mut st = s.lock().unwrap();
                let name = b["instanceName"].as_str().unwrap_or_default().to_string();
                if st.deployments.contains_key(&name) {
                    return (StatusCode::CONFLICT, Json(json!({"error": {"code": "EXISTS", "message": "exists"}}))).into_response();
                }
                st.clock += 1;
                let d = json!({"instanceName": name, "state": "Active", "phase": "ready", "image": b["image"],
                    "replicas": {"desired": 1, "ready": 1}, "createdAt": format!("2026-12-06T10:00:{:02}Z", st.clock),
                    "publicMetadata": b["publicMetadata"], "url": format!("https://{name}.deployments.basilica.ai")});
                st.creates.push(b);
                st.deployments.insert(name, d.clone());
                Json(d).into_response()
            }),
        )
        .route(
            "/deployments/{name}",
            get(|State(s): State<S>, Path(n): Path<String>| async move {
                match s.lock().unwrap().deployments.get(&n) {
                    Some(d) => Json(d.clone()).into_response(),
                    None => (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "NOT_FOUND", "message": "no"}}))).into_response(),
                }
            })
            .delete(|State(s): State<S>, h: HeaderMap, Path(n): Path<String>| async move {
                if !authed(&h) {
                    return denied();
                }
                let mut st = s.lock().unwrap();
                st.deletes.push(n.clone());
                match st.deployments.remove(&n) {
                    Some(_) => Json(json!({"deleted": true})).into_response(),
                    None => (StatusCode::NOT_FOUND, Json(json!({"error": {"code": "NOT_FOUND", "message": "no"}}))).into_response(),
                }
            }),
        )
        .route(
            "/deployments/{name}/logs",
            get(|Path(n): Path<String>| async move { format!("{n}: entrypoint: restoring the workspace from Hippius\n") }),
        )
        .with_state(s)
}

async fn serve(s: S) -> Basilica {
    let base = crate::stub::serve(app(s)).await;
    let settings = HttpSettings {
        base_backoff: Duration::from_millis(5),
        timeout: Duration::from_secs(5),
        ..HttpSettings::default()
    };
    Basilica::new(&base, Secret::new(TOKEN), settings).unwrap()
}

fn spec() -> AgentSpec {
    AgentSpec {
        agent: "main".into(),
        image: "ghcr.io/synth-city/openclaw:latest".into(),
        gpu: None,
        rate_usd_per_hour: 0.10,
        budget_usd: 5.0,
        env: BTreeMap::from([("HIPPIUS_SECRET_KEY".to_string(), "s3cret-value".to_string())]),
    }
}

#[tokio::test]
async fn deploy_crash_restart_reconcile() {
    let s = S::default();
    let c = serve(s.clone()).await;
    let first = deploy(&c, &spec()).await.unwrap();
    assert!(first.created && first.removed.is_empty());
    // $5 at $0.10/h: a 50-hour lease, server-side.
    assert_eq!(first.ttl_seconds, Some(180_000));
    assert_eq!(s.lock().unwrap().creates[0]["ttlSeconds"], 180_000);
    assert_eq!(
        s.lock().unwrap().creates[0]["publicMetadata"]["openclaw-agent"],
        "main"
    );

    // Healthy: a second deploy starts nothing.
    let again = deploy(&c, &spec()).await.unwrap();
    assert!(!again.created);
    assert_eq!(s.lock().unwrap().creates.len(), 1);

    // The container crashes for good.
    {
        let mut st = s.lock().unwrap();
        let d = st.deployments.get_mut("openclaw-main").unwrap();
        d["state"] = json!("Failed");
        d["message"] = json!("CrashLoopBackOff");
    }
    // Restart: the crashed deployment is removed and exactly one new one runs.
    let restart = deploy(&c, &spec()).await.unwrap();
    assert!(restart.created);
    assert_eq!(restart.removed, ["openclaw-main"]);
    let now = find(&c, "main").await.unwrap();
    assert_eq!(now.len(), 1);
    assert!(now[0].is_ready());

    // A duplicate (a create whose answer was lost) is reconciled away on the next start.
    {
        let mut st = s.lock().unwrap();
        let mut dup = st.deployments["openclaw-main"].clone();
        dup["instanceName"] = json!("openclaw-main-dup");
        dup["createdAt"] = json!("2026-12-06T09:00:00Z");
        st.deployments.insert("openclaw-main-dup".into(), dup);
    }
    let r = deploy(&c, &spec()).await.unwrap();
    assert!(!r.created);
    assert_eq!(r.removed, ["openclaw-main-dup"]);
    assert_eq!(find(&c, "main").await.unwrap().len(), 1);

    // The compute reaper (owner-process labels) never ends an agent deployment.
    let reaped = reap_orphans(&c, &services::basilica::lease::host_name(), |_| false, true)
        .await
        .unwrap();
    assert!(reaped.is_empty(), "{reaped:?}");

    assert!(logs(&c, "main", 50)
        .await
        .unwrap()
        .contains("restoring the workspace"));
    assert_eq!(stop(&c, "main").await.unwrap(), ["openclaw-main"]);
    assert!(find(&c, "main").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_budget_under_five_minutes_creates_nothing() {
    let s = S::default();
    let c = serve(s.clone()).await;
    let mut sp = spec();
    sp.budget_usd = 0.005;
    let err = deploy(&c, &sp).await.unwrap_err();
    assert!(err.to_string().contains("budget"), "{err}");
    assert!(s.lock().unwrap().creates.is_empty());
    // The container's keys never appear in an error or a Debug print of the request.
    assert!(!err.to_string().contains("s3cret-value"));
}
