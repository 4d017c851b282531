//! The live price client against a stub Pyth Hermes server on 127.0.0.1 speaking the
//! documented `GET /v2/updates/price/latest?ids[]=<hex>&parsed=true` JSON (services.md §9.2).

use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use miner::prices::hermes_feed_id;
use miner::{PriceError, PriceFeed};

/// What the stub saw: (query, authorization header).
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

async fn latest(State(seen): State<Seen>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = q.unwrap_or_default();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    seen.lock().unwrap().push((q.clone(), auth));
    let id = q
        .split('&')
        .find_map(|kv| kv.strip_prefix("ids%5B%5D="))
        .unwrap_or("");
    let parsed = |price: &str, expo: &str| {
        format!(
            r#"{{"binary":{{"encoding":"hex","data":["504e4155"]}},"parsed":[{{"id":"{id}","price":{{"price":"{price}","conf":"1234567","expo":{expo},"publish_time":1790000000}},"ema_price":{{"price":"{price}","conf":"1","expo":{expo},"publish_time":1790000000}},"metadata":{{"slot":1,"proof_available_time":1790000001,"prev_publish_time":1789999999}}}}]}}"#
        )
    };
    if !q.contains("parsed=true") {
        return (StatusCode::BAD_REQUEST, "parsed=true missing").into_response();
    }
    let feed = |a: &str| hermes_feed_id(a).unwrap();
    if id == feed("BTC") {
        parsed("7930115688547", "-8").into_response()
    } else if id == feed("ETH") {
        parsed("345670000000", "\"-8\"").into_response()
    } else if id == feed("SOL") {
        // Hermes answers 404 for an id it does not know.
        (StatusCode::NOT_FOUND, r#"Price ids not found: ["ef0d"]"#).into_response()
    } else if id == feed("XRP") {
        r#"{"binary":{"encoding":"hex","data":[]},"parsed":[]}"#.into_response()
    } else if id == feed("HYPE") {
        parsed("0", "-8").into_response()
    } else if id == feed("XAU") {
        (StatusCode::TOO_MANY_REQUESTS, "rate limited").into_response()
    } else {
        "<html>not json</html>".into_response()
    }
}

async fn stub() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .route("/v2/updates/price/latest", get(latest))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/"), seen)
}

#[tokio::test]
async fn hermes_prices_and_clear_errors_from_a_stub_server() {
    let (url, seen) = stub().await;
    let feed = PriceFeed::hermes(url.clone(), Some("sekret-key".into()));

    // price × 10^expo, expo as a number or a string.
    assert_eq!(feed.price("BTC").await.unwrap(), 79301.15688547);
    assert!((feed.price("ETH").await.unwrap() - 3456.7).abs() < 1e-9);
    // The documented query and the key as a bearer header.
    let (q, auth) = seen.lock().unwrap()[0].clone();
    assert_eq!(
        q,
        format!("ids%5B%5D={}&parsed=true", hermes_feed_id("BTC").unwrap())
    );
    assert_eq!(auth.as_deref(), Some("Bearer sekret-key"));

    let msg = |e: PriceError| {
        let m = e.to_string();
        assert!(!m.contains("sekret"), "the key leaked into {m}");
        m
    };
    // HTTP errors name the service and the status.
    let e = feed.price("SOL").await.unwrap_err();
    assert!(matches!(e, PriceError::Unavailable { .. }), "{e:?}");
    let m = msg(e);
    assert!(
        m.contains("price service unavailable") && m.contains("404"),
        "{m}"
    );
    let m = msg(feed.price("XAU").await.unwrap_err());
    assert!(m.contains("429"), "{m}");
    // Answers without a usable price.
    let e = feed.price("XRP").await.unwrap_err();
    assert!(matches!(e, PriceError::BadAnswer { .. }), "{e:?}");
    assert!(msg(e).contains("empty `parsed` list"));
    assert!(msg(feed.price("HYPE").await.unwrap_err()).contains("non-positive price"));
    assert!(msg(feed.price("TSLAX").await.unwrap_err()).contains("no usable price for TSLAX"));
    // An asset without a feed never reaches the server.
    let n = seen.lock().unwrap().len();
    assert!(matches!(
        feed.price("DOGE").await,
        Err(PriceError::UnknownAsset(_))
    ));
    assert_eq!(seen.lock().unwrap().len(), n);
}

#[tokio::test]
async fn an_unreachable_hermes_is_a_clear_error() {
    // A port that was just free: connection refused.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let feed = PriceFeed::hermes(url.clone(), None);
    let e = feed.price("BTC").await.unwrap_err();
    let m = e.to_string();
    assert!(matches!(e, PriceError::Unavailable { .. }), "{e:?}");
    assert!(m.contains(&url), "{m}");
}
