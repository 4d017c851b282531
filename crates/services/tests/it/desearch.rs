//! The Desearch client against an axum stub on 127.0.0.1 speaking the documented protocol: raw
//! key in `Authorization`, `POST /desearch/ai/search`, cost headers, 429 with `Retry-After`,
//! errors and slow answers.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use services::desearch::{Desearch, SearchQuery, Source};
use services::http::HttpSettings;
use services::{Secret, ServiceError};

use crate::stub::serve;

const KEY: &str = "dsk_test_key_123";

fn fast() -> HttpSettings {
    crate::stub::fast(Desearch::default_settings())
}

/// The answer of the documented endpoint for `body`: one tweet and one web page per call.
fn answer(body: &Value) -> Value {
    let tools: Vec<String> = serde_json::from_value(body["tools"].clone()).unwrap();
    let mut out = json!({"text": null, "completion": null, "miner_link_scores": {"https://news.example/hack": "HIGH"}});
    if tools.iter().any(|t| t == "twitter") {
        out["tweets"] = json!([{
            "id": "1790", "text": "Exchange X lists $SOL perps", "created_at": "2026-12-06T09:30:00.000Z",
            "like_count": 10, "retweet_count": 3, "reply_count": 2, "quote_count": 1, "bookmark_count": 0,
            "url": "https://x.com/trader/status/1790", "user": {"id": "9", "username": "trader"}
        }]);
    }
    if tools.iter().any(|t| t == "web") {
        out["search"] = json!([{"title": "Bridge hacked", "snippet": "Funds drained", "link": "https://news.example/hack"}]);
    }
    out
}

/// A stub that checks the key and the body, and records what it was sent.
fn stub(seen: Arc<Mutex<Vec<Value>>>) -> Router {
    Router::new().route(
        "/desearch/ai/search",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let seen = seen.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(KEY) {
                    return (
                        StatusCode::UNAUTHORIZED,
                        Json(json!({"detail": {"message": "invalid api key"}})),
                    )
                        .into_response();
                }
                seen.lock().unwrap().push(body.clone());
                let mut h = HeaderMap::new();
                h.insert("x-desearch-cost-usd", "0.0025".parse().unwrap());
                h.insert("x-desearch-usage-count", "1".parse().unwrap());
                h.insert("x-desearch-service", "ai_search".parse().unwrap());
                h.insert("x-desearch-currency", "USD".parse().unwrap());
                (StatusCode::OK, h, Json(answer(&body))).into_response()
            }
        }),
    )
}

#[tokio::test]
async fn search_sends_the_raw_key_and_the_window_and_normalises_hits_and_cost() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = serve(stub(seen.clone())).await;
    let c = Desearch::new(&base, Secret::new(KEY), fast()).unwrap();
    let mut q = SearchQuery::new("SOL listing news");
    q.sources = vec![Source::Twitter, Source::Web];
    q.since = Some(Duration::from_secs(6 * 3600));
    q.limit = 5;
    let r = c.search(&q).await.unwrap();

    let sent = seen.lock().unwrap()[0].clone();
    assert_eq!(sent["prompt"], "SOL listing news");
    assert_eq!(sent["tools"], json!(["twitter", "web"]));
    assert_eq!(sent["streaming"], false);
    assert_eq!(sent["result_type"], "ONLY_LINKS");
    assert_eq!(sent["count"], 10, "the service's minimum count");
    let start = chrono::DateTime::parse_from_rfc3339(sent["start_date"].as_str().unwrap()).unwrap();
    let end = chrono::DateTime::parse_from_rfc3339(sent["end_date"].as_str().unwrap()).unwrap();
    assert_eq!((end - start).num_seconds(), 6 * 3600);

    assert_eq!(r.results.len(), 2);
    let web = &r.results[0];
    assert_eq!((web.source.as_str(), web.score), ("web", Some(1.0)));
    assert_eq!(web.text, "Funds drained");
    let tw = &r.results[1];
    assert_eq!(tw.source, "twitter");
    assert_eq!(tw.author.as_deref(), Some("trader"));
    assert_eq!(tw.time.as_deref(), Some("2026-12-06T09:30:00Z"));
    assert_eq!(tw.url, "https://x.com/trader/status/1790");
    assert_eq!(tw.engagement, Some(16));
    assert_eq!(r.cost.usd, Some(0.0025));
    assert_eq!(r.cost.usage_count, Some(1));
    assert_eq!(r.cost.currency.as_deref(), Some("USD"));

    // The meter adds up every call (clones share it).
    let c2 = c.clone();
    c2.search(&q).await.unwrap();
    let spent = c.spent();
    assert_eq!(spent.calls, 2);
    assert!((spent.usd - 0.005).abs() < 1e-12, "{spent:?}");
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_that_does_not_repeat_the_key() {
    let base = serve(stub(Arc::default())).await;
    let c = Desearch::new(&base, Secret::new("Bearer wrong-secret"), fast()).unwrap();
    let err = c.search(&SearchQuery::new("btc")).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Auth { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("wrong-secret"));
    assert!(err.to_string().contains("invalid api key"));
}

