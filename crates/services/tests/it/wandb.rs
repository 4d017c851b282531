//! [`services::wandb::WandbClient`] against a stub speaking W&B's GraphQL (`viewer`,
//! `upsertBucket`, `createRunFiles`) and `file_stream` protocol (services.md §10b).

use std::time::Duration;

use serde_json::{json, Map, Value};
use services::http::HttpSettings;
use services::wandb::{RunFile, RunLog, WandbClient, WandbConfig};
use services::{Secret, ServiceError};

use crate::wandb_stub::start;

fn fast() -> HttpSettings {
    HttpSettings {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retries: 1,
        timeout: Duration::from_secs(10),
        ..HttpSettings::default()
    }
}

fn cfg(base: &str, key: &str) -> WandbConfig {
    WandbConfig {
        base_url: base.into(),
        api_key: Secret::new(key),
        project: "sn50".into(),
        entity: None,
    }
}

fn run() -> RunLog {
    let mut config = Map::new();
    config.insert("seed".into(), json!(7));
    let mut summary = Map::new();
    summary.insert("crps/low/BTC".into(), json!(12.5));
    let history = (1..=3)
        .map(|e| {
            let mut m = Map::new();
            m.insert("epoch".into(), json!(e));
            m.insert("train_loss/BTC".into(), json!(1.0 / e as f64));
            m
        })
        .collect();
    RunLog {
        name: "abc123-def".into(),
        display_name: "lstm".into(),
        group: Some("exp".into()),
        job_type: Some("train".into()),
        tags: vec!["sn50".into()],
        config,
        history,
        summary,
        files: vec![RunFile {
            name: "media/images/fan_chart.png".into(),
            bytes: vec![1, 2, 3],
        }],
        notes: None,
    }
}

#[tokio::test]
async fn a_run_is_upserted_streamed_uploaded_and_finished() {
    let (base, st) = start("k1").await;
    let c = WandbClient::with_settings(&cfg(&base, "k1"), fast()).unwrap();
    let logged = c.log(&run()).await.unwrap();
    assert_eq!(
        logged.entity, "me",
        "the entity comes from the viewer query"
    );
    assert_eq!(logged.url, format!("{base}/me/sn50/runs/abc123-def"));
    assert_eq!(logged.files, 1);
    let s = st.lock().unwrap();
    let up = &s.upserts[0];
    assert_eq!(up["project"], "sn50");
    assert_eq!(up["name"], "abc123-def");
    let config: Value = serde_json::from_str(up["config"].as_str().unwrap()).unwrap();
    assert_eq!(
        config["seed"]["value"], 7,
        "config keys are wrapped as {{value: …}}"
    );
    assert_eq!(s.streams.len(), 2);
    let (path, first) = &s.streams[0];
    assert_eq!(path, "me/sn50/abc123-def");
    let hist = &first["files"]["wandb-history.jsonl"];
    assert_eq!(hist["offset"], 0);
    let lines: Vec<Value> = hist["content"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str(l.as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["_step"], 2);
    assert_eq!(lines[0]["train_loss/BTC"], 1.0);
    let summary: Value = serde_json::from_str(
        first["files"]["wandb-summary.json"]["content"][0]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(summary["crps/low/BTC"], 12.5);
    let (_, last) = &s.streams[1];
    assert_eq!(last["complete"], true);
    assert_eq!(last["exitcode"], 0);
    assert_eq!(last["uploaded"][0], "media/images/fan_chart.png");
    assert_eq!(s.uploads.len(), 1);
    assert_eq!(s.uploads[0].1, vec![1, 2, 3]);
    assert_eq!(s.uploads[0].2, "", "the storage URL never sees the API key");
}

#[tokio::test]
async fn a_wrong_key_is_an_auth_error_without_the_key() {
    let (base, st) = start("k1").await;
    let c = WandbClient::with_settings(&cfg(&base, "wrong-key"), fast()).unwrap();
    let err = c.log(&run()).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Auth { status: 401, .. }),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong-key"));
    assert!(st.lock().unwrap().upserts.is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_a_transient_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let c = WandbClient::with_settings(&cfg(&base, "k1"), fast()).unwrap();
    let err = c.log(&run()).await.unwrap_err();
    assert!(err.is_transient(), "{err}");
}
