//! The `PYTH_BACKEND=pro` price client against stub Pyth Lazer and Hyperliquid servers on
//! 127.0.0.1 speaking the documented JSON (price = integer × 10^exponent):
//! `POST /v1/latest_price` with a bearer key, and `POST /info` `candleSnapshot` for WTIOIL.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use miner::{PriceError, PriceFeed};
use serde_json::Value;

const KEY: &str = "test-token";

/// One request the stub saw.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    auth: Option<String>,
    content_type: Option<String>,
    body: Value,
}

type Log = Arc<Mutex<Vec<Seen>>>;

fn record(log: &Log, uri: &Uri, headers: &HeaderMap, body: &Bytes) -> Value {
    let get = |h: &str| {
        headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .map(String::from)
    };
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    log.lock().unwrap().push(Seen {
        path: uri.path().to_string(),
        auth: get("authorization"),
        content_type: get("content-type"),
        body: body.clone(),
    });
    body
}

async fn lazer(State(log): State<Log>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let body = record(&log, &uri, &headers, &body);
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {KEY}")) {
        return (StatusCode::UNAUTHORIZED, "invalid token").into_response();
    }
    let feed = |price: &str, expo: i64| {
        format!(
            r#"{{"parsed":{{"timestampUs":"1790000000000000","priceFeeds":[{{"priceFeedId":{},"price":"{price}","exponent":{expo}}}]}}}}"#,
            body["priceFeedIds"][0]
        )
    };
    match body["priceFeedIds"][0].as_u64() {
        Some(1) => feed("7930115688547", -8).into_response(),
        Some(2) => feed("345670000000", -8).into_response(),
        // ETH ok; SOL: server error; XRP: empty; HYPE: not JSON; XAU: no price (closed feed).
        Some(6) => (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Some(14) => r#"{"parsed":{"priceFeeds":[]}}"#.into_response(),
        Some(110) => "<html>gateway</html>".into_response(),
        Some(346) => {
            r#"{"parsed":{"priceFeeds":[{"priceFeedId":346,"exponent":-8}]}}"#.into_response()
        }
        _ => (StatusCode::NOT_FOUND, "unknown feed").into_response(),
    }
}

async fn info(State(log): State<Log>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    record(&log, &uri, &headers, &body);
    if uri.path().starts_with("/empty") {
        return "[]".into_response();
    }
    if uri.path().starts_with("/down") {
        return (StatusCode::BAD_GATEWAY, "down").into_response();
    }
    r#"[{"t":1,"T":2,"s":"xyz:CL","i":"1m","o":"64.0","c":"64.10","h":"64.2","l":"63.9","v":"10","n":3},{"t":2,"c":"65.00"}]"#
        .into_response()
}

