//! Hostile input that once got through (issue 13): memory bombs, leaked server paths, unknown
//! body fields, block shapes one endpoint took and another refused, slow clients, publishing
//! twice, rankings across assets, workspace floods, and the OpenAPI document's lint.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bridge::openapi;
use serde_json::{json, Value};

use crate::engine::EngineHarness;
use crate::{assert_error, Harness};

/// 6 MLP blocks of expansion 16 at d_model 4096: about 3.2 billion parameters, 13 GB of weights.
fn memory_bomb() -> Value {
    let mlp = json!({"name": "mlp", "params": {"expansion": 16}});
    json!({"d_model": 4096, "timeframe": "5m", "blocks": vec![mlp; 6], "head": {"name": "gbm"}})
}

/// Peak resident memory of this process in bytes (Linux; nextest runs each test alone in its
/// own process, so this is the test's own peak).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[test]
fn estimate_counts_every_component_exactly_without_allocating() {
    use models::spec::{ModelSpec, Timeframe};
    // Exact: the same count as the built model, for every block and every head.
    let mut specs: Vec<ModelSpec> = models::blocks::REGISTRY
        .iter()
        .map(|b| ModelSpec::new(Timeframe::High1m, &[b.info.name], "gbm"))
        .collect();
    specs.extend(
        models::heads::REGISTRY
            .iter()
            .map(|h| ModelSpec::new(Timeframe::High1m, &["mlp"], h.info.name)),
    );
    for spec in specs {
        let e = models::estimate::estimate(&spec).unwrap();
        let built = models::neural::NeuralModel::new(spec.clone()).unwrap();
        assert_eq!(e.params, built.n_params() as u64, "{}", spec.display_name());
        assert_eq!(e.weight_bytes, e.params * 4);
        assert!(e.train_bytes > e.weight_bytes);
    }
    // Without allocating: the 13 GB memory bomb, and every block at the widest d_model.
    let before = Instant::now();
    let bomb: ModelSpec = serde_json::from_value(memory_bomb()).unwrap();
    let e = models::estimate::estimate(&bomb).unwrap();
    assert!(e.params > 3_000_000_000, "{e:?}");
    assert!(e.weight_bytes > 12_000_000_000, "{e:?}");
    for b in models::blocks::REGISTRY {
        let mut spec = ModelSpec::new(Timeframe::Low5m, &[b.info.name], "gbm");
        spec.d_model = 4096;
        if spec.validate().is_ok() {
            models::estimate::estimate(&spec).unwrap();
        }
    }
    assert!(before.elapsed() < Duration::from_secs(20));
    let peak = peak_rss().unwrap_or(0);
    assert!(peak < 1 << 30, "estimating took {peak} bytes of memory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_bomb_is_refused_before_anything_is_built_on_every_path() {
    let h = EngineHarness::start().await;
    let k = h.bot("bomber").await;
    let t0 = Instant::now();
    for path in ["/experiments/validate", "/experiments/run"] {
        let (s, b) = h
            .call(
                Some(&k),
                "POST",
                path,
                Some(json!({"experiment": memory_bomb()})),
            )
            .await;
        assert_error(s, &b, 422, "model_too_large");
        let m = b["error"]["message"].as_str().unwrap();
        assert!(
            m.contains("parameters") && m.contains("GB") && m.contains("cap"),
            "{path}: {m}"
        );
    }
    // create: the spec it would return is over the cap too.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/create",
            Some(
                json!({"blocks": ["mlp", "mlp", "mlp", "mlp", "mlp", "mlp"], "head": "gbm",
                        "overrides": {"d_model": 4096}}),
            ),
        )
        .await;
    assert_error(s, &b, 422, "model_too_large");
    // sweep: every combination is checked before any runs.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/sweep",
            Some(json!({"base": memory_bomb(), "grid": {"seed": [1, 2]}})),
        )
        .await;
    assert_error(s, &b, 422, "model_too_large");
    assert!(t0.elapsed() < Duration::from_secs(20), "{:?}", t0.elapsed());
    let peak = peak_rss().unwrap_or(0);
    assert!(peak < 1 << 30, "the bridge grew to {peak} bytes");
    // A small model still validates, with its estimate.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/validate",
            Some(json!({"experiment": {"timeframe": "5m", "blocks": [{"name": "mlp"}], "head": {"name": "gbm"}}})),
        )
        .await;
    assert_eq!((s, &b["valid"]), (200, &json!(true)), "{b}");
    assert_eq!(b["estimate"]["params"], b["param_count"], "{b}");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_response_names_a_server_path() {
    let h = EngineHarness::start().await;
    let k = h.bot("prober").await;
    let home = std::env::var(market::home::HOME_ENV).unwrap();
    let shared = market::home::shared_dir().map(|d| d.display().to_string());
    let tmp = std::env::temp_dir().display().to_string();
    let probes: Vec<(&str, String, Option<Value>)> = vec![
        ("GET", "/health".into(), None),
        ("GET", "/market/price/NOPE".into(), None),
        ("GET", "/market/history/NOPE?days=3".into(), None),
        ("GET", "/history/abcd0000-00000000".into(), None),
        ("GET", "/history/abcd0000-00000000/fan".into(), None),
        ("GET", "/champion?asset=NOPE".into(), None),
        ("GET", "/workspace/file?path=missing.txt".into(), None),
        ("GET", "/workspace/file?path=../../etc/passwd".into(), None),
        (
            "POST",
            "/publish".into(),
            Some(json!({"run_id": "abcd0000-00000000"})),
        ),
        (
            "POST",
            "/experiments/run".into(),
            Some(json!({"experiment": {"preset": "gbm", "asset": "NOPE"}})),
        ),
        (
            "POST",
            "/experiments/validate".into(),
            Some(json!({"experiment": {"timeframe": "5m", "blocks": ["nope"], "head": "gbm"}})),
        ),
        ("GET", "/me".into(), None),
        ("GET", "/session".into(), None),
    ];
    for (method, path, body) in probes {
        let (s, b) = h.call(Some(&k), method, &path, body).await;
        let text = b.to_string();
        for prefix in [Some(home.clone()), shared.clone(), Some(tmp.clone())]
            .into_iter()
            .flatten()
        {
            assert!(
                !text.contains(prefix.trim_end_matches('/')),
                "{method} {path} ({s}) names {prefix}: {text}"
            );
        }
        assert!(
            !text.contains("/root/") && !text.contains("/home/"),
            "{text}"
        );
    }
    h.running.stop().await;
}

