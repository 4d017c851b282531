//! The Pyth history client against a real HTTP server (axum on 127.0.0.1) serving UDF JSON.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use market::pyth::{PythClient, PythConfig};
use market::{MarketError, Provenance};

/// One scripted answer; when the script is empty the server makes candles for the range asked.
type Reply = (u16, String);

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    queries: Vec<HashMap<String, String>>,
    /// Answer 500 to every request after this many (a feed that breaks off).
    fail_after: Option<usize>,
}

type Shared = Arc<Mutex<Script>>;

async fn history(
    State(s): State<Shared>,
    Query(q): Query<HashMap<String, String>>,
) -> (StatusCode, String) {
    let mut s = s.lock().unwrap();
    s.queries.push(q.clone());
    if s.fail_after.is_some_and(|n| s.queries.len() > n) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down".into());
    }
    if let Some((code, body)) = s.replies.pop_front() {
        return (StatusCode::from_u16(code).unwrap(), body);
    }
    let from: i64 = q["from"].parse().unwrap();
    let to: i64 = q["to"].parse().unwrap();
    let step = 60 * q["resolution"].parse::<i64>().unwrap();
    let t: Vec<i64> = (from..=to).filter(|x| x % step == 0).collect();
    let c: Vec<f64> = t.iter().map(|&x| x as f64 / 1000.0).collect();
    let body = serde_json::json!({"s": "ok", "t": t, "o": c, "h": c, "l": c, "c": c, "v": c});
    (StatusCode::OK, body.to_string())
}

/// Starts a server with `replies` scripted; returns a client for it and the shared script.
fn serve(replies: Vec<Reply>, max_bars: u32) -> (PythClient, Shared) {
    let script: Shared = Arc::new(Mutex::new(Script {
        replies: replies.into(),
        ..Script::default()
    }));
    let app = Router::new()
        .route("/fixed_rate@200ms/history", get(history))
        .with_state(script.clone());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    let addr = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let cfg = PythConfig {
        history_url: format!("http://{addr}/fixed_rate@200ms/history"),
        max_bars,
        retries: 2,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        timeout: Duration::from_secs(5),
        ..PythConfig::default()
    };
    (PythClient::new(cfg).unwrap(), script)
}

const T0: i64 = 1_739_974_320;

fn ok(t: &[i64], c: &[f64]) -> Reply {
    (
        200,
        serde_json::json!({"s":"ok","t":t,"o":c,"h":c,"l":c,"c":c}).to_string(),
    )
}

#[test]
fn one_request_with_the_validator_symbol_and_parameters() {
    let (client, script) = serve(vec![ok(&[T0, T0 + 60], &[3300.5, 3301.25])], 5000);
    let c = client.candles("XAU", 60, T0, T0 + 120, |_, _| {}).unwrap();
    assert_eq!(c.asset, "XAU");
    assert_eq!(c.provenance, Provenance::Real);
    assert_eq!(c.ts, vec![T0, T0 + 60]);
    assert_eq!(c.close, vec![3300.5, 3301.25]);
    let q = &script.lock().unwrap().queries[0];
    assert_eq!(q["symbol"], "Crypto.XAUT/USD");
    assert_eq!(q["resolution"], "1");
    assert_eq!(q["from"], T0.to_string());
    assert_eq!(q["to"], (T0 + 119).to_string());
}

#[test]
fn long_ranges_are_chunked_without_overlap() {
    let (client, script) = serve(vec![], 3);
    let mut progress = vec![];
    let c = client
        .candles("BTC", 60, T0, T0 + 8 * 60, |d, n| progress.push((d, n)))
        .unwrap();
    assert_eq!(c.ts, (0..8).map(|k| T0 + 60 * k).collect::<Vec<_>>());
    assert_eq!(c.close[7], (T0 + 420) as f64 / 1000.0);
    assert_eq!(progress, vec![(1, 3), (2, 3), (3, 3)]);
    assert_eq!(client.chunk_count(60, T0, T0 + 8 * 60), 3);
    {
        let s = script.lock().unwrap();
        assert_eq!(s.queries.len(), 3);
        assert_eq!(s.queries[1]["from"], (T0 + 180).to_string());
        assert_eq!(s.queries[1]["to"], (T0 + 359).to_string());
    }
    // 5m: T0 is not on the 5-minute grid; candles open at multiples of 300 s
    let five = client
        .candles("BTC", 300, T0, T0 + 3000, |_, _| {})
        .unwrap();
    assert_eq!(five.resolution_secs, 300);
    assert_eq!(five.ts.len(), 10);
    assert!(five.ts.iter().all(|t| t % 300 == 0));
    let s = script.lock().unwrap();
    assert_eq!(s.queries.len(), 7);
    assert_eq!(s.queries[6]["resolution"], "5");
}

