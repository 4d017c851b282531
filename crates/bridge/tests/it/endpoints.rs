//! Every route of the OpenAPI table answers with the right status and content, and errors
//! (including tool failures) are never 200.

use std::collections::BTreeSet;

use bridge::openapi::ROUTES;
use serde_json::{json, Value};

use crate::{assert_error, Harness, ADMIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers() {
    let h = Harness::start().await;
    let k = h.bot("walker").await;
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut hit = |m: &str, t: &str| {
        seen.insert((m.to_string(), t.to_string()));
    };

    // Public.
    let r = h.http.get(format!("{}/", h.url)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("synth-city bridge"));
    hit("GET", "/");
    let (s, b) = h.call(None, "GET", "/health", None).await;
    assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
    assert_eq!(b["jobs"]["max_running"], 3);
    hit("GET", "/health");
    let (s, doc) = h.call(None, "GET", "/openapi.json", None).await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/pipeline/run"]["post"].is_object());
    let fan = &doc["paths"]["/history/{id}/fan"]["get"];
    let params: Vec<(&str, &str)> = fan["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(params, [("id", "path"), ("asset", "query")], "{fan}");
    assert_eq!(
        fan["responses"]["200"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Fan"
    );
    assert!(doc["components"]["schemas"]["Fan"]["properties"]["bands"].is_object());
    // Every documented query parameter belongs to a documented route.
    for (path, name, _, _) in bridge::openapi::QUERY {
        assert!(
            ROUTES.iter().any(|r| r.1 == *path),
            "query {name} of undocumented {path}"
        );
    }
    hit("GET", "/openapi.json");

    let ok = |s: u16, b: &Value| assert!((200..300).contains(&s), "status {s}: {b}");
    let (s, b) = h.call(Some(&k), "GET", "/me", None).await;
    ok(s, &b);
    assert_eq!(b["bot_id"], "walker");
    hit("GET", "/me");

    // Components.
    let (s, b) = h.call(Some(&k), "GET", "/components/blocks", None).await;
    ok(s, &b);
    assert!(b["blocks"].is_array());
    hit("GET", "/components/blocks");
    let (s, b) = h.call(Some(&k), "GET", "/components/heads", None).await;
    ok(s, &b);
    assert_eq!(b["heads"].as_array().unwrap().len(), 3);
    hit("GET", "/components/heads");
    let (s, b) = h.call(Some(&k), "GET", "/components/presets", None).await;
    ok(s, &b);
    assert_eq!(b["presets"][0]["name"], "gbm_5m");
    hit("GET", "/components/presets");

    // Experiments.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/create",
            Some(json!({"head": "student_t", "overrides": {"asset": "eth"}})),
        )
        .await;
    ok(s, &b);
    assert_eq!(b["experiment"]["asset"], "ETH");
    assert_eq!(b["experiment"]["n_paths"], 100);
    hit("POST", "/experiments/create");
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/create",
            Some(json!({"head": "nope"})),
        )
        .await;
    assert_error(s, &b, 422, "invalid");
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/validate",
            Some(json!({"experiment": {"model": "gbm", "n_paths": 5}})),
        )
        .await;
    ok(s, &b);
    assert_eq!(b["valid"], false);
    assert!(b["errors"][0].as_str().unwrap().contains("n_paths"));
    hit("POST", "/experiments/validate");
    let (s, b) = h
        .call(Some(&k), "POST", "/experiments/validate", Some(json!({})))
        .await;
    assert_error(s, &b, 400, "bad_request");
    let spec = json!({"model": "gbm", "asset": "BTC", "timeframe": "5m", "lookback": 288, "n_paths": 50, "windows": 2});
    let (s, run) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/run",
            Some(json!({"experiment": spec})),
        )
        .await;
    ok(s, &run);
    let crps = run["crps"].as_f64().unwrap();
    assert!(crps.is_finite() && crps > 0.0, "{run}");
    assert_eq!(run["bot_id"], "walker");
    assert_eq!(run["windows"].as_array().unwrap().len(), 2);
    hit("POST", "/experiments/run");
    // A tool failure is not 200: invalid spec at run time.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/run",
            Some(json!({"experiment": {"model": "gbm", "asset": "DOGE"}})),
        )
        .await;
    assert_error(s, &b, 422, "invalid");
    let sweep = json!({"base": {"asset": "BTC", "n_paths": 20, "windows": 1}, "grid": {"model": ["gbm", "bootstrap"]}});
    let (s, b) = h
        .call(Some(&k), "POST", "/experiments/sweep", Some(sweep))
        .await;
    ok(s, &b);
    assert_eq!(b["results"].as_array().unwrap().len(), 2);
    assert!(b["best"]["crps"].as_f64().is_some());
    hit("POST", "/experiments/sweep");
    let (s, b) = h.call(Some(&k), "GET", "/experiments/compare", None).await;
    ok(s, &b);
    assert_eq!(b["total"], 3);
    let c: Vec<f64> = b["ranking"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["crps"].as_f64().unwrap())
        .collect();
    assert!(c.windows(2).all(|w| w[0] <= w[1]), "{c:?}");
    hit("GET", "/experiments/compare");
    for path in ["/ranking", "/experiments/compare/all"] {
        let (s, b) = h
            .call(Some(&k), "GET", &format!("{path}?limit=2"), None)
            .await;
        ok(s, &b);
        assert_eq!(b["total"], 2);
        assert_eq!(b["ranking"][0]["bot_id"], "walker");
        assert_eq!(b["ranking"][0]["rank"], 1);
        hit("GET", path);
    }

    // Session.
    let (s, b) = h.call(Some(&k), "GET", "/session", None).await;
    ok(s, &b);
    assert_eq!(b["num_experiments"], 3);
    assert!(
        !b.to_string().contains(h.dir.path().to_str().unwrap()),
        "server paths leak: {b}"
    );
    hit("GET", "/session");
    let (s, b) = h.call(Some(&k), "GET", "/session/summary", None).await;
    ok(s, &b);
    assert_eq!(b["results"].as_array().unwrap().len(), 3);
    hit("GET", "/session/summary");

    // Registry.
    let (s, b) = h
        .call(Some(&k), "GET", "/history?order=recent&limit=10", None)
        .await;
    ok(s, &b);
    assert_eq!(b["total"], 3);
    hit("GET", "/history");
    let (s, b) = h
        .call(Some(&k), "GET", "/history?order=sideways", None)
        .await;
    assert_error(s, &b, 400, "bad_request");
    let id = run["id"].as_str().unwrap();
    let (s, b) = h
        .call(Some(&k), "GET", &format!("/history/{id}"), None)
        .await;
    ok(s, &b);
    assert_eq!(b["crps"].as_f64(), Some(crps));
    hit("GET", "/history/{id}");
    // The double keeps no sampled paths: a clear 404 (the engine's fans: tests/it/engine.rs).
    let (s, b) = h
        .call(Some(&k), "GET", &format!("/history/{id}/fan"), None)
        .await;
    assert_error(s, &b, 404, "not_found");
    hit("GET", "/history/{id}/fan");
    let (s, b) = h.call(Some(&k), "GET", "/history/run-missing", None).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = h
        .call(Some(&k), "GET", "/champion?asset=BTC&timeframe=5m", None)
        .await;
    ok(s, &b);
    assert_eq!(b["champions"].as_array().unwrap().len(), 1);
    hit("GET", "/champion");

    // Market.
    let (s, b) = h.call(Some(&k), "GET", "/market/price/btc", None).await;
    ok(s, &b);
    assert_eq!(b["asset"], "BTC");
    assert!(b["price"].as_f64().unwrap() > 0.0);
    hit("GET", "/market/price/{asset}");
    let (s, b) = h.call(Some(&k), "GET", "/market/price/DOGE", None).await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = h
        .call(Some(&k), "GET", "/market/history/ETH?days=7", None)
        .await;
    ok(s, &b);
    let candles = b["candles"].as_array().unwrap();
    assert!(
        !candles.is_empty() && candles.len() <= 7,
        "{}",
        candles.len()
    );
    assert!(candles.iter().all(|c| c["h"].as_f64() >= c["l"].as_f64()));
    hit("GET", "/market/history/{asset}");
    let (s, b) = h
        .call(Some(&k), "GET", "/market/history/ETH?days=0", None)
        .await;
    assert_error(s, &b, 400, "bad_request");

    // Publishing and agents.
    let (s, b) = h
        .call(Some(&k), "POST", "/publish", Some(json!({"run_id": id})))
        .await;
    ok(s, &b);
    assert_eq!(b["status"], "published");
    assert!(h
        .dir
        .path()
        .join(format!("stand-in/published/{id}.json"))
        .is_file());
    let (s, b) = h
        .call(Some(&k), "POST", "/publish", Some(json!({"run_id": id})))
        .await;
    assert_error(s, &b, 409, "conflict");
    hit("POST", "/publish");
    let (s, b) = h.call(Some(&k), "GET", "/agents", None).await;
    ok(s, &b);
    assert_eq!(b["stages"].as_array().unwrap().len(), 4);
    hit("GET", "/agents");

    // Workspace.
    let (s, b) = h
        .call(
            Some(&k),
            "PUT",
            "/workspace/file?path=notes/a.md",
            Some(json!({"content": "hi"})),
        )
        .await;
    ok(s, &b);
    assert_eq!(b["bytes"], 2);
    hit("PUT", "/workspace/file");
    let (s, b) = h
        .call(Some(&k), "GET", "/workspace/file?path=notes/a.md", None)
        .await;
    ok(s, &b);
    assert_eq!(b["content"], "hi");
    hit("GET", "/workspace/file");
    let (s, b) = h.call(Some(&k), "GET", "/workspace/files", None).await;
    ok(s, &b);
    assert_eq!(b["files"], json!([{"path": "notes/a.md", "bytes": 2}]));
    hit("GET", "/workspace/files");
    let (s, b) = h
        .call(Some(&k), "DELETE", "/workspace/file?path=notes/a.md", None)
        .await;
    ok(s, &b);
    hit("DELETE", "/workspace/file");

    // Pipeline.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/pipeline/run",
            Some(json!({"temperature": 5.0})),
        )
        .await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/pipeline/run",
            Some(json!({"asset": "BTC", "max_experiments": 2})),
        )
        .await;
    assert_eq!(s, 202, "{b}");
    hit("POST", "/pipeline/run");
    let p = h.wait_pipeline(&k).await;
    assert_eq!(p["status"], "completed", "{p}");
    assert_eq!(p["stage"], "checker");
    assert_eq!(p["result"]["experiments"], 2);
    hit("GET", "/pipeline/status");
    let (s, b) = h.call(Some(&k), "POST", "/pipeline/stop", None).await;
    assert_error(s, &b, 409, "conflict");
    hit("POST", "/pipeline/stop");

    // Events.
    let (s, b) = h.call(Some(&k), "GET", "/events/recent", None).await;
    ok(s, &b);
    let kinds: Vec<&str> = b["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert!(
        kinds.contains(&"pipeline.finished") && kinds.contains(&"experiment.finished"),
        "{kinds:?}"
    );
    hit("GET", "/events/recent");
    let mut r = h
        .http
        .get(format!("{}/events?after=0", h.url))
        .bearer_auth(&k)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "text/event-stream");
    let chunk = String::from_utf8(r.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(
        chunk.contains("data:") && chunk.contains("walker"),
        "{chunk}"
    );
    drop(r);
    hit("GET", "/events");
    let mut r = h
        .http
        .get(format!("{}/admin/events?after=0", h.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(
        String::from_utf8(r.chunk().await.unwrap().unwrap().to_vec())
            .unwrap()
            .contains("data:")
    );
    drop(r);
    hit("GET", "/admin/events");
    let (s, b) = h
        .call(Some(ADMIN), "GET", "/admin/events/recent", None)
        .await;
    ok(s, &b);
    assert!(b["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["kind"] == "bot.created"));
    hit("GET", "/admin/events/recent");

    // Admin.
    hit("POST", "/admin/bots");
    let (s, b) = h.call(Some(ADMIN), "GET", "/admin/bots", None).await;
    ok(s, &b);
    assert_eq!(b["bots"][0]["bot_id"], "walker");
    hit("GET", "/admin/bots");
    let (s, b) = h.call(Some(ADMIN), "GET", "/admin/sessions", None).await;
    ok(s, &b);
    assert_eq!(b["sessions"][0]["bot_id"], "walker");
    hit("GET", "/admin/sessions");
    let (s, b) = h
        .call(Some(ADMIN), "GET", "/admin/sessions/walker", None)
        .await;
    ok(s, &b);
    assert_eq!(b["num_experiments"], 3);
    hit("GET", "/admin/sessions/{id}");
    let (s, b) = h
        .call(Some(ADMIN), "DELETE", "/admin/sessions/walker", None)
        .await;
    ok(s, &b);
    hit("DELETE", "/admin/sessions/{id}");
    let (s, b) = h.call(Some(&k), "POST", "/session/clear", None).await;
    ok(s, &b);
    assert_eq!(b["removed"], 3);
    hit("POST", "/session/clear");
    let (s, b) = h
        .call(Some(ADMIN), "DELETE", "/admin/bots/walker", None)
        .await;
    ok(s, &b);
    hit("DELETE", "/admin/bots/{id}");

    // The intelligence services, without their keys (tests/it/services.rs calls them for real):
    // each answers 503 naming the variable; the model list asks a closed loopback port.
    for v in [
        "DESEARCH_API_KEY",
        "MC_API",
        "MACROCOSMOS_API_KEY",
        "GRADIENTS_API_KEY",
        "CHUTES_API_KEY",
    ] {
        std::env::remove_var(v);
    }
    std::env::set_var("CHUTES_BASE_URL", "http://127.0.0.1:9/v1");
    std::env::set_var("SYNTH_CITY_HOME", h.dir.path());
    let k2 = h.bot("scout").await;
    for (m, p, body, want) in [
        (
            "POST",
            "/services/search",
            Some(json!({"query": "btc"})),
            503,
        ),
        ("GET", "/services/models", None, 503),
        ("GET", "/services/social", None, 200),
        (
            "POST",
            "/services/social/tasks",
            Some(json!({"keywords": ["btc"]})),
            503,
        ),
        ("GET", "/services/social/tasks/{id}", None, 503),
        (
            "POST",
            "/services/gradients/jobs",
            Some(json!({"base_model": "Qwen/Q", "dataset": "me/plans"})),
            503,
        ),
        ("GET", "/services/gradients/jobs", None, 200),
        ("GET", "/services/gradients/jobs/{id}", None, 503),
        ("DELETE", "/services/gradients/jobs/{id}", None, 503),
    ] {
        let (s, b) = h.call(Some(&k2), m, &p.replace("{id}", "t-1"), body).await;
        assert_eq!(s, want, "{m} {p}: {b}");
        hit(m, p);
    }

    // The test double keeps no component registry and no agent definitions: 404 (the engine's
    // are tested in engine.rs).
    for (m, p, body) in [
        ("GET", "/registry/read", None),
        (
            "POST",
            "/registry/write",
            Some(json!({"name": "x", "kind": "block", "definition": "{}"})),
        ),
        ("POST", "/registry/reload", None),
        ("GET", "/agents/stored", None),
        (
            "POST",
            "/agents/write",
            Some(json!({"name": "scout", "system_prompt": "Look around."})),
        ),
        (
            "POST",
            "/agents/prompts/write",
            Some(json!({"name": "terse", "text": "Be brief."})),
        ),
    ] {
        let (s, b) = h.call(Some(&k2), m, p, body).await;
        assert_eq!(s, 404, "{m} {p}: {b}");
        hit(m, p);
    }

    let all: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
        .collect();
    let missing: Vec<_> = all.difference(&seen).collect();
    assert!(missing.is_empty(), "routes not exercised: {missing:?}");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_json_errors() {
    let h = Harness::start().await;
    let k = h.bot("picky").await;
    let raw = |body: &'static str| {
        h.http
            .post(format!("{}/experiments/validate", h.url))
            .bearer_auth(&k)
            .header("content-type", "application/json")
            .body(body)
    };
    let r = raw("{not json").send().await.unwrap();
    let (s, b) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_error(s, &b, 400, "bad_request");
    let r = raw("[1, 2]").send().await.unwrap();
    let (s, b) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_error(s, &b, 400, "bad_request");
    assert!(b["error"]["message"].as_str().unwrap().contains("list"));
    let big = format!(
        "{{\"experiment\": {{}}, \"pad\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    let r = h
        .http
        .post(format!("{}/experiments/validate", h.url))
        .bearer_auth(&k)
        .header("content-type", "application/json")
        // The server answers 413 without reading the body and drops the connection; keep the
        // client from reusing it for the next request.
        .header("connection", "close")
        .body(big)
        .send()
        .await
        .unwrap();
    let (s, b) = (r.status().as_u16(), r.json::<Value>().await.unwrap());
    assert_error(s, &b, 413, "payload_too_large");
    let (s, b) = h.call(Some(&k), "GET", "/no/such/thing", None).await;
    assert_error(s, &b, 404, "not_found");
    let (s, b) = h.call(Some(&k), "DELETE", "/health", None).await;
    assert_error(s, &b, 405, "method_not_allowed");
    let (s, b) = h.call(Some(&k), "GET", "/history?limit=abc", None).await;
    assert_error(s, &b, 400, "bad_request");
    h.running.stop().await;
}