#[test]
fn redaction_keeps_url_paths_and_cuts_server_paths() {
    let tmp = std::env::temp_dir().join("x").join("BTC.csv");
    let m = format!(
        "no data in {} (see /openapi.json, GET /history/abc)",
        tmp.display()
    );
    let r = bridge::error::redact_paths(&m);
    assert_eq!(
        r,
        "no data in BTC.csv (see /openapi.json, GET /history/abc)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_body_fields_are_errors_everywhere() {
    let h = Harness::start().await;
    let k = h.bot("typo").await;
    let cases = [
        (
            "POST",
            "/experiments/run",
            json!({"experiment": {"preset": "gbm"}, "asset": "ETH"}),
        ),
        (
            "POST",
            "/experiments/validate",
            json!({"experiment": {"preset": "gbm"}, "asset": "ETH"}),
        ),
        (
            "POST",
            "/experiments/sweep",
            json!({"presets": ["gbm"], "asset": "ETH"}),
        ),
        (
            "POST",
            "/publish",
            json!({"run_id": "abcd0000-00000000", "force": true}),
        ),
        (
            "PUT",
            "/workspace/file?path=a.txt",
            json!({"content": "x", "mode": "0777"}),
        ),
        (
            "POST",
            "/pipeline/run",
            json!({"asset": "BTC", "max_experiment": 3}),
        ),
    ];
    for (method, path, body) in cases {
        let (s, b) = h.call(Some(&k), method, path, Some(body)).await;
        assert_error(s, &b, 400, "bad_request");
        assert!(
            b["error"]["message"]
                .as_str()
                .unwrap()
                .contains("unknown field"),
            "{path}: {b}"
        );
    }
    let (s, b) = h
        .call(
            Some(crate::ADMIN),
            "POST",
            "/admin/bots",
            Some(json!({"bot_id": "x", "admin": true})),
        )
        .await;
    assert_error(s, &b, 400, "bad_request");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_given_as_names_work_in_create_validate_and_run() {
    let h = EngineHarness::start().await;
    let k = h.bot("shapes").await;
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/create",
            Some(json!({"blocks": ["lstm"], "head": "gbm", "timeframe": "1m"})),
        )
        .await;
    assert_eq!((s, &b["validation"]["valid"]), (200, &json!(true)), "{b}");
    // Unknown fields are refused here too.
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/create",
            Some(json!({"preset": "gbm", "asset": "ETH"})),
        )
        .await;
    assert_error(s, &b, 400, "bad_request");
    assert!(b.to_string().contains("unknown field `asset`"), "{b}");
    // ... and inside an experiment: a misspelt run setting of a baseline, or of a neural spec.
    for e in [
        json!({"preset": "gbm", "asst": "ETH"}),
        json!({"timeframe": "1m", "blocks": ["mlp"], "head": "gbm", "asst": "ETH"}),
    ] {
        let (s, b) = h
            .call(
                Some(&k),
                "POST",
                "/experiments/run",
                Some(json!({"experiment": e})),
            )
            .await;
        assert!(s == 400 || s == 422, "{s} {b}");
        assert!(b.to_string().contains("unknown field `asst`"), "{b}");
    }
    // The shape create takes (names), and a mix, in validate.
    for blocks in [json!(["lstm"]), json!(["lstm", {"name": "mlp"}])] {
        let (s, b) = h
            .call(
                Some(&k),
                "POST",
                "/experiments/validate",
                Some(json!({"experiment": {"timeframe": "1m", "blocks": blocks, "head": "gbm"}})),
            )
            .await;
        assert_eq!((s, &b["valid"]), (200, &json!(true)), "{b}");
    }
    // ... and in run (a tiny model on a small real asset).
    let tiny = json!({"timeframe": "1m", "blocks": ["mlp"], "head": "gbm", "d_model": 8,
        "seq_len": 16, "asset": "GOOGLX", "seed": 3,
        "training": {"epochs": 1, "max_windows": 64, "batch_size": 16, "n_paths": 8}});
    let (s, b) = h
        .call(
            Some(&k),
            "POST",
            "/experiments/run",
            Some(json!({"experiment": tiny})),
        )
        .await;
    assert!(
        !b.to_string().contains("invalid type"),
        "the bare block name was refused: {b}"
    );
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["blocks"], json!(["mlp"]), "{b}");
    h.running.stop().await;
}