#[test]
fn no_data_everywhere_is_a_clear_error() {
    let nd = (200, r#"{"s":"no_data"}"#.to_string());
    let (client, _) = serve(vec![nd.clone(), nd], 3);
    match client.candles("ETH", 60, T0, T0 + 360, |_, _| {}) {
        Err(MarketError::NoData {
            symbol, from, to, ..
        }) => {
            assert_eq!(
                (symbol.as_str(), from, to),
                ("Crypto.ETH/USD", T0, T0 + 360)
            );
        }
        other => panic!("expected NoData, got {other:?}"),
    }
}

#[test]
fn partial_answers_keep_what_there_is() {
    let nd = (200, r#"{"s":"no_data","nextTime":null}"#.to_string());
    // first chunk has no data (before the feed existed), the second has two candles
    let (client, _) = serve(vec![nd, ok(&[T0 + 180, T0 + 240], &[1.5, 2.5])], 3);
    let c = client.candles("SOL", 60, T0, T0 + 360, |_, _| {}).unwrap();
    assert_eq!(c.ts, vec![T0 + 180, T0 + 240]);
    assert_eq!(c.close, vec![1.5, 2.5]);
}

#[test]
fn bad_payloads_are_named() {
    let cases = [
        (
            (
                200,
                r#"{"s":"error","errmsg":"Unknown symbol"}"#.to_string(),
            ),
            "Unknown symbol",
        ),
        (
            (
                200,
                r#"{"s":"ok","t":[1,2],"o":[1],"h":[1,1],"l":[1,1],"c":[1,1]}"#.to_string(),
            ),
            "ragged arrays",
        ),
        (
            (
                200,
                r#"{"s":"ok","t":[1],"o":[1],"h":[1],"l":[1],"c":[-1]}"#.to_string(),
            ),
            "non-positive",
        ),
        (
            (200, "<html>gateway</html>".to_string()),
            "not a history JSON",
        ),
        (
            (200, r#"{"s":"ok","t":[1,"x"]}"#.to_string()),
            "not a history JSON",
        ),
        ((200, r#"{"s":"weird"}"#.to_string()), "unknown status"),
    ];
    for (reply, want) in cases {
        let (client, _) = serve(vec![reply], 5000);
        match client.candles("BTC", 60, T0, T0 + 60, |_, _| {}) {
            Err(e @ MarketError::Payload { .. }) => {
                assert!(e.to_string().contains(want), "{e} should mention {want}")
            }
            other => panic!("expected a payload error ({want}), got {other:?}"),
        }
    }
}

#[test]
fn rate_limit_then_success_is_retried() {
    let (client, script) = serve(vec![(429, "slow down".into()), (503, "busy".into())], 5000);
    let c = client.candles("BTC", 60, T0, T0 + 120, |_, _| {}).unwrap();
    assert_eq!(c.ts, vec![T0, T0 + 60]);
    assert_eq!(script.lock().unwrap().queries.len(), 3);
}

#[test]
fn persistent_failures_stop_after_the_retries() {
    let e500 = (500, "down".to_string());
    let (client, script) = serve(vec![e500.clone(), e500.clone(), e500.clone(), e500], 5000);
    let e = client
        .candles("BTC", 60, T0, T0 + 120, |_, _| {})
        .unwrap_err();
    assert!(
        e.to_string().contains("500") && e.to_string().contains("3 attempt"),
        "{e}"
    );
    assert_eq!(script.lock().unwrap().queries.len(), 3);
    let (client, script) = serve(vec![(404, "no".into())], 5000);
    let e = client
        .candles("BTC", 60, T0, T0 + 120, |_, _| {})
        .unwrap_err();
    assert!(e.to_string().contains("404"), "{e}");
    assert_eq!(
        script.lock().unwrap().queries.len(),
        1,
        "4xx other than 429 is not retried"
    );
}

#[test]
fn unknown_assets_and_unreachable_servers() {
    let (client, _) = serve(vec![], 5000);
    let e = client
        .candles("WTIOIL", 60, T0, T0 + 60, |_, _| {})
        .unwrap_err();
    assert!(e.to_string().contains("Hyperliquid"), "{e}");
    let cfg = PythConfig {
        history_url: "http://127.0.0.1:9/history".into(),
        retries: 1,
        backoff: Duration::from_millis(5),
        timeout: Duration::from_secs(2),
        ..PythConfig::default()
    };
    let e = PythClient::new(cfg)
        .unwrap()
        .candles("BTC", 60, T0, T0 + 60, |_, _| {})
        .unwrap_err();
    assert!(matches!(e, MarketError::Http { .. }), "{e}");
}

/// `data sync` of an asset with no history anywhere: fetches `max_days`, and a sync that breaks
/// off halfway keeps what was merged; the next one resumes after the last candle.
#[test]
fn sync_is_incremental_and_resumes_after_a_failure() {
    let (mut client, script) = serve(vec![], 100);
    let mut cfg = client.config().clone();
    cfg.symbols.insert("SYNCTEST", "Crypto.SYNCTEST/USD");
    client = PythClient::new(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = market::Cache::new(dir.path());
    let now = T0 - T0 % 86_400 + 86_400;
    // One day at 1m in chunks of 100 candles: 15 requests; the feed dies after 12.
    script.lock().unwrap().fail_after = Some(12);
    let err = market::sync::sync_series(&client, &cache, "synctest", 60, now, 1, |_, _| {});
    assert!(err.is_err());
    let kept = cache.load("SYNCTEST", 60).unwrap().unwrap();
    assert_eq!(
        kept.len(),
        12 * 100,
        "every candle fetched before the failure is kept"
    );
    // Feed back: the next sync asks only for what is missing, from right after the last candle.
    {
        let mut s = script.lock().unwrap();
        s.fail_after = None;
        s.queries.clear();
    }
    let mut progress = vec![];
    let out = market::sync::sync_series(&client, &cache, "SYNCTEST", 60, now, 1, |d, n| {
        progress.push((d, n))
    })
    .unwrap();
    assert_eq!(out.added, 240);
    assert_eq!(out.last, Some(now - 60));
    assert_eq!(out.seeded_from, None);
    assert_eq!(progress.last(), Some(&(3, 3)));
    let first_from: i64 = script.lock().unwrap().queries[0]["from"].parse().unwrap();
    assert_eq!(first_from, kept.ts[kept.len() - 1] + 60);
    assert_eq!(cache.load("SYNCTEST", 60).unwrap().unwrap().len(), 1440);
    // Up to date: no request at all.
    script.lock().unwrap().queries.clear();
    let again =
        market::sync::sync_series(&client, &cache, "SYNCTEST", 60, now + 30, 1, |_, _| {}).unwrap();
    assert_eq!(again.added, 0);
    assert!(script.lock().unwrap().queries.is_empty());
    assert_eq!(
        market::sync::history_age(&cache, "SYNCTEST", 60, now + 30).unwrap(),
        Some(30)
    );
}

/// An empty cache is seeded with the real history the binary knows (here the embedded set or the
/// shared folder) before anything is fetched: a sync extends that history.
#[test]
fn sync_seeds_an_empty_cache_from_the_known_history() {
    let (client, script) = serve(vec![], 5000);
    let dir = tempfile::tempdir().unwrap();
    let cache = market::Cache::new(dir.path());
    let (known, _) = market::load_real("BTC", 300).unwrap();
    let last = known.ts[known.len() - 1];
    let now = last + 300 + 10 * 300;
    let out = market::sync::sync_series(&client, &cache, "BTC", 300, now, 30, |_, _| {}).unwrap();
    assert!(out.seeded_from.is_some());
    assert_eq!(out.added, 10);
    let q = &script.lock().unwrap().queries;
    assert_eq!(q.len(), 1);
    assert_eq!(q[0]["from"], (last + 300).to_string());
    let c = cache.load("BTC", 300).unwrap().unwrap();
    assert_eq!(c.len(), known.len() + 10);
    assert_eq!(c.provenance, Provenance::Real);
}
