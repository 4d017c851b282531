//! CLI tests of the `research` area: `history`, `history show`, `champion`, `store`.

use std::path::Path;
use std::process::{Command, Output};

use research::{Archive, AssetScore, DataProvenance, DataRange, Requester, RunRecord, RunStatus};
use serde_json::{json, Value};

use crate::bin;

fn cmd(home: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("SYNTH_CITY_HOME", home)
        .env_remove("HIPPIUS_ACCESS_KEY")
        .env_remove("HIPPIUS_SECRET_KEY")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn record(
    name: &str,
    blocks: &[&str],
    head: &str,
    asset: &str,
    crps: f64,
    provenance: DataProvenance,
) -> RunRecord {
    let spec = json!({"blocks": blocks, "head": head, "name": name});
    let data = DataRange {
        assets: vec![asset.into()],
        timeframe: "5m".into(),
        start: 1_700_000_000,
        end: 1_700_600_000,
    };
    let experiment_id = research::fingerprint(&spec, &data, 1);
    let mut rec = RunRecord {
        run_id: format!("{}-{:08x}", &experiment_id[..12], rand_u32(name)),
        experiment_id,
        name: name.into(),
        spec,
        blocks: blocks.iter().map(|b| b.to_string()).collect(),
        head: head.into(),
        data,
        seed: 1,
        provenance,
        requested_by: Requester::Bot("bot-7".into()),
        status: RunStatus::Ok,
        error: None,
        crps: None,
        baseline_ratio: None,
        scores: vec![AssetScore {
            asset: asset.into(),
            timeframe: "5m".into(),
            crps,
            baseline_crps: Some(crps * 2.0),
            per_interval: [
                ("5min".to_string(), crps * 0.2),
                ("30min".to_string(), crps * 0.3),
                ("24hour_abs".to_string(), crps * 0.5),
            ]
            .into(),
            prompts: 12,
        }],
        extra: [("param_count".to_string(), 1234.0)].into(),
        timings: Default::default(),
        started_at: "2026-01-01T00:00:00Z".parse().unwrap(),
        finished_at: "2026-01-01T00:10:00Z".parse().unwrap(),
        artifacts: vec![],
        // Where it ran, which `history show` prints.
        ran_on: (name == "tf-sde").then(|| "worker http://10.0.0.5:7070 cuda:0".to_string()),
    };
    rec.summarise_scores();
    rec
}

fn rand_u32(name: &str) -> u32 {
    name.bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32))
}

/// Three real runs (BTC 9, BTC 12, ETH 15) and one synthetic BTC run (crps 1).
fn seed(home: &Path) -> Vec<RunRecord> {
    let a = Archive::open(home, None).unwrap();
    [
        record(
            "lstm-gbm",
            &["lstm"],
            "gbm",
            "BTC",
            12.0,
            DataProvenance::Real,
        ),
        record(
            "tf-sde",
            &["transformer", "lstm"],
            "sde",
            "BTC",
            9.0,
            DataProvenance::Real,
        ),
        record(
            "gru-gbm",
            &["gru"],
            "gbm",
            "ETH",
            15.0,
            DataProvenance::Real,
        ),
        record(
            "synthetic",
            &["gru"],
            "gbm",
            "BTC",
            1.0,
            DataProvenance::Synthetic,
        ),
    ]
    .into_iter()
    .map(|r| {
        let spec = serde_json::to_vec(&r.spec).unwrap();
        a.record_run(r, vec![("spec.json".into(), spec)]).unwrap()
    })
    .collect()
}

