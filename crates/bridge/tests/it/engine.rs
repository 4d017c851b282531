//! The real engine behind a real bridge on loopback: experiments land in the research registry
//! tagged with the bot, publishing is owner-only, pipelines stream the orchestrator's events.
//!
//! `SYNTH_CITY_HOME` points at a temp directory for the whole test process (nextest runs each
//! test in its own process); price data come from the shared real-data folder.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bridge::{EngineBackend, EngineOptions, Running};
use serde_json::{json, Value};

use crate::{assert_error, config, ADMIN};

/// A bridge serving the engine, with its temp home.
pub struct EngineHarness {
    pub url: String,
    pub http: reqwest::Client,
    pub running: Running,
    _dir: tempfile::TempDir,
}

fn temp_home() -> &'static std::path::Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        // Set once, before any engine code reads it.
        std::env::set_var(market::home::HOME_ENV, d.path());
        d
    })
    .path()
}

impl EngineHarness {
    pub async fn start() -> Self {
        let home = temp_home();
        let dir = tempfile::tempdir().unwrap();
        let engine = EngineBackend::open_default(EngineOptions {
            builtin_planner: true,
            min_epochs: Some(1),
        })
        .unwrap();
        assert!(engine.archive().dir().starts_with(home));
        let running = bridge::start(config(dir.path()), Arc::new(engine))
            .await
            .unwrap();
        Self {
            url: format!("http://{}", running.addr),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            running,
            _dir: dir,
        }
    }

