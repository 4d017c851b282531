//! CLI tests of the intelligence services: `synth-city search` and `synth-city agents models`
//! against a one-thread stub on 127.0.0.1 speaking the services' protocol, and their messages
//! when no key is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(crate::bin());
    c.args(args)
        .env_remove("DESEARCH_API_KEY")
        .env_remove("DESEARCH_BASE_URL")
        .env_remove("CHUTES_API_KEY")
        .env_remove("CHUTES_BASE_URL")
        .current_dir(std::env::temp_dir());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Serves `n` requests: Desearch's search and Chutes' model list; sends each request's first
/// line, `Authorization` header and body back through the channel.
fn stub(n: usize) -> (String, mpsc::Receiver<(String, String, String)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in l.incoming().take(n) {
            let Ok(mut s) = stream else { continue };
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).ok();
            let (mut len, mut auth) = (0usize, String::new());
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
                let lower = h.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("authorization:") {
                    auth = h["authorization:".len()..].trim().to_string();
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).ok();
            let (extra, answer) = if line.contains("/desearch/ai/search") {
                (
                    "x-desearch-cost-usd: 0.003\r\n",
                    r#"{"tweets":[{"id":"5","text":"ETH upgrade date set","created_at":"2026-12-06T07:00:00Z","like_count":3,"retweet_count":1,"reply_count":0,"quote_count":0,"bookmark_count":0,"user":{"username":"dev"}}],"search":[{"title":"ETH news","snippet":"Upgrade","link":"https://news.example/eth"}]}"#,
                )
            } else {
                (
                    "",
                    r#"{"data":[{"id":"zai-org/GLM-5.2-TEE","supported_features":["tools","reasoning"],"context_length":202752,"pricing":{"prompt":0.4,"completion":1.6}},{"id":"small/model"}]}"#,
                )
            };
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = tx.send((line, auth, String::from_utf8_lossy(&body).into_owned()));
        }
    });
    (format!("http://{addr}"), rx)
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn search_without_a_key_names_the_variable() {
    let o = run(&["search", "btc"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("set DESEARCH_API_KEY"), "{}", text(&o));
    let o = run(
        &["search", "btc", "--since", "forever"],
        &[("DESEARCH_API_KEY", "k")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--since"), "{}", text(&o));
}

#[test]
fn search_prints_normalised_hits_and_the_cost() {
    let (base, rx) = stub(2);
    let env = [
        ("DESEARCH_API_KEY", "dk_1"),
        ("DESEARCH_BASE_URL", base.as_str()),
    ];
    let o = run(
        &[
            "search",
            "ETH upgrade",
            "--sources",
            "x,web",
            "--since",
            "2d",
            "--json",
        ],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let (line, auth, body) = rx.recv().unwrap();
    assert!(line.starts_with("POST /desearch/ai/search "), "{line}");
    assert_eq!(auth, "dk_1", "the raw key, no Bearer");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["tools"], serde_json::json!(["twitter", "web"]));
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(out["cost"]["usd"], 0.003);
    assert_eq!(out["results"].as_array().unwrap().len(), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("cost $0.0030"));

    let o = run(&["search", "ETH upgrade"], &env);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("[twitter] 2026-12-06T07:00:00Z @dev"), "{out}");
    assert!(out.contains("https://news.example/eth"), "{out}");
}

#[test]
fn agents_models_lists_prices_and_the_recommendation() {
    let (base, rx) = stub(2);
    let v1 = format!("{base}/v1");
    let o = run(&["agents", "models"], &[("CHUTES_BASE_URL", v1.as_str())]);
    assert!(o.status.success(), "{}", text(&o));
    let (line, auth, _) = rx.recv().unwrap();
    assert!(line.starts_with("GET /v1/models "), "{line}");
    assert_eq!(auth, "", "no key, no Authorization");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("zai-org/GLM-5.2-TEE"), "{out}");
    assert!(out.contains("1.60"), "{out}");
    assert!(out.contains("[recommended: tool use]"), "{out}");
    let o = run(
        &["agents", "models", "--feature", "tools", "--json"],
        &[
            ("CHUTES_BASE_URL", v1.as_str()),
            ("CHUTES_API_KEY", "cpk_x"),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(rx.recv().unwrap().1, "Bearer cpk_x");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["models"].as_array().unwrap().len(), 1);
    assert_eq!(v["recommended"]["tools"], "zai-org/GLM-5.2-TEE");
}

#[test]
fn openclaw_install_chutes_writes_the_provider_without_the_key() {
    let (base, rx) = stub(1);
    let v1 = format!("{base}/v1");
    let home = tempfile::tempdir().unwrap();
    let cfg = home.path().join("oc/openclaw.json");
    let ws = home.path().join("ws");
    let openclaw = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("openclaw"))
        .find(|p| p.is_file());
    let mut c = Command::new(crate::bin());
    c.args(["openclaw", "install", "--chutes", "--key", "sck_bot"])
        .arg("--config")
        .arg(&cfg)
        .arg("--workspace")
        .arg(&ws)
        .env("HOME", home.path())
        .env("SYNTH_CITY_HOME", home.path())
        .env("CHUTES_BASE_URL", &v1)
        .env("CHUTES_API_KEY", "cpk_secret_value")
        .env_remove("OPENCLAW_CONFIG_PATH")
        .env_remove("OPENCLAW_STATE_DIR")
        .env_remove("OPENCLAW_HOME");
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(rx.recv().unwrap().1, "Bearer cpk_secret_value");
    let raw = std::fs::read_to_string(&cfg).unwrap();
    assert!(
        !raw.contains("cpk_secret_value"),
        "the key value is never written"
    );
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let p = &v["models"]["providers"]["chutes"];
    assert_eq!(p["baseUrl"], v1);
    assert_eq!(p["apiKey"]["id"], "CHUTES_API_KEY");
    assert_eq!(p["models"][0]["id"], "zai-org/GLM-5.2-TEE");
    assert_eq!(p["models"][0]["contextWindow"], 202752);
    assert_eq!(
        v["agents"]["defaults"]["model"]["primary"],
        "chutes/zai-org/GLM-5.2-TEE"
    );
    // The synth-city skill's entry is there too.
    assert_eq!(v["skills"]["entries"]["synth-city"]["apiKey"], "sck_bot");
    let err = String::from_utf8_lossy(&o.stderr);
    match openclaw {
        Some(_) => assert!(
            err.contains("ok    openclaw config validate: valid"),
            "{err}"
        ),
        None => {
            println!("SKIP: openclaw CLI not on PATH; the config was not validated by OpenClaw")
        }
    }
}
