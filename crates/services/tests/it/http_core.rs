//! [`services::HttpClient`] against an axum server on 127.0.0.1.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use services::http::{Auth, HttpSettings};
use services::{HttpClient, Retry, Secret, ServiceError};

use crate::stub::serve;

fn fast() -> HttpSettings {
    crate::stub::fast(HttpSettings::default())
}

#[tokio::test]
async fn retries_429_honouring_retry_after_then_succeeds() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/x",
        get(move || {
            let h = h.clone();
            async move {
                let mut headers = HeaderMap::new();
                if h.fetch_add(1, Ordering::SeqCst) < 2 {
                    headers.insert("retry-after", "0".parse().unwrap());
                    return (
                        StatusCode::TOO_MANY_REQUESTS,
                        headers,
                        "slow down".to_string(),
                    );
                }
                (StatusCode::OK, headers, r#"{"ok":true}"#.to_string())
            }
        }),
    );
    let base = serve(app).await;
    let c = HttpClient::new("stub", base, Auth::None, fast()).unwrap();
    let v: serde_json::Value = c.get_json("/x", &[]).await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn once_requests_are_not_repeated_after_a_server_error() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/job",
        post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                (StatusCode::INTERNAL_SERVER_ERROR, "boom")
            }
        }),
    );
    let base = serve(app).await;
    let c = HttpClient::new("stub", base, Auth::None, fast()).unwrap();
    let r: Result<serde_json::Value, _> = c
        .json(
            reqwest::Method::POST,
            "/job",
            &serde_json::json!({}),
            Retry::Once,
        )
        .await;
    assert!(
        matches!(r, Err(ServiceError::Http { status: 500, .. })),
        "{r:?}"
    );
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn auth_header_is_sent_and_401_is_an_auth_error_without_the_key() {
    let app = Router::new().route(
        "/me",
        get(|headers: HeaderMap| async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer good") {
                (StatusCode::OK, "{}")
            } else {
                (StatusCode::UNAUTHORIZED, "bad token")
            }
        }),
    );
    let base = serve(app).await;
    let ok = HttpClient::new("stub", &base, Auth::Bearer(Secret::new("good")), fast()).unwrap();
    let _: serde_json::Value = ok.get_json("/me", &[]).await.unwrap();
    let bad = HttpClient::new("stub", &base, Auth::Bearer(Secret::new("s3cr3t")), fast()).unwrap();
    let err = bad
        .get_json::<serde_json::Value>("/me", &[])
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::Auth { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cr3t"));
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let app = Router::new().route("/big", get(|| async { "x".repeat(10_000) }));
    let base = serve(app).await;
    let settings = HttpSettings {
        max_body: 1000,
        ..fast()
    };
    let c = HttpClient::new("stub", base, Auth::None, settings).unwrap();
    let err = c
        .send(reqwest::Method::GET, "/big", Retry::Once, |rb| rb)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ServiceError::TooLarge { limit: 1000, .. }),
        "{err:?}"
    );
}

#[test]
fn missing_credentials_name_the_variable() {
    let err = services::env::secret("Desearch", "SYNTH_CITY_TEST_UNSET_KEY_X").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Desearch is not configured: set SYNTH_CITY_TEST_UNSET_KEY_X (in the environment or .env)"
    );
}