    pub async fn call(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(m, format!("{}{}", self.url, path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn bot(&self, id: &str) -> String {
        let (s, b) = self
            .call(
                Some(ADMIN),
                "POST",
                "/admin/bots",
                Some(json!({"bot_id": id})),
            )
            .await;
        assert_eq!(s, 201, "{b}");
        b["api_key"].as_str().unwrap().to_string()
    }
}

/// The GBM baseline preset on a small real-data asset: fast, and real data (so it can be champion).
fn quick_experiment() -> Value {
    json!({"preset": "gbm", "asset": "GOOGLX", "seed": 1})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_experiment_is_in_history_and_ranking_with_its_bot_and_only_it_publishes() {
    let h = EngineHarness::start().await;
    let (ka, kb) = (h.bot("alpha").await, h.bot("beta").await);

    let (s, b) = h.call(Some(&ka), "GET", "/health", None).await;
    assert_eq!(
        (s, b["backend"]["name"].as_str()),
        (200, Some("engine")),
        "{b}"
    );
    let (s, b) = h.call(Some(&ka), "GET", "/components/presets", None).await;
    assert_eq!(s, 200);
    assert!(b["presets"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "gbm"));
    let (s, b) = h.call(Some(&ka), "GET", "/components/blocks", None).await;
    assert!(
        s == 200 && !b["blocks"].as_array().unwrap().is_empty(),
        "{b}"
    );
    let (s, b) = h
        .call(
            Some(&ka),
            "POST",
            "/experiments/validate",
            Some(json!({"experiment": {"baseline": "nope", "timeframe": "5m"}})),
        )
        .await;
    assert_eq!((s, &b["valid"]), (200, &json!(false)), "{b}");

    let t0 = Instant::now();
    let (s, run) = h
        .call(
            Some(&ka),
            "POST",
            "/experiments/run",
            Some(json!({"experiment": quick_experiment()})),
        )
        .await;
    eprintln!(
        "gbm preset on GOOGLX 5m: {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(s, 200, "{run}");
    assert_eq!(run["bot_id"], "alpha");
    assert_eq!(run["status"], "ok", "{run}");
    assert_eq!(run["requested_by"], json!({"by": "bot", "id": "alpha"}));
    assert!(run["crps"].as_f64().is_some_and(|c| c > 0.0), "{run}");
    let id = run["id"].as_str().unwrap().to_string();

    let (s, b) = h.call(Some(&kb), "GET", "/history?bot=alpha", None).await;
    assert_eq!(s, 200, "{b}");
    assert!(
        b["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["id"] == id.as_str() && r["bot_id"] == "alpha"),
        "{b}"
    );
    let (_, b) = h.call(Some(&kb), "GET", "/history?bot=beta", None).await;
    assert_eq!(b["total"], 0, "{b}");
    let (s, b) = h.call(Some(&kb), "GET", "/ranking", None).await;
    assert_eq!(s, 200, "{b}");
    let line = b["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("run {id} not ranked: {b}"));
    assert_eq!(line["bot_id"], "alpha");
    assert_eq!(line["asset"], "GOOGLX");
    let (s, b) = h
        .call(Some(&kb), "GET", &format!("/history/{id}"), None)
        .await;
    assert_eq!((s, &b["bot_id"]), (200, &json!("alpha")), "{b}");
    let (s, b) = h
        .call(Some(&ka), "GET", "/champion?asset=GOOGLX", None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["champions"][0]["id"], id.as_str(), "{b}");

    // Only the producing bot publishes.
    let (s, b) = h
        .call(Some(&kb), "POST", "/publish", Some(json!({"run_id": id})))
        .await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = h
        .call(Some(&ka), "POST", "/publish", Some(json!({"run_id": id})))
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("published")), "{b}");
    assert_eq!(b["is_champion"], true, "{b}");
    let (s, b) = h
        .call(
            Some(&ka),
            "POST",
            "/publish",
            Some(json!({"run_id": "nope-0000"})),
        )
        .await;
    assert_error(s, &b, 404, "not_found");

    // The same experiment again is the stored result (research novelty check), still alpha's.
    let (s, again) = h
        .call(
            Some(&ka),
            "POST",
            "/experiments/run",
            Some(json!({"experiment": quick_experiment()})),
        )
        .await;
    assert_eq!(
        (s, &again["reused"], &again["id"]),
        (200, &json!(true), &json!(id))
    );

    let (s, b) = h.call(Some(&ka), "GET", "/agents", None).await;
    assert_eq!(s, 200);
    let names: Vec<&str> = b["agents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|a| a["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["planner", "trainer", "codechecker", "debugger", "publisher"]
    );
    let (s, b) = h.call(Some(&ka), "GET", "/market/price/BTC", None).await;
    assert!(
        s == 200 && b["price"].as_f64().is_some_and(|p| p > 0.0),
        "{b}"
    );
    let (s, b) = h
        .call(Some(&ka), "GET", "/market/history/ETH?days=3", None)
        .await;
    assert!(
        s == 200 && !b["candles"].as_array().unwrap().is_empty(),
        "{b}"
    );
    h.running.stop().await;
}

/// Reads the bot's SSE stream until `pipeline.finished`; returns the event kinds seen.
async fn read_events_until_finished(h: &EngineHarness, key: &str) -> Vec<String> {
    let mut r = h
        .http
        .get(format!("{}/events?after=0", h.url))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let mut kinds = Vec::new();
    let mut buf = String::new();
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(120) {
        let chunk = tokio::time::timeout(Duration::from_secs(60), r.chunk())
            .await
            .expect("no event within 60 s")
            .unwrap()
            .expect("stream ended");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(i) = buf.find("\n\n") {
            let frame: String = buf.drain(..i + 2).collect();
            if let Some(k) = frame.lines().find_map(|l| l.strip_prefix("event:")) {
                kinds.push(k.trim().to_string());
            }
        }
        if kinds.iter().any(|k| k == "pipeline.finished") {
            return kinds;
        }
    }
    panic!("pipeline did not finish; saw {kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_pipeline_streams_orchestrator_events_and_finishes() {
    let h = EngineHarness::start().await;
    let k = h.bot("piper").await;
    let t0 = Instant::now();
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/pipeline/run",
            Some(json!({"asset": "GOOGLX", "max_experiments": 1, "retries": 1})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let kinds = read_events_until_finished(&h, &k).await;
    eprintln!(
        "pipeline (1 experiment) finished in {:.1} s with {} events",
        t0.elapsed().as_secs_f64(),
        kinds.len()
    );
    for want in [
        "pipeline.pipeline_start",
        "pipeline.stage",
        "pipeline.agent_start",
        "pipeline.tool_call",
        "pipeline.stage_end",
        "pipeline.finished",
    ] {
        assert!(kinds.iter().any(|k| k == want), "no {want} in {kinds:?}");
    }
    let (s, st) = h.call(Some(&k), "GET", "/pipeline/status", None).await;
    assert_eq!(s, 200);
    assert_eq!(st["status"], "completed", "{st}");
    assert!(st["stage"].is_string(), "{st}");
    // Its experiments are the bot's, through the pipeline.
    let (_, hist) = h.call(Some(&k), "GET", "/history?bot=piper", None).await;
    let runs = hist["runs"].as_array().unwrap();
    assert!(!runs.is_empty(), "{hist}");
    assert!(runs.iter().all(|r| r["source"] == "pipeline"), "{hist}");
    h.running.stop().await;
}
