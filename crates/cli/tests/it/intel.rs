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
    for v in [
        "MC_API",
        "MACROCOSMOS_API_KEY",
        "MACROCOSMOS_BASE_URL",
        "GRADIENTS_API_KEY",
        "GRADIENTS_API_URL",
        "LLM_BASE_URL",
        "LLM_API_KEY",
        "LLM_MODEL",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

/// Serves `n` requests: Desearch's search and Chutes' model list; sends each request's first
/// line, `Authorization` header and body back through the channel.
fn stub(n: usize) -> (String, mpsc::Receiver<(String, String, String)>) {
    stub_with(n, |line, _| {
        if line.contains("/desearch/ai/search") {
            (
                "x-desearch-cost-usd: 0.003\r\n".into(),
                r#"{"tweets":[{"id":"5","text":"ETH upgrade date set","created_at":"2026-12-06T07:00:00Z","like_count":3,"retweet_count":1,"reply_count":0,"quote_count":0,"bookmark_count":0,"user":{"username":"dev"}}],"search":[{"title":"ETH news","snippet":"Upgrade","link":"https://news.example/eth"}]}"#.into(),
            )
        } else {
            (
                String::new(),
                r#"{"data":[{"id":"zai-org/GLM-5.2-TEE","supported_features":["tools","reasoning"],"context_length":202752,"pricing":{"prompt":0.4,"completion":1.6}},{"id":"small/model"}]}"#.into(),
            )
        }
    })
}

/// Serves `n` requests, answering each with `answer(request line, body)` = (extra header
/// lines, JSON body); sends each request's first line, `Authorization` header and body back.
fn stub_with(
    n: usize,
    answer: impl Fn(&str, &str) -> (String, String) + Send + 'static,
) -> (String, mpsc::Receiver<(String, String, String)>) {
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
            let body = String::from_utf8_lossy(&body).into_owned();
            let (extra, answer) = answer(&line, &body);
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = tx.send((line, auth, body));
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

#[test]
fn social_gradients_and_compare_say_what_to_set() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    let o = run(
        &["social", "create", "--keywords", "btc"],
        &[("SYNTH_CITY_HOME", h)],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("set MC_API"), "{}", text(&o));
    let o = run(&["gradients", "status", "t1"], &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("set GRADIENTS_API_KEY"), "{}", text(&o));
    let o = run(
        &["agents", "compare-models", "--base", "a", "--tuned", "b"],
        &[],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("CHUTES_API_KEY"), "{}", text(&o));
    // Bad input is refused before any key is looked at.
    let o = run(
        &["social", "create", "--gravity", "--topic", "bitcoin"],
        &[("SYNTH_CITY_HOME", h)],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("#hashtag"), "{}", text(&o));
    let o = run(&["social", "list"], &[("SYNTH_CITY_HOME", h)]);
    assert!(
        o.status.success() && text(&o).contains("no social data yet"),
        "{}",
        text(&o)
    );
    // Nothing saved yet: nothing to export (exit 1, the reason said).
    let o = run(
        &["agents", "export-dataset", "--out", &format!("{h}/t.jsonl")],
        &[("SYNTH_CITY_HOME", h)],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("no successful transcripts"),
        "{}",
        text(&o)
    );
}

#[test]
fn social_create_writes_parquet_that_list_show_and_data_info_read() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    let (base, rx) = stub_with(1, |_, _| {
        (
            String::new(),
            r#"{"status":"success","data":[{"datetime":"2026-12-05T10:00:00Z","source":"X","text":"$SOL listing #solana","uri":"https://x.com/a/status/1","user":{"username":"a"},"tweet":{"like_count":7}},{"datetime":"2026-12-05T11:00:00Z","source":"X","text":"$SOL again","user":{"username":"b"},"tweet":{"like_count":"2"}}]}"#.into(),
        )
    });
    let env = [
        ("SYNTH_CITY_HOME", h),
        ("MC_API", "mc-test"),
        ("MACROCOSMOS_BASE_URL", base.as_str()),
    ];
    let o = run(
        &[
            "social",
            "create",
            "--keywords",
            "solana,listing",
            "--limit",
            "50",
            "--json",
        ],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["posts"], 2);
    let (line, auth, body) = rx.recv().unwrap();
    assert!(
        line.starts_with("POST /sn13.v1.Sn13Service/OnDemandData"),
        "{line}"
    );
    assert_eq!(auth, "Bearer mc-test");
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sent["keywords"], serde_json::json!(["solana", "listing"]));
    let file = v["task"]["files"][0].as_str().unwrap().to_string();

    let o = run(&["social", "list", "--json"], &env);
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l[0]["file"], file.as_str());
    assert_eq!(l[0]["rows"], 2);
    let o = run(&["social", "show", &file, "--json"], &env);
    let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(s["top_tags"][0], serde_json::json!(["$SOL", 2]));
    assert_eq!(s["top_posts"][0]["likes"], 7);
    let o = run(&["data", "info"], &env);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(&file), "{}", text(&o));
    // --json lists the same files, with rows and span, beside the (empty) price cache.
    let o = run(&["data", "info", "--json"], &env);
    assert!(o.status.success(), "{}", text(&o));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["cache"], serde_json::json!([]));
    assert_eq!(d["social"][0]["file"], file.as_str());
    assert_eq!(d["social"][0]["rows"], 2);
    assert_eq!(d["social"][0]["first"], "2026-12-05T10:00:00Z");
    // The task is recorded, so a new process (a restart) knows it.
    let o = run(&["social", "status", "--json"], &env);
    let st: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(st["recorded"][0]["status"], "Completed");
    let o = run(&["social", "show", "../../etc/passwd"], &env);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn compare_models_scores_the_plans_of_both_models() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    // The stub plans with the first block and head the prompt offers for the tuned model, and
    // with a head that does not exist for the base one.
    let (base, rx) = stub_with(4, |_, body| {
        let req: serde_json::Value = serde_json::from_str(body).unwrap();
        let user = req["messages"][1]["content"].as_str().unwrap().to_string();
        let after = |k: &str| {
            let i = user.find(k).unwrap() + k.len();
            user[i..]
                .split([',', '.'])
                .next()
                .unwrap()
                .trim()
                .to_string()
        };
        let (block, head) = (after("Blocks you may use: "), after("Heads: "));
        let tuned = req["model"] == "tuned/model";
        let spec = if tuned {
            serde_json::json!({"blocks": [block], "head": head, "d_model": 16, "epochs": 1})
        } else {
            serde_json::json!({"blocks": [block], "head": "no_such_head"})
        };
        let content = format!(
            "```json\n{}\n```",
            serde_json::json!({"plan": {"experiments": [spec], "rationale": "r"}})
        );
        let answer = serde_json::json!({"id": "c", "object": "chat.completion", "created": 0, "model": req["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}});
        (String::new(), answer.to_string())
    });
    let url = format!("{base}/v1");
    let o = run(
        &[
            "agents",
            "compare-models",
            "--base",
            "base/model",
            "--tuned",
            "tuned/model",
            "--tasks",
            "2",
            "--experiments",
            "1",
            "--json",
        ],
        &[("SYNTH_CITY_HOME", h), ("LLM_BASE_URL", url.as_str())],
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["base"]["plans"], 2);
    assert_eq!(v["base"]["parsed"], 2);
    assert_eq!(v["base"]["valid_plans"], 0, "{v}");
    assert_eq!(v["tuned"]["valid_plans"], 2, "{v}");
    assert_eq!(v["tuned"]["prompt_tokens"], 200);
    assert_eq!(v["better"], "tuned");
    let lines: Vec<String> = rx.iter().take(4).map(|(l, _, _)| l).collect();
    assert_eq!(lines.len(), 4);
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("POST /v1/chat/completions")),
        "{lines:?}"
    );
}

