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
            // Small neural runs: the tests check the plumbing, not the forecasts.
            max_windows: Some(256),
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
        crate::call(&self.http, &self.url, key, method, path, body).await
    }

    pub async fn bot(&self, id: &str) -> String {
        crate::new_bot(&self.http, &self.url, id).await
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
    // A run is never champion by its CRPS alone: only a promotion makes one.
    assert_eq!(b["champions"], json!([]), "{b}");

    // Only the producing bot publishes.
    let (s, b) = h
        .call(Some(&kb), "POST", "/publish", Some(json!({"run_id": id})))
        .await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = h
        .call(Some(&ka), "POST", "/publish", Some(json!({"run_id": id})))
        .await;
    assert_eq!((s, b["status"].as_str()), (200, Some("published")), "{b}");
    // Publishing proposes it for promotion: plain GBM does not beat the default model on the
    // same prompts, so it is published but not champion.
    assert_eq!(b["is_champion"], false, "{b}");
    // Publishing the same run twice is refused.
    let (s, b) = h
        .call(Some(&ka), "POST", "/publish", Some(json!({"run_id": id})))
        .await;
    assert_error(s, &b, 409, "conflict");
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
        [
            "planner",
            "trainer",
            "codechecker",
            "debugger",
            "publisher",
            "author",
            "agent_designer",
            "pipeline_architect"
        ]
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

/// A bot's SSE stream, read frame by frame.
struct EventStream {
    resp: reqwest::Response,
    buf: String,
}

impl EventStream {
    async fn open(h: &EngineHarness, key: &str) -> Self {
        let resp = h
            .http
            .get(format!("{}/events?after=0", h.url))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        Self {
            resp,
            buf: String::new(),
        }
    }

    /// The next event as (kind, data); panics after 60 s without one.
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..i + 2).collect();
                let kind = frame.lines().find_map(|l| l.strip_prefix("event:"));
                let data: String = frame
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .collect();
                if let Some(k) = kind {
                    let v = serde_json::from_str::<Value>(data.trim()).unwrap_or(Value::Null);
                    // The bus wraps events as {seq, kind, data, …}; keep the payload.
                    let v = if v.get("data").is_some() {
                        v["data"].clone()
                    } else {
                        v
                    };
                    return (k.trim().to_string(), v);
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(60), self.resp.chunk())
                .await
                .expect("no event within 60 s")
                .unwrap()
                .expect("stream ended");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads until `pipeline.finished`; returns every (kind, data) seen, that one last.
    async fn until_finished(&mut self) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(120) {
            let ev = self.next().await;
            let done = ev.0 == "pipeline.finished";
            seen.push(ev);
            if done {
                return seen;
            }
        }
        panic!("pipeline did not finish; saw {seen:?}");
    }
}