#[test]
fn history_lists_orders_and_filters() {
    let home = tempfile::tempdir().unwrap();
    let out = cmd(home.path(), &["history"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("no runs yet"));
    seed(home.path());

    let out = cmd(home.path(), &["history", "--order", "best", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["synthetic", "tf-sde", "lstm-gbm", "gru-gbm"]);
    assert_eq!(v["runs"][1]["baseline_ratio"], json!(0.5));

    let out = cmd(
        home.path(),
        &[
            "history", "--order", "worst", "--limit", "1", "--asset", "BTC", "--json",
        ],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"][0]["name"], "lstm-gbm");

    let out = cmd(
        home.path(),
        &["history", "--order", "best", "--asset", "ETH"],
    );
    let text = stdout(&out);
    assert!(
        text.contains("gru-gbm") && !text.contains("tf-sde"),
        "{text}"
    );
    assert!(text.contains("bot:bot-7"), "{text}");

    let out = cmd(home.path(), &["history", "--trends", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sde = v["heads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "sde")
        .unwrap();
    assert_eq!(
        (sde["runs"].as_u64(), sde["best_crps"].as_f64()),
        (Some(1), Some(9.0))
    );

    let out = cmd(home.path(), &["history", "--limit", "0"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn history_show_prints_metrics_artifacts_and_plots() {
    let home = tempfile::tempdir().unwrap();
    let runs = seed(home.path());
    let id = &runs[1].run_id;
    let out = cmd(home.path(), &["history", "show", &id[..14]]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    for want in [
        id.as_str(),
        "transformer+lstm + sde",
        "24hour_abs",
        "2.700",
        "spec.json",
        "record.json",
        "crps-btc-5m.png",
        "ran on      worker http://10.0.0.5:7070 cuda:0",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let out = cmd(home.path(), &["history", "show", id, "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run"]["run_id"], json!(id));
    for p in v["plots"].as_array().unwrap() {
        let p = Path::new(p.as_str().unwrap());
        assert!(std::fs::metadata(p).unwrap().len() > 500, "{}", p.display());
    }
    assert_eq!(
        v["plots"].as_array().unwrap().len(),
        2,
        "png + svg of the CRPS chart"
    );
    let spec = v["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "spec.json")
        .unwrap();
    assert!(Path::new(spec["path"].as_str().unwrap()).is_file());

    let out = cmd(home.path(), &["history", "show", "deadbeef"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no run matches"));
}

/// Promotes `run` as the champion of `asset` × 5m directly in the registry (the comparison
/// itself is tested in research).
fn promote(home: &Path, asset: &str, run: &str) {
    let a = Archive::open(home, None).unwrap();
    let cur = a
        .registry
        .current_promotion(asset, "5m")
        .unwrap()
        .map(|c| c.id);
    a.registry
        .record_promotion(&research::registry::NewPromotion {
            asset,
            timeframe: "5m",
            run_id: Some(run),
            action: research::PromotionAction::Force,
            by: "test",
            expected_current: cur,
            previous_id: cur,
            evidence: None,
            checker: None,
        })
        .unwrap();
}

#[test]
fn champion_lists_promoted_runs_only_with_history_and_rollback() {
    let home = tempfile::tempdir().unwrap();
    let out = cmd(home.path(), &["champion"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains("no champion yet"));
    assert!(stdout(&out).contains("mix_range"), "{}", stdout(&out));
    let runs = seed(home.path());
    // The lowest CRPS is not a champion: nothing was promoted.
    let out = cmd(home.path(), &["champion", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, json!([]));
    promote(home.path(), "BTC", &runs[0].run_id);
    promote(home.path(), "BTC", &runs[1].run_id);
    promote(home.path(), "ETH", &runs[2].run_id);
    let out = cmd(home.path(), &["champion", "list", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(String, f64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["asset"].as_str().unwrap().to_string(),
                c["crps"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [("BTC".to_string(), 9.0), ("ETH".to_string(), 15.0)]);
    let out = cmd(
        home.path(),
        &["champion", "--asset", "btc", "--timeframe", "5m"],
    );
    assert!(stdout(&out).contains(&runs[1].run_id), "{}", stdout(&out));
    let out = cmd(home.path(), &["champion", "--timeframe", "1m"]);
    assert!(stdout(&out).contains("no champion yet"));

    // Rollback restores the previous BTC champion; the history records every step.
    let out = cmd(
        home.path(),
        &[
            "champion",
            "rollback",
            "--asset",
            "BTC",
            "--timeframe",
            "5m",
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["run_id"], json!(runs[0].run_id));
    assert_eq!(v["action"], "rollback");
    let out = cmd(
        home.path(),
        &["champion", "history", "--asset", "BTC", "--json"],
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actions: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["rollback", "force", "force"]);
    let out = cmd(home.path(), &["champion", "history"]);
    assert!(stdout(&out).contains("rollback"), "{}", stdout(&out));

    // A promotion below the prompt minimum is refused as bad input, and records nothing.
    let out = cmd(
        home.path(),
        &[
            "champion",
            "promote",
            &runs[2].run_id,
            "--folds",
            "1",
            "--prompts",
            "5",
            "--force",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("minimum of 100"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = cmd(home.path(), &["champion", "history", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 4);
}

#[test]
fn store_status_and_sync_without_a_reachable_remote() {
    let home = tempfile::tempdir().unwrap();
    seed(home.path());
    let out = cmd(home.path(), &["store", "status", "--json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["runs"], 4);
    assert_eq!(v["outbox"]["pending"], 8, "spec.json + record.json per run");
    assert_eq!(v["remote"], Value::Null);

    let out = cmd(home.path(), &["store", "sync"]);
    assert_eq!(out.status.code(), Some(2), "no remote configured");

    // A remote that is down: the sync fails (exit 3), everything stays queued, no secret leaks.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret = "very-secret-value-123";
    let out = Command::new(bin())
        .args(["store", "sync", "-vv"])
        .env("SYNTH_CITY_HOME", home.path())
        .env("HIPPIUS_ENDPOINT", format!("http://127.0.0.1:{port}"))
        .env("HIPPIUS_ACCESS_KEY", "hip_test")
        .env("HIPPIUS_SECRET_KEY", secret)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("still queued"), "{all}");
    assert!(!all.contains(secret), "secret leaked: {all}");
    let out = cmd(home.path(), &["store", "status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["outbox"]["pending"], 8);
    assert_eq!(v["outbox"]["failing"], 1);
}

#[test]
fn saved_pipeline_runs_are_listed_and_shown_with_their_transcripts() {
    let home = tempfile::tempdir().unwrap();
    let o = cmd(home.path(), &["history", "pipelines"]);
    assert!(o.status.success());
    assert!(stdout(&o).contains("no pipeline runs saved yet"));
    let archive = Archive::open(home.path(), None).unwrap();
    let record = json!({
        "loop": 1,
        "experiments": [{"run_id": "abc", "crps": 3.5}],
        "report": {
            "run_id": "20261206-101010-abcd",
            "success": false,
            "stages": [{"name": "planner", "agent": "planner", "success": false, "attempts": 1,
                        "summary": "LLM call failed",
                        "stopped": "environment: the LLM server refused the key (HTTP 401)"}],
            "state": {},
            "transcripts": [{"agent": "planner", "model": "m", "temperature": 0.1,
                             "started_at": "", "ended_at": "",
                             "messages": [{"role": "system", "content": "You plan."}]}],
        },
    });
    agents::saved::save(&archive, "20261206-101010-abcd", &record).unwrap();

    let o = cmd(home.path(), &["history", "pipelines", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["run_id"], "20261206-101010-abcd", "{v}");
    assert_eq!(v[0]["transcripts"], 1);
    let o = cmd(home.path(), &["history", "show", "20261206-1010"]);
    let out = stdout(&o);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains("pipeline run 20261206-101010-abcd") && out.contains("refused the key"),
        "{out}"
    );
    assert!(out.contains("planner      1 messages"), "{out}");
    let o = cmd(
        home.path(),
        &["history", "show", "20261206-101010-abcd", "--json"],
    );
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v[0]["report"]["transcripts"][0]["messages"][0]["content"],
        "You plan."
    );
    // Unknown ids are still bad input.
    assert_eq!(
        cmd(home.path(), &["history", "show", "nope"]).status.code(),
        Some(2)
    );
}