/// Opens a raw connection to the bridge.
fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads until the server closes or sends something; true when it closed (or reset).
fn closed_or_answered(s: &mut TcpStream) -> (bool, String) {
    let mut buf = [0u8; 4096];
    match s.read(&mut buf) {
        Ok(0) => (true, String::new()),
        Ok(n) => (true, String::from_utf8_lossy(&buf[..n]).into_owned()),
        Err(e)
            if e.kind() == std::io::ErrorKind::WouldBlock
                || e.kind() == std::io::ErrorKind::TimedOut =>
        {
            (false, String::new())
        }
        Err(_) => (true, String::new()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_off_and_slow_bodies_get_408() {
    let h = Harness::start_with(|c| {
        c.header_timeout = Duration::from_secs(1);
        c.body_timeout = Duration::from_secs(1);
    })
    .await;
    let k = h.bot("slowpoke").await;
    let addr = h.running.addr;
    let t0 = Instant::now();
    let closed = tokio::task::spawn_blocking(move || {
        // 45 with half a request, 5 that never send a byte.
        let mut conns: Vec<TcpStream> = (0..50)
            .map(|i| {
                let mut s = connect(addr);
                if i % 10 != 0 {
                    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                        .unwrap();
                }
                s
            })
            .collect();
        conns
            .iter_mut()
            .map(|s| closed_or_answered(s).0)
            .filter(|c| *c)
            .count()
    })
    .await
    .unwrap();
    assert_eq!(closed, 50, "connections with unfinished headers left open");
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());

    // A body trickled in 10-byte pieces: 408 once the body deadline passes.
    let t0 = Instant::now();
    let (closed, answer) = tokio::task::spawn_blocking(move || {
        let mut s = connect(addr);
        let head = format!(
            "POST /experiments/validate HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {k}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        );
        s.write_all(head.as_bytes()).unwrap();
        s.set_nonblocking(true).unwrap();
        let mut got = Vec::new();
        for _ in 0..40 {
            let _ = s.write_all(b"{\"experim ");
            std::thread::sleep(Duration::from_millis(200));
            let mut buf = [0u8; 4096];
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    break;
                }
                Err(_) => {}
            }
        }
        (!got.is_empty(), String::from_utf8_lossy(&got).into_owned())
    })
    .await
    .unwrap();
    assert!(closed, "no answer to a trickled body");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(t0.elapsed() < Duration::from_secs(6), "{:?}", t0.elapsed());

    // Ordinary requests are unaffected.
    let (s, _) = h.call(None, "GET", "/health", None).await;
    assert_eq!(s, 200);
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranking_uses_the_ratio_to_the_baseline_per_asset_and_timeframe() {
    let h = Harness::start().await;
    let k = h.bot("ranker").await;
    let run = |id: &str, asset: &str, crps: f64, ratio: f64| {
        json!({"id": id, "bot_id": "ranker", "asset": asset, "timeframe": "5m", "crps": crps,
               "baseline_ratio": ratio, "model": "m", "created_at": "2026-12-01T00:00:00Z"})
    };
    // Raw CRPS order: eth-b, eth-a, btc-b, btc-a. Against the baseline: btc-a and eth-a win.
    *h.backend.history_override.lock().unwrap() = Some(json!({"runs": [
        run("eth-b", "ETH", 5.0, 1.2), run("eth-a", "ETH", 6.0, 0.8),
        run("btc-b", "BTC", 80.0, 1.1), run("btc-a", "BTC", 100.0, 0.9),
    ]}));
    let (s, b) = h.call(Some(&k), "GET", "/ranking", None).await;
    assert_eq!(s, 200, "{b}");
    let r = b["ranking"].as_array().unwrap();
    assert!(r.iter().all(|e| e["baseline_ratio"].is_number()), "{b}");
    let rank_of = |id: &str| {
        r.iter()
            .find(|e| e["id"] == id)
            .map(|e| e["rank"].as_u64().unwrap())
            .unwrap()
    };
    assert_eq!(
        (
            rank_of("btc-a"),
            rank_of("btc-b"),
            rank_of("eth-a"),
            rank_of("eth-b")
        ),
        (1, 2, 1, 2),
        "{b}"
    );
    assert_eq!(r[0]["id"], "eth-a", "best ratio first: {b}");
    // One asset and timeframe: CRPS is comparable, and ranks.
    let (s, b) = h
        .call(Some(&k), "GET", "/ranking?asset=BTC&timeframe=5m", None)
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["ranked_by"], "crps", "{b}");
    assert!(b["ranking"][0]["baseline_ratio"].is_number(), "{b}");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workspace_quota_stops_a_flood_with_507() {
    let h = Harness::start_with(|c| {
        c.workspace_quota = bridge::WorkspaceQuota {
            max_bytes: 10 << 20,
            max_files: 40,
        };
    })
    .await;
    let k = h.bot("flood").await;
    let content = "x".repeat(1_000_000);
    let mut written = 0;
    let mut refused = None;
    for i in 0..60 {
        let (s, b) = h
            .call(
                Some(&k),
                "PUT",
                &format!("/workspace/file?path=f{i}.txt"),
                Some(json!({"content": content})),
            )
            .await;
        if s == 200 {
            written += 1;
        } else {
            refused = Some((s, b));
            break;
        }
    }
    assert_eq!(written, 10);
    let (s, b) = refused.unwrap();
    assert_error(s, &b, 507, "quota_exceeded");
    // Overwriting within the quota, and deleting to make room, still work.
    let (s, b) = h
        .call(
            Some(&k),
            "PUT",
            "/workspace/file?path=f0.txt",
            Some(json!({"content": "small"})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Too many files.
    let h2 = Harness::start_with(|c| {
        c.workspace_quota = bridge::WorkspaceQuota {
            max_bytes: 10 << 20,
            max_files: 3,
        };
    })
    .await;
    let k2 = h2.bot("many").await;
    for i in 0..4 {
        let (s, b) = h2
            .call(
                Some(&k2),
                "PUT",
                &format!("/workspace/file?path=n{i}.txt"),
                Some(json!({"content": "x"})),
            )
            .await;
        if i < 3 {
            assert_eq!(s, 200, "{b}");
        } else {
            assert_error(s, &b, 507, "quota_exceeded");
        }
    }
    h.running.stop().await;
    h2.running.stop().await;
}

#[test]
fn openapi_every_operation_has_an_id_a_4xx_answer_and_servers() {
    let doc = openapi::document();
    assert!(
        doc["servers"]
            .as_array()
            .is_some_and(|s| !s.is_empty() && s.iter().all(|x| x["url"].is_string())),
        "no servers"
    );
    let mut ids = std::collections::BTreeSet::new();
    let mut n = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            n += 1;
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: no operationId"));
            assert!(id.chars().all(|c| c.is_ascii_alphanumeric()), "{id}");
            assert!(ids.insert(id.to_string()), "duplicate operationId {id}");
            let responses = op["responses"].as_object().unwrap();
            assert!(
                responses.keys().any(|c| c.starts_with('4')),
                "{method} {path}: no 4xx response"
            );
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{method} {path}: no 2xx response"
            );
        }
    }
    assert_eq!(n, openapi::ROUTES.len());
}

/// Lints the document with redocly (`@redocly/cli`): installed in `$REDOCLY_CACHE` (default
/// `~/.cache/synth-city/redocly`) with `npm install --prefix <dir> @redocly/cli`. Skipped,
/// visibly, when node or the package is missing.
#[test]
fn openapi_lints_clean_with_redocly() {
    let cache = std::env::var("REDOCLY_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            std::path::PathBuf::from(std::env::var("HOME").unwrap_or_default())
                .join(".cache/synth-city/redocly")
        });
    let bin = cache.join("node_modules/.bin/redocly");
    if !bin.is_file() {
        eprintln!(
            "SKIP: redocly not installed at {} (npm install --prefix {} @redocly/cli)",
            bin.display(),
            cache.display()
        );
        return;
    }
    if std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIP: node is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(
        &file,
        serde_json::to_vec_pretty(&openapi::document()).unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new(&bin)
        .args(["lint", "--format", "json"])
        .arg(&file)
        .env("REDOCLY_TELEMETRY", "off")
        .env("REDOCLY_SUPPRESS_UPDATE_NOTICE", "true")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = stdout
        .find('{')
        .and_then(|i| serde_json::from_str(&stdout[i..]).ok())
        .unwrap_or_else(|| {
            panic!(
                "redocly gave no JSON report:\n{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
    let totals = &report["totals"];
    assert_eq!(
        (totals["errors"].as_u64(), totals["warnings"].as_u64()),
        (Some(0), Some(0)),
        "redocly lint problems: {:#}",
        report["problems"]
    );
    assert!(out.status.success());
}
