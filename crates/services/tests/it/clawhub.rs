//! [`services::clawhub`] against a stub registry: the version check against
//! `GET /api/v1/skills/{slug}` and the multipart `POST /api/v1/skills` the `clawhub` CLI sends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use services::clawhub::{ClawHubClient, ClawHubConfig, PublishOptions, SkillPackage};
use services::http::HttpSettings;
use services::{Secret, ServiceError};

/// (path, bytes) of each file part.
type Files = Vec<(String, Vec<u8>)>;

#[derive(Default)]
struct HubState {
    latest: Option<String>,
    published: Vec<(Value, Files)>,
}

type Shared = Arc<Mutex<HubState>>;

async fn skill(State(s): State<Shared>, Path(slug): Path<String>) -> Response {
    match &s.lock().unwrap().latest {
        Some(v) => Json(
            json!({"skill": {"slug": slug, "displayName": slug}, "latestVersion": {"version": v}}),
        )
        .into_response(),
        None => (StatusCode::NOT_FOUND, "Skill not found").into_response(),
    }
}

/// A minimal multipart parser: (name, filename, body) per part.
fn parts(ct: &str, body: &[u8]) -> Vec<(String, Option<String>, Vec<u8>)> {
    let boundary = ct.split("boundary=").nth(1).unwrap();
    let delim = format!("--{boundary}");
    let text = body;
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, delim.as_bytes()) {
        rest = &rest[start + delim.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let rest2 = &rest[2..]; // \r\n
        let head_end = find(rest2, b"\r\n\r\n").unwrap();
        let head = String::from_utf8_lossy(&rest2[..head_end]).to_string();
        let body_start = &rest2[head_end + 4..];
        let end = find(body_start, format!("\r\n{delim}").as_bytes()).unwrap();
        let name = head
            .split("name=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string();
        let filename = head
            .split("filename=\"")
            .nth(1)
            .map(|f| f.split('"').next().unwrap().to_string());
        out.push((name, filename, body_start[..end].to_vec()));
        rest = &body_start[end + 2..];
    }
    out
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

async fn publish(State(s): State<Shared>, h: HeaderMap, body: Bytes) -> Response {
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer clh_good") {
        return (StatusCode::UNAUTHORIZED, "Unauthorized").into_response();
    }
    let ct = h.get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(ct.starts_with("multipart/form-data"));
    let ps = parts(&ct, &body);
    let payload: Value = serde_json::from_slice(&ps[0].2).unwrap();
    assert_eq!(ps[0].0, "payload");
    let files: Files = ps[1..]
        .iter()
        .map(|(n, f, b)| {
            assert_eq!(n, "files");
            (f.clone().unwrap(), b.clone())
        })
        .collect();
    let mut st = s.lock().unwrap();
    st.latest = Some(payload["version"].as_str().unwrap().to_string());
    st.published.push((payload.clone(), files));
    Json(json!({"ok": true, "skillId": "s1", "versionId": "v1", "publicationStatus": "pending", "attemptId": "a1"})).into_response()
}

async fn start() -> (String, Shared) {
    let state: Shared = Arc::default();
    let app = Router::new()
        .route("/api/v1/skills/{slug}", get(skill))
        .route("/api/v1/skills", post(publish))
        .with_state(state.clone());
    (crate::stub::serve(app).await, state)
}

fn client(base: &str, token: &str) -> ClawHubClient {
    let cfg = ClawHubConfig {
        base_url: base.into(),
        token: Some(Secret::new(token)),
    };
    let s = HttpSettings {
        base_backoff: Duration::from_millis(5),
        timeout: Duration::from_secs(10),
        ..HttpSettings::default()
    };
    ClawHubClient::with_settings(&cfg, s).unwrap()
}

fn package(version: &str) -> SkillPackage {
    SkillPackage::from_files(vec![
        (
            "SKILL.md".into(),
            format!(
                "---\nname: synth-city\ndescription: SN50 research\nversion: {version}\n---\n# x\n"
            )
            .into_bytes(),
        ),
        ("scripts/sc.sh".into(), b"#!/bin/sh\necho hi\n".to_vec()),
    ])
    .unwrap()
}

#[tokio::test]
async fn publishes_multipart_then_refuses_the_same_version() {
    let (base, st) = start().await;
    let c = client(&base, "clh_good");
    assert_eq!(c.latest_version("synth-city").await.unwrap(), None);
    let opts = PublishOptions {
        changelog: "first".into(),
        categories: vec!["finance".into()],
        ..Default::default()
    };
    let out = c.publish(&package("0.2.0"), &opts).await.unwrap();
    assert_eq!(out.version, "0.2.0");
    assert_eq!(out.publication_status.as_deref(), Some("pending"));
    {
        let s = st.lock().unwrap();
        let (payload, files) = &s.published[0];
        assert_eq!(payload["slug"], "synth-city");
        assert_eq!(payload["acceptLicenseTerms"], true);
        assert_eq!(payload["files"].as_array().unwrap().len(), 2);
        assert_eq!(payload["files"][1]["path"], "scripts/sc.sh");
        assert_eq!(payload["files"][1]["size"], 18);
        assert_eq!(
            files[1],
            (
                "scripts/sc.sh".to_string(),
                b"#!/bin/sh\necho hi\n".to_vec()
            )
        );
    }
    // Same version again: refused before anything is sent.
    let err = c.publish(&package("0.2.0"), &opts).await.unwrap_err();
    assert!(err.to_string().contains("bump `version`"), "{err}");
    // Lower: refused; higher: published.
    assert!(c.publish(&package("0.1.9"), &opts).await.is_err());
    c.publish(&package("0.10.0"), &opts).await.unwrap();
    assert_eq!(st.lock().unwrap().published.len(), 2);
}

#[tokio::test]
async fn a_bad_token_is_an_auth_error() {
    let (base, _st) = start().await;
    let err = client(&base, "clh_bad")
        .publish(&package("1.0.0"), &PublishOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Auth { status: 401, .. }),
        "{err}"
    );
}

#[test]
fn the_repository_skill_packages() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../skills/openclaw/synth-city");
    let pkg = SkillPackage::from_dir(&dir).unwrap();
    assert_eq!(pkg.slug, "synth-city");
    assert!(pkg.files.iter().any(|f| f.path == "SKILL.md"));
    assert!(pkg.files.iter().any(|f| f.path == "scripts/sc.sh"));
}