/// A pipeline request on data a neural model can train on quickly: GOOGLX's 5m history is
/// regular-session only (no gap-free 24 h stretch, so no 5m training window exists), while its
/// 1m history has whole 1 h horizons inside each session.
fn pipeline_request(max_experiments: u32) -> Value {
    json!({"asset": "GOOGLX", "timeframe": "1m", "max_experiments": max_experiments, "retries": 1})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_pipeline_streams_orchestrator_events_and_finishes_with_results() {
    let h = EngineHarness::start().await;
    let k = h.bot("piper").await;
    let mut events = EventStream::open(&h, &k).await;
    let t0 = Instant::now();
    let mut req = pipeline_request(1);
    req["guidance"] = json!("focus on GOOGLX at 1m");
    let (s, b) = h.call(Some(&k), "POST", "/pipeline/run", Some(req)).await;
    assert_eq!(s, 202, "{b}");
    let seen = events.until_finished().await;
    // The built-in planner says what it understood of the bot's guidance.
    assert!(
        seen.iter()
            .any(|(_, v)| v.to_string().contains("guidance understood: assets GOOGLX")),
        "no guidance log in {seen:?}"
    );
    eprintln!(
        "pipeline (1 experiment, GOOGLX 1m) finished in {:.1} s with {} events",
        t0.elapsed().as_secs_f64(),
        seen.len()
    );
    let kinds: Vec<&str> = seen.iter().map(|(k, _)| k.as_str()).collect();
    for want in [
        "pipeline.pipeline_start",
        "pipeline.stage",
        "pipeline.agent_start",
        "pipeline.tool_call",
        "pipeline.experiment_result",
        "pipeline.stage_end",
        "pipeline.pipeline_complete",
        "pipeline.finished",
    ] {
        assert!(kinds.contains(&want), "no {want} in {kinds:?}");
    }
    let (s, st) = h.call(Some(&k), "GET", "/pipeline/status", None).await;
    assert_eq!(s, 200);
    assert_eq!(st["status"], "completed", "{st}");
    assert!(st["stage"].is_string(), "{st}");
    let result = &st["result"];
    assert_eq!(
        result["success"], true,
        "the pipeline did not succeed: {st:#}"
    );
    assert!(
        result["best_crps"].as_f64().is_some_and(|c| c > 0.0),
        "{st:#}"
    );
    let best = result["best"]["id"]
        .as_str()
        .expect("a best run")
        .to_string();
    eprintln!("best run timings: {}", result["best"]["timings"]);
    assert_eq!(result["best"]["bot_id"], "piper", "{st:#}");
    // Its experiments are the bot's, through the pipeline, and the best one is among them.
    let (_, hist) = h.call(Some(&k), "GET", "/history?bot=piper", None).await;
    let runs = hist["runs"].as_array().unwrap();
    assert!(runs.iter().all(|r| r["source"] == "pipeline"), "{hist}");
    assert!(
        runs.iter()
            .any(|r| r["id"] == best.as_str() && r["status"] == "ok"),
        "{hist}"
    );
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_write_agents_and_prompts_as_data_and_only_their_own() {
    let h = EngineHarness::start().await;
    let a = h.bot("designer").await;
    let b = h.bot("intruder").await;
    let (s, p) = h
        .call(
            Some(&a),
            "POST",
            "/agents/prompts/write",
            Some(json!({"name": "terse", "text": "Answer in one line.", "description": "style"})),
        )
        .await;
    assert_eq!(s, 200, "{p}");
    assert_eq!(p["owner"], "bot:designer", "{p}");
    assert_eq!(p["version"], 1);
    let agent = json!({"name": "scout", "purpose": "looks at the data",
                       "system_prompt": "Summarise the market.", "tools": ["market_summary"],
                       "prompts": ["terse"], "temperature": 0.3});
    let (s, w) = h
        .call(Some(&a), "POST", "/agents/write", Some(agent.clone()))
        .await;
    assert_eq!(s, 200, "{w}");
    assert_eq!(w["kind"], "agent");
    assert_eq!(w["body"]["tools"], json!(["market_summary"]), "{w}");
    assert_eq!(w["hash"].as_str().unwrap().len(), 64);
    // The same body again is the same version; a changed one is the next. Another bot may not
    // overwrite it, nor take a built-in name.
    let (s, w1) = h
        .call(Some(&a), "POST", "/agents/write", Some(agent.clone()))
        .await;
    assert_eq!((s, w1["version"].as_u64()), (200, Some(1)), "{w1}");
    let mut changed = agent.clone();
    changed["temperature"] = json!(0.5);
    let (s, w2) = h
        .call(Some(&a), "POST", "/agents/write", Some(changed))
        .await;
    assert_eq!((s, w2["version"].as_u64()), (200, Some(2)), "{w2}");
    let (s, e) = h.call(Some(&b), "POST", "/agents/write", Some(agent)).await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = h
        .call(
            Some(&b),
            "POST",
            "/agents/prompts/write",
            Some(json!({"name": "terse", "text": "mine now"})),
        )
        .await;
    assert_eq!(s, 403, "{e}");
    let (s, e) = h
        .call(
            Some(&b),
            "POST",
            "/agents/write",
            Some(json!({"name": "planner", "system_prompt": "x"})),
        )
        .await;
    assert!(s == 400 || s == 422, "{s} {e}");
    // Unknown tools and fields are refused; nothing is stored.
    let (s, e) = h
        .call(
            Some(&b),
            "POST",
            "/agents/write",
            Some(json!({"name": "shell", "system_prompt": "x", "tools": ["exec"]})),
        )
        .await;
    assert!(s == 400 || s == 422, "{s} {e}");
    let (s, e) = h
        .call(
            Some(&b),
            "POST",
            "/agents/write",
            Some(json!({"name": "shell", "system_prompt": "x", "code": "rm -rf /"})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    let (s, l) = h.call(Some(&b), "GET", "/agents/stored", None).await;
    assert_eq!(s, 200, "{l}");
    let names: Vec<&str> = l["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["scout"], "{l}");
    assert_eq!(l["prompts"][0]["body"]["text"], "Answer in one line.");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_pipeline_refuses_bad_guidance_and_stage_lists_before_running() {
    let h = EngineHarness::start().await;
    let k = h.bot("steerer").await;
    let mut long = pipeline_request(1);
    long["guidance"] = json!("x".repeat(2_001));
    let (s, b) = h.call(Some(&k), "POST", "/pipeline/run", Some(long)).await;
    assert_eq!(s, 400, "{b}");
    assert!(b.to_string().contains("guidance"), "{b}");
    let mut malformed = pipeline_request(1);
    malformed["stages"] = json!([{"agent": "planner", "no_such_field": 1}]);
    let (s, b) = h
        .call(Some(&k), "POST", "/pipeline/run", Some(malformed))
        .await;
    assert_eq!(s, 400, "{b}");
    let mut not_a_list = pipeline_request(1);
    not_a_list["stages"] = json!("planner");
    let (s, b) = h
        .call(Some(&k), "POST", "/pipeline/run", Some(not_a_list))
        .await;
    assert_eq!(s, 400, "{b}");
    // Nothing ran.
    let (_, st) = h.call(Some(&k), "GET", "/pipeline/status", None).await;
    assert_ne!(st["status"], "running", "{st}");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_pipeline_stop_while_running_keeps_what_it_produced() {
    let h = EngineHarness::start().await;
    let k = h.bot("stopper").await;
    let mut events = EventStream::open(&h, &k).await;
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/pipeline/run",
            Some(pipeline_request(12)),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    // Wait for the first finished experiment, then stop.
    let mut produced = Vec::new();
    let t0 = Instant::now();
    while produced.is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "no experiment ended"
        );
        let (kind, data) = events.next().await;
        assert_ne!(
            kind, "pipeline.finished",
            "ended before it could be stopped: {data}"
        );
        if kind == "pipeline.experiment_result" && data["status"] == "ok" {
            produced.push(data["run_id"].as_str().unwrap().to_string());
        }
    }
    let (s, b) = h.call(Some(&k), "GET", "/pipeline/status", None).await;
    assert_eq!((s, &b["status"]), (200, &json!("running")), "{b}");
    let (s, b) = h.call(Some(&k), "POST", "/pipeline/stop", None).await;
    assert_eq!((s, &b["status"]), (202, &json!("stopping")), "{b}");
    let t_stop = Instant::now();
    let rest = events.until_finished().await;
    eprintln!(
        "stopped {:.2} s after the request, {} experiment(s) done before it",
        t_stop.elapsed().as_secs_f64(),
        produced.len()
    );
    let (_, finished) = rest.last().unwrap();
    assert_eq!(finished["status"], "stopped", "{finished}");
    assert!(
        !rest.iter().any(|(k, _)| k == "pipeline.pipeline_complete"),
        "the orchestrator ran to its end: {rest:?}"
    );
    let (s, st) = h.call(Some(&k), "GET", "/pipeline/status", None).await;
    assert_eq!((s, &st["status"]), (200, &json!("stopped")), "{st}");
    assert!(
        st["error"].as_str().is_some_and(|e| e.contains("stopped")),
        "{st}"
    );
    assert!(st["finished_at"].is_string(), "{st}");
    let (s, b) = h.call(Some(&k), "POST", "/pipeline/stop", None).await;
    assert_error(s, &b, 409, "conflict");

    // Nothing produced before the stop is lost: the runs are in the registry, the bot's, with
    // their stored samples.
    let (_, hist) = h.call(Some(&k), "GET", "/history?bot=stopper", None).await;
    for id in &produced {
        let run = hist["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("run {id} lost after the stop: {hist}"));
        assert_eq!(
            (&run["status"], &run["source"], &run["bot_id"]),
            (&json!("ok"), &json!("pipeline"), &json!("stopper")),
            "{run}"
        );
        let (s, fan) = h
            .call(Some(&k), "GET", &format!("/history/{id}/fan"), None)
            .await;
        assert_eq!(s, 200, "{fan}");
    }
    // The slot is free again: the bot can start another pipeline.
    let (s, b) = h
        .call(Some(&k), "POST", "/pipeline/run", Some(pipeline_request(1)))
        .await;
    assert_eq!(s, 202, "{b}");
    let (s, b) = h.call(Some(&k), "POST", "/pipeline/stop", None).await;
    assert_eq!(s, 202, "{b}");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_fan_endpoint_gives_bands_of_the_stored_sample() {
    let h = EngineHarness::start().await;
    let (ka, kb) = (h.bot("fanner").await, h.bot("viewer").await);
    let (s, run) = h
        .call(
            Some(&ka),
            "POST",
            "/experiments/run",
            Some(json!({"experiment": quick_experiment()})),
        )
        .await;
    assert_eq!((s, &run["status"]), (200, &json!("ok")), "{run}");
    let id = run["id"].as_str().unwrap().to_string();
    let path = format!("/history/{id}/fan");

    let r = h
        .http
        .get(format!("{}{path}", h.url))
        .bearer_auth(&ka)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let text = r.text().await.unwrap();
    eprintln!("fan payload of a GOOGLX 5m run: {} bytes", text.len());
    assert!(
        text.len() < 64 << 10,
        "payload too large: {} bytes",
        text.len()
    );
    let fan: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(fan["run_id"], id.as_str());
    assert_eq!(fan["bot_id"], "fanner");
    assert_eq!(fan["asset"], "GOOGLX");
    assert_eq!(fan["timeframe"], "5m");
    assert_eq!(fan["levels"], json!([0.05, 0.25, 0.5, 0.75, 0.95]));
    assert!(
        fan["start_time"]
            .as_i64()
            .is_some_and(|t| t > 1_600_000_000),
        "{fan}"
    );
    let start_price = fan["start_price"].as_f64().unwrap();
    let steps = (fan["time_length"].as_u64().unwrap() / fan["time_increment"].as_u64().unwrap())
        as usize
        + 1;
    let minutes = fan["minutes"].as_array().unwrap();
    assert_eq!(minutes.len(), steps);
    assert_eq!(minutes[0], json!(0.0));
    let band = |p: &str| -> Vec<f64> {
        let b = fan["bands"][p].as_array().unwrap();
        assert_eq!(b.len(), steps, "{p}");
        b.iter().map(|v| v.as_f64().expect("finite band")).collect()
    };
    let (p5, p25, p50, p75, p95) = (
        band("p5"),
        band("p25"),
        band("p50"),
        band("p75"),
        band("p95"),
    );
    for t in 0..steps {
        assert!(
            p5[t] <= p25[t] && p25[t] <= p50[t] && p50[t] <= p75[t] && p75[t] <= p95[t],
            "bands out of order at step {t}"
        );
    }
    // Every path starts at the start price; the fan widens with the horizon.
    assert!((p50[0] - start_price).abs() <= 1e-6 * start_price);
    assert!(p95[steps - 1] - p5[steps - 1] > p95[1] - p5[1]);
    let realised = fan["realised"].as_array().unwrap();
    assert!(realised.len() <= steps);
    assert!(realised.iter().any(Value::is_number), "{fan}");
    assert!(fan["paths_used"].as_u64().is_some_and(|n| n >= 10), "{fan}");

    // Like the run itself, its fan is readable by every bot; only bot keys may read it.
    let (s, b) = h.call(Some(&kb), "GET", &path, None).await;
    assert_eq!((s, &b["bands"]), (200, &fan["bands"]));
    let (s, b) = h.call(None, "GET", &path, None).await;
    assert_error(s, &b, 401, "unauthorized");
    let (s, b) = h.call(Some("sck_forged"), "GET", &path, None).await;
    assert_error(s, &b, 401, "unauthorized");
    let (s, b) = h.call(Some(ADMIN), "GET", &path, None).await;
    assert_error(s, &b, 403, "forbidden");
    // Unknown runs and assets, escapes and unknown parameters.
    let (s, b) = h
        .call(Some(&ka), "GET", "/history/nope-0000/fan", None)
        .await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = h
        .call(Some(&ka), "GET", &format!("{path}?asset=BTC"), None)
        .await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = h
        .call(Some(&ka), "GET", &format!("{path}?asset=googlx"), None)
        .await;
    assert_eq!((s, &b["asset"]), (200, &json!("GOOGLX")), "{b}");
    for bad in [
        "/history/..%2F..%2Fetc/fan".to_string(),
        format!("{path}?asset=..%2Fx"),
        format!("{path}?bogus=1"),
    ] {
        let (s, b) = h.call(Some(&ka), "GET", &bad, None).await;
        assert_error(s, &b, 400, "bad_request");
    }
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_pipeline_on_data_without_training_windows_fails_its_experiment_clearly() {
    let h = EngineHarness::start().await;
    let k = h.bot("gappy").await;
    let mut events = EventStream::open(&h, &k).await;
    // GOOGLX 5m is regular-session data: no gap-free 24 h stretch, so no neural window.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/pipeline/run",
            Some(json!({"asset": "GOOGLX", "timeframe": "5m", "max_experiments": 1, "retries": 1})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    let seen = events.until_finished().await;
    let (_, done) = seen
        .iter()
        .find(|(k, _)| k == "pipeline.pipeline_complete")
        .unwrap_or_else(|| panic!("no pipeline_complete: {seen:?}"));
    assert_eq!(done["success"], false, "{done}");
    let trainer = done["summary"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "trainer")
        .unwrap_or_else(|| panic!("{done}"));
    let why = trainer["summary"].as_str().unwrap_or_default();
    assert!(
        why.contains("no GOOGLX 5m training windows") && why.contains("gap-free"),
        "unclear trainer failure: {why}"
    );
    // The pipeline ends (it does not hang) and the failed run is recorded with the reason.
    let (_, st) = h.call(Some(&k), "GET", "/pipeline/status", None).await;
    assert_eq!(st["status"], "completed", "{st}");
    assert_eq!(st["result"]["success"], false, "{st}");
    let (_, hist) = h.call(Some(&k), "GET", "/history?bot=gappy", None).await;
    let run = &hist["runs"][0];
    assert_eq!(run["status"], "failed", "{hist}");
    assert!(
        run["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("gap-free")),
        "{run}"
    );
    h.running.stop().await;
}

/// `/registry/*` over the wire: a bot writes a declarative block (checked, versioned, owned),
/// reads built-ins by their schema and its own definitions, cannot read another bot's private
/// component nor overwrite it, and runs an experiment naming its block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_write_read_and_use_their_own_components_only() {
    let h = EngineHarness::start().await;
    let a = h.bot("reg-a").await;
    let b = h.bot("reg-b").await;
    let block = r#"{"kind": "block", "summary": "gated conv", "layers": [{"op": "residual",
        "layers": [{"op": "conv1d", "kernel": 2, "mult": 2}, {"op": "gate", "kind": "glu"}]}]}"#;
    let w = json!({"name": "a_gconv", "kind": "block", "definition": block});
    let (s, v) = h
        .call(Some(&a), "POST", "/registry/write", Some(w.clone()))
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["version"].as_u64(), v["owner"].as_str()),
        (Some(1), Some("bot:reg-a"))
    );
    // A built-in is described by its parameter schema.
    let (s, v) = h
        .call(Some(&a), "GET", "/registry/read?name=lstm", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (v["builtin"].as_bool(), v["schema"]["type"].as_str()),
        (Some(true), Some("object"))
    );
    let (s, v) = h
        .call(Some(&a), "GET", "/registry/read?name=a_gconv", None)
        .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["definition"], block);
    // B: the private component does not exist for it, and it cannot take the name.
    let (s, _) = h
        .call(Some(&b), "GET", "/registry/read?name=a_gconv", None)
        .await;
    assert_eq!(s, 404);
    let (s, v) = h.call(Some(&b), "GET", "/registry/read", None).await;
    assert_eq!(s, 200);
    assert!(!v.to_string().contains("a_gconv"), "{v}");
    let (s, v) = h
        .call(Some(&b), "POST", "/registry/write", Some(w.clone()))
        .await;
    assert_eq!(s, 403, "{v}");
    // Invalid definitions and built-in names are refused.
    let huge = json!({"name": "huge", "kind": "block",
        "definition": r#"{"kind": "block", "layers": [{"op": "linear", "out": 1000000}, {"op": "linear", "out": 1000000}, {"op": "linear", "out": 32}]}"#});
    let (s, v) = h
        .call(Some(&a), "POST", "/registry/write", Some(huge))
        .await;
    assert_eq!(s, 422, "{v}");
    assert!(v.to_string().contains("parameters"), "{v}");
    let mut lstm = w.clone();
    lstm["name"] = json!("lstm");
    let (s, _) = h
        .call(Some(&a), "POST", "/registry/write", Some(lstm))
        .await;
    assert_eq!(s, 422);
    // Reload lists what A may use; A's spec naming its block validates (B's does not).
    let (s, v) = h.call(Some(&a), "POST", "/registry/reload", None).await;
    assert_eq!(s, 200);
    assert!(v["components"].to_string().contains("a_gconv"), "{v}");
    let exp = json!({"experiment": {"timeframe": "1m", "blocks": ["a_gconv"], "head": "gbm"}});
    let (s, v) = h
        .call(
            Some(&a),
            "POST",
            "/experiments/run",
            Some(json!({"experiment": {
        "timeframe": "1m", "blocks": ["a_gconv"], "head": "gbm", "d_model": 8, "seq_len": 16,
        "training": {"epochs": 1, "max_windows": 32}, "asset": "GOOGLX", "seed": 1}})),
        )
        .await;
    assert_eq!(s, 200, "{v}");
    let (s, v) = h
        .call(Some(&b), "POST", "/experiments/validate", Some(exp))
        .await;
    assert!(s != 200 || v["valid"] == false, "{s} {v}");
}