#[tokio::test]
async fn rate_limits_are_waited_out_as_retry_after_says() {
    let hits = Arc::new(AtomicU32::new(0));
    let h = hits.clone();
    let app = Router::new().route(
        "/desearch/ai/search",
        post(move |Json(body): Json<Value>| {
            let h = h.clone();
            async move {
                if h.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut hd = HeaderMap::new();
                    hd.insert("retry-after", "1".parse().unwrap());
                    return (StatusCode::TOO_MANY_REQUESTS, hd, "rate limited").into_response();
                }
                Json(answer(&body)).into_response()
            }
        }),
    );
    let base = serve(app).await;
    let c = Desearch::new(
        &base,
        Secret::new(KEY),
        HttpSettings {
            max_backoff: Duration::from_secs(5),
            ..fast()
        },
    )
    .unwrap();
    let t0 = std::time::Instant::now();
    let r = c.search(&SearchQuery::new("eth")).await.unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The client waited as told (a lower bound only: no assertion on speed).
    assert!(t0.elapsed() >= Duration::from_millis(950));
    assert!(!r.results.is_empty());
    assert_eq!(r.cost.usd, None, "no cost headers, no cost");
    assert_eq!(c.spent().calls, 1);
}

#[tokio::test]
async fn server_errors_slow_answers_and_garbage_are_errors_not_panics() {
    let app = Router::new().route(
        "/desearch/ai/search",
        post(|| async { (StatusCode::BAD_GATEWAY, "upstream miners unavailable") }),
    );
    let base = serve(app).await;
    let c = Desearch::new(&base, Secret::new(KEY), fast()).unwrap();
    let err = c.search(&SearchQuery::new("btc")).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Http { status: 502, .. }),
        "{err:?}"
    );
    assert!(err.is_transient());

    let slow = Router::new().route(
        "/desearch/ai/search",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "{}"
        }),
    );
    let base = serve(slow).await;
    let c = Desearch::new(
        &base,
        Secret::new(KEY),
        HttpSettings {
            timeout: Duration::from_millis(300),
            max_retries: 0,
            ..fast()
        },
    )
    .unwrap();
    let err = c.search(&SearchQuery::new("btc")).await.unwrap_err();
    assert!(matches!(err, ServiceError::Transport { .. }), "{err:?}");
    assert!(err.to_string().contains("timed out"));

    let junk = Router::new().route(
        "/desearch/ai/search",
        post(|| async { "<html>oops</html>" }),
    );
    let base = serve(junk).await;
    let c = Desearch::new(&base, Secret::new(KEY), fast()).unwrap();
    let err = c.search(&SearchQuery::new("btc")).await.unwrap_err();
    assert!(matches!(err, ServiceError::Parse { .. }), "{err:?}");

    // Bad input is refused before anything is sent.
    let err = c.search(&SearchQuery::new("  ")).await.unwrap_err();
    assert!(matches!(err, ServiceError::Invalid(_)));
}