#[test]
fn gradients_jobs_are_kept_so_a_new_process_lists_and_follows_them() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path().to_str().unwrap();
    // Nothing submitted yet: `status` without an id says so (before any key is needed).
    let o = run(&["gradients", "status"], &[("SYNTH_CITY_HOME", h)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("no job submitted from here"),
        "{}",
        text(&o)
    );
    let (base, rx) = stub_with(2, |line, _| {
        if line.starts_with("POST /v1/tasks/create_chat") {
            (
                String::new(),
                r#"{"success":true,"task_id":"gr-41"}"#.into(),
            )
        } else {
            (
                String::new(),
                r#"{"id":"gr-41","status":"success","base_model_repository":"Qwen/Qwen2.5-7B-Instruct","trained_model_repository":"gradients-io/planner-v2"}"#.into(),
            )
        }
    });
    let env = [
        ("SYNTH_CITY_HOME", h),
        ("GRADIENTS_API_KEY", "gk"),
        ("GRADIENTS_API_URL", base.as_str()),
    ];
    let o = run(
        &[
            "gradients",
            "submit",
            "--base",
            "Qwen/Qwen2.5-7B-Instruct",
            "--dataset",
            "me/plans",
            "--hours",
            "2",
            "--json",
        ],
        &env,
    );
    assert!(o.status.success(), "{}", text(&o));
    let (line, auth, _) = rx.recv().unwrap();
    assert!(line.starts_with("POST /v1/tasks/create_chat"), "{line}");
    assert_eq!(auth, "Bearer gk");
    // A new process, no key: the job is listed from the data folder.
    let o = run(&["gradients", "list", "--json"], &[("SYNTH_CITY_HOME", h)]);
    assert!(o.status.success(), "{}", text(&o));
    let l: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(l[0]["task_id"], "gr-41");
    assert_eq!(l[0]["status"], "submitted");
    assert_eq!(l[0]["by"], "cli");
    assert_eq!(l[0]["spec"]["base_model"], "Qwen/Qwen2.5-7B-Instruct");
    // Another process follows the job submitted last, and keeps what it saw.
    let o = run(&["gradients", "status", "--json"], &env);
    assert!(o.status.success(), "{}", text(&o));
    assert!(rx.recv().unwrap().0.starts_with("GET /v1/tasks/gr-41 "));
    let o = run(&["gradients", "list"], &[("SYNTH_CITY_HOME", h)]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("gr-41") && out.contains("success"), "{out}");
    assert!(out.contains("gradients-io/planner-v2"), "{out}");
}