async fn stub() -> (String, Log) {
    let log: Log = Arc::default();
    let app = Router::new()
        .route("/v1/latest_price", post(lazer))
        .route("/info", post(info))
        .route("/empty/info", post(info))
        .route("/down/info", post(info))
        .with_state(log.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/"), log)
}

fn no_key_in(e: PriceError) -> String {
    let m = e.to_string();
    assert!(!m.contains(KEY), "the key leaked into {m}");
    m
}

#[tokio::test]
async fn lazer_request_and_reference_vector_from_a_stub_server() {
    let (url, log) = stub().await;
    let feed = PriceFeed::pro(url.clone(), url.clone(), Some(KEY.into()));
    assert!(!format!("{feed:?}").contains(KEY), "Debug shows the key");
    assert!(feed.has_api_key());

    assert_eq!(feed.price("BTC").await.unwrap(), 79301.15688547);
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/v1/latest_price");
    assert_eq!(seen.auth.as_deref(), Some("Bearer test-token"));
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
    let b = &seen.body;
    assert_eq!(b["channel"], "fixed_rate@200ms");
    assert_eq!(b["priceFeedIds"], serde_json::json!([1]));
    assert_eq!(b["parsed"], true);
    assert_eq!(b["properties"], serde_json::json!(["price", "exponent"]));
    assert_eq!(b["formats"], serde_json::json!([]));
    assert_eq!(b["jsonBinaryEncoding"], "hex");
    assert!((feed.price("ETH").await.unwrap() - 3456.7).abs() < 1e-9);
    assert_eq!(
        log.lock().unwrap()[1].body["priceFeedIds"],
        serde_json::json!([2])
    );

    // Non-200 names the service and the status; malformed answers are errors, not panics.
    let e = feed.price("SOL").await.unwrap_err();
    assert!(matches!(e, PriceError::Unavailable { .. }), "{e:?}");
    let m = no_key_in(e);
    assert!(
        m.contains("500") && m.contains(&url.trim_end_matches('/').to_string()),
        "{m}"
    );
    let e = feed.price("XRP").await.unwrap_err();
    assert!(matches!(e, PriceError::BadAnswer { .. }), "{e:?}");
    assert!(no_key_in(e).contains("empty `priceFeeds`"));
    assert!(no_key_in(feed.price("HYPE").await.unwrap_err()).contains("no usable price for HYPE"));
    assert!(no_key_in(feed.price("XAU").await.unwrap_err()).contains("no `price`"));

    // A wrong key: 401, and the key is not in the message.
    let wrong = PriceFeed::pro(url.clone(), url.clone(), Some("wrong-key".into()));
    let m = wrong.price("BTC").await.unwrap_err().to_string();
    assert!(m.contains("401") && !m.contains("wrong-key"), "{m}");

    // An asset without a source never reaches a server.
    let n = log.lock().unwrap().len();
    assert!(matches!(
        feed.price("DOGE").await,
        Err(PriceError::UnknownAsset(_))
    ));
    assert_eq!(log.lock().unwrap().len(), n);
}

#[tokio::test]
async fn wtioil_comes_from_hyperliquid_candles() {
    let (url, log) = stub().await;
    let feed = PriceFeed::pro(url.clone(), url.clone(), Some(KEY.into()));
    let before = chrono::Utc::now().timestamp_millis();
    assert_eq!(feed.price("WTIOIL").await.unwrap(), 65.0);
    let after = chrono::Utc::now().timestamp_millis();
    let seen = log.lock().unwrap()[0].clone();
    assert_eq!(seen.path, "/info");
    // The Pyth key never goes to Hyperliquid.
    assert_eq!(seen.auth, None);
    let b = &seen.body;
    assert_eq!(b["type"], "candleSnapshot");
    assert_eq!(b["req"]["coin"], "xyz:CL");
    assert_eq!(b["req"]["interval"], "1m");
    let (start, end) = (
        b["req"]["startTime"].as_i64().unwrap(),
        b["req"]["endTime"].as_i64().unwrap(),
    );
    assert_eq!(end - start, 300_000);
    assert!(
        (before..=after).contains(&end),
        "{end} not in {before}..{after}"
    );

    // No candle, or Hyperliquid down: clear errors.
    let empty = PriceFeed::pro(url.clone(), format!("{url}empty"), Some(KEY.into()));
    let e = empty.price("WTIOIL").await.unwrap_err();
    assert!(matches!(e, PriceError::BadAnswer { .. }), "{e:?}");
    assert!(e.to_string().contains("no candle"), "{e}");
    let down = PriceFeed::pro(url.clone(), format!("{url}down/"), Some(KEY.into()));
    let m = down.price("WTIOIL").await.unwrap_err().to_string();
    assert!(m.contains("502") && m.contains("/down"), "{m}");
}

#[tokio::test]
async fn no_key_is_a_clear_error_and_sends_nothing_to_lazer() {
    let (url, log) = stub().await;
    for key in [None, Some(String::new()), Some("  ".to_string())] {
        let feed = PriceFeed::pro(url.clone(), url.clone(), key);
        assert!(!feed.has_api_key());
        let e = feed.price("BTC").await.unwrap_err();
        assert!(matches!(e, PriceError::NoApiKey(_)), "{e:?}");
        assert!(e.to_string().contains("PYTH_API_KEY"), "{e}");
    }
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
    // WTIOIL needs no key (Hyperliquid is public).
    let feed = PriceFeed::pro(url.clone(), url.clone(), None);
    assert_eq!(feed.price("WTIOIL").await.unwrap(), 65.0);
    assert_eq!(log.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_lazer_is_a_clear_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let feed = PriceFeed::pro(url.clone(), url.clone(), Some(KEY.into()));
    for asset in ["BTC", "WTIOIL"] {
        let e = feed.price(asset).await.unwrap_err();
        assert!(matches!(e, PriceError::Unavailable { .. }), "{e:?}");
        let m = no_key_in(e);
        assert!(m.contains(&url), "{m}");
    }
}

#[test]
fn backend_names_parse_as_pyth_backend_does() {
    use miner::prices::PriceBackend;
    assert_eq!("hermes".parse(), Ok(PriceBackend::Hermes));
    assert_eq!(" PRO ".parse(), Ok(PriceBackend::Pro));
    assert_eq!("".parse(), Ok(PriceBackend::Hermes));
    let e = "lazer".parse::<PriceBackend>().unwrap_err();
    assert!(e.contains("hermes") && e.contains("pro"), "{e}");
}
