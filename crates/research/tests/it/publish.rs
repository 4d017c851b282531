//! The Publisher against stub services on loopback: a report per target (published with its
//! address, skipped naming the variable, failed with the reason) where one failing target
//! loses nothing; a Hub upload failing halfway is never recorded as published and a retry
//! completes it; a published run pulled into another archive with every hash checked.

use std::time::Duration;

use research::publish::{HubOptions, Outcome, Publisher, Target};
use research::{load_model, Archive};
use serde_json::json;
use services::hf::HubConfig;
use services::http::HttpSettings;
use services::wandb::WandbConfig;
use services::{Secret, ServiceError};

use crate::common::run;
use crate::hub_stub;
use crate::wandb_stub;

fn fast() -> HttpSettings {
    HttpSettings {
        base_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_retries: 1,
        timeout: Duration::from_secs(10),
        ..HttpSettings::default()
    }
}

fn hub(base: &str) -> Result<HubConfig, ServiceError> {
    Ok(HubConfig {
        endpoint: base.into(),
        token: Some(Secret::new("hf_good")),
        default_repo: None,
    })
}

fn dead_wandb() -> Result<WandbConfig, ServiceError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    Ok(WandbConfig {
        base_url: base,
        api_key: Secret::new("k"),
        project: "sn50".into(),
        entity: Some("me".into()),
    })
}

fn not_configured(var: &'static str) -> ServiceError {
    ServiceError::NotConfigured { service: "x", var }
}

/// A successful GBM-baseline run with model.json, a "weights" blob, a fan chart and a result
/// with two epochs of losses.
fn stored_run(archive: &Archive) -> research::RunRecord {
    let mut rec = run("gbm-btc", &[], "gbm", 0, "BTC", 10.0);
    rec.spec = json!({"baseline": "gbm", "timeframe": "5m"});
    let manifest = json!({"format": 1, "kind": "baseline", "timeframe": "5m",
        "baseline": {"baseline": "gbm", "settings": {"sigma": "reference"}}, "weights": {}, "samples": {}});
    let result = json!({"asset": "BTC", "folds": [{"train_report": {"epochs": [
        {"epoch": 1, "train_loss": 0.9, "val_loss": 1.0, "lr": 0.001},
        {"epoch": 2, "train_loss": 0.7, "val_loss": 0.8, "lr": 0.001}]}}]});
    archive
        .record_run(
            rec,
            vec![
                ("model.json".into(), serde_json::to_vec(&manifest).unwrap()),
                (
                    "weights.safetensors".into(),
                    (0..3000u32).flat_map(|i| i.to_le_bytes()).collect(),
                ),
                ("plots/fan.png".into(), vec![0x89, b'P', b'N', b'G', 7, 7]),
                (
                    "result-btc.json".into(),
                    serde_json::to_vec(&result).unwrap(),
                ),
            ],
        )
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn each_target_reports_and_a_failing_one_loses_nothing() {
    let rt = runtime();
    let (base, st) = rt.block_on(hub_stub::start("hf_good"));
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path(), None).unwrap();
    let rec = stored_run(&archive);
    let p = Publisher::with_config(&archive, hub(&base), dead_wandb(), fast());
    let opts = HubOptions {
        repo: Some("me/gbm-btc".into()),
        private: true,
    };
    let rep = p.publish(&rec.run_id, &Target::ALL, &opts).unwrap();
    let by = |t: Target| {
        rep.targets
            .iter()
            .find(|r| r.target == t)
            .unwrap()
            .outcome
            .clone()
    };
    match by(Target::Hippius) {
        Outcome::Skipped { reason } => assert!(reason.contains("HIPPIUS_ACCESS_KEY"), "{reason}"),
        o => panic!("hippius: {o:?}"),
    }
    match by(Target::Hf) {
        Outcome::Published { url } => assert!(
            url.starts_with(&format!("{base}/me/gbm-btc/commit/")),
            "{url}"
        ),
        o => panic!("hf: {o:?}"),
    }
    match by(Target::Wandb) {
        Outcome::Failed { error } => assert!(error.contains("could not reach"), "{error}"),
        o => panic!("wandb: {o:?}"),
    }
    assert!(rep.any_failed() && rep.any_published());
    // The Hub got the model card, record and every artifact; binaries through LFS.
    {
        let s = st.lock().unwrap();
        let files = &s.files["me/gbm-btc"];
        for f in [
            "README.md",
            "record.json",
            "model.json",
            "weights.safetensors",
            "plots/fan.png",
            "result-btc.json",
        ] {
            assert!(files.contains_key(f), "{f} missing");
        }
        assert!(
            files["weights.safetensors"].1.is_some(),
            "weights go through LFS"
        );
        let card = String::from_utf8(files["README.md"].0.clone()).unwrap();
        assert!(card.starts_with("---\nlibrary_name: synth-city"), "{card}");
        assert!(
            card.contains("- \"sn50\"") && card.contains("- \"crps\""),
            "{card}"
        );
        assert!(
            card.contains("| LOW (24 h at 5 min) | BTC | 10.0000 | 12.5000 | 0.8000 | 10 |"),
            "{card}"
        );
        assert!(card.contains("![fan chart](plots/fan.png)"), "{card}");
        assert!(
            card.contains("synth-city models pull hf://me/gbm-btc"),
            "{card}"
        );
    }
    // Recorded: the Hub as published, W&B pending with its error (a retry will send it).
    let hf = archive
        .registry
        .publication("hf", &rec.run_id, "me/gbm-btc")
        .unwrap()
        .unwrap();
    assert_eq!(hf.status, "published");
    assert_eq!(hf.options["private"], true);
    assert!(hf.revision.is_some());
    let wb = archive
        .registry
        .publication("wandb", &rec.run_id, "me/sn50")
        .unwrap()
        .unwrap();
    assert_eq!(wb.status, "pending");
    assert_eq!(wb.attempts, 1);
    assert!(wb.last_error.is_some());
    // Retry with W&B not configured now: skipped, still queued.
    let p2 = Publisher::with_config(
        &archive,
        hub(&base),
        Err(not_configured("WANDB_PROJECT")),
        fast(),
    );
    let reps = p2.retry_pending().unwrap();
    assert_eq!(reps.len(), 1);
    assert!(
        matches!(&reps[0].outcome, Outcome::Skipped { reason } if reason.contains("WANDB_PROJECT"))
    );
    assert_eq!(
        archive
            .registry
            .publications(None, Some("pending"), 10)
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn nothing_configured_is_said_not_silent() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path(), None).unwrap();
    let rec = stored_run(&archive);
    let p = Publisher::with_config(
        &archive,
        Err(not_configured("HF_TOKEN")),
        Err(not_configured("WANDB_PROJECT")),
        fast(),
    );
    let rep = p
        .publish(&rec.run_id, &Target::ALL, &HubOptions::default())
        .unwrap();
    let reasons: Vec<String> = rep
        .targets
        .iter()
        .map(|t| match &t.outcome {
            Outcome::Skipped { reason } => reason.clone(),
            o => panic!("{o:?}"),
        })
        .collect();
    assert!(
        reasons[1].contains("HF_TOKEN") && reasons[2].contains("WANDB_PROJECT"),
        "{reasons:?}"
    );
    assert!(archive
        .registry
        .publications(None, None, 10)
        .unwrap()
        .is_empty());
}

#[test]
fn a_hub_upload_failing_halfway_is_not_published_and_a_retry_completes_it() {
    let rt = runtime();
    let (base, st) = rt.block_on(hub_stub::start("hf_good"));
    st.lock().unwrap().fail_puts_after = Some(1);
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path(), None).unwrap();
    let rec = stored_run(&archive);
    let p = Publisher::with_config(
        &archive,
        hub(&base),
        Err(not_configured("WANDB_PROJECT")),
        fast(),
    );
    let opts = HubOptions {
        repo: Some("me/m".into()),
        private: false,
    };
    let rep = p.publish(&rec.run_id, &[Target::Hf], &opts).unwrap();
    assert!(
        matches!(&rep.targets[0].outcome, Outcome::Failed { error } if error.contains("HTTP 400")),
        "{rep:?}"
    );
    assert_eq!(st.lock().unwrap().commits, 0);
    let row = archive
        .registry
        .publication("hf", &rec.run_id, "me/m")
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "pending", "a half-done upload is not published");
    assert!(row.published_at.is_none() && row.url.is_none());
    assert!(archive
        .registry
        .publications(Some("hf"), Some("published"), 10)
        .unwrap()
        .is_empty());

    // The service recovers; `store sync` / `publish retry` completes it.
    st.lock().unwrap().fail_puts_after = None;
    let reps = p.retry_pending().unwrap();
    assert!(
        matches!(&reps[0].outcome, Outcome::Published { .. }),
        "{reps:?}"
    );
    let row = archive
        .registry
        .publication("hf", &rec.run_id, "me/m")
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "published");
    assert_eq!(st.lock().unwrap().commits, 1);
    assert!(p.retry_pending().unwrap().is_empty(), "nothing left queued");
}

#[test]
fn a_published_run_pulls_into_another_archive_with_hashes_checked() {
    let rt = runtime();
    let (base, st) = rt.block_on(hub_stub::start("hf_good"));
    let src = tempfile::tempdir().unwrap();
    let archive = Archive::open(src.path(), None).unwrap();
    let rec = stored_run(&archive);
    let p = Publisher::with_config(
        &archive,
        hub(&base),
        Err(not_configured("WANDB_PROJECT")),
        fast(),
    );
    let opts = HubOptions {
        repo: Some("me/m".into()),
        private: false,
    };
    p.publish(&rec.run_id, &[Target::Hf], &opts).unwrap();

    let client = services::hf::HubClient::with_settings(&hub(&base).unwrap(), fast()).unwrap();
    let r = services::hf::HubRef::parse("hf://me/m").unwrap();
    // Tampered in the repository: refused, nothing registered.
    let good = {
        let mut s = st.lock().unwrap();
        let f = s
            .files
            .get_mut("me/m")
            .unwrap()
            .get_mut("model.json")
            .unwrap();
        let good = f.0.clone();
        f.0 =
            f.0.iter()
                .map(|b| if *b == b'5' { b'1' } else { *b })
                .collect();
        good
    };
    let dst = tempfile::tempdir().unwrap();
    let other = Archive::open(dst.path(), None).unwrap();
    let err = rt
        .block_on(research::publish::pull(&other, &client, &r))
        .unwrap_err();
    assert!(err.message.contains("sha256"), "{err}");
    assert!(!other.registry.has_run(&rec.run_id).unwrap());
    st.lock()
        .unwrap()
        .files
        .get_mut("me/m")
        .unwrap()
        .get_mut("model.json")
        .unwrap()
        .0 = good;

    let rep = rt
        .block_on(research::publish::pull(&other, &client, &r))
        .unwrap();
    assert_eq!(rep.run_id, rec.run_id);
    assert_eq!(rep.files, rec.artifacts.len());
    let pulled = other.registry.get_run(&rec.run_id).unwrap();
    assert_eq!(pulled.scores, rec.scores);
    let mut a: Vec<_> = pulled
        .artifacts
        .iter()
        .map(|a| (&a.name, &a.sha256))
        .collect();
    let mut b: Vec<_> = rec.artifacts.iter().map(|a| (&a.name, &a.sha256)).collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    // Usable: the model loads from the pulled archive.
    let m = load_model(&other, &rec.run_id, None).unwrap();
    assert_eq!(m.asset, "BTC");
    // Pulling again is a no-op.
    assert!(
        rt.block_on(research::publish::pull(&other, &client, &r))
            .unwrap()
            .already_present
    );
}

#[test]
fn the_wandb_run_carries_config_losses_crps_and_the_fan_chart() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path(), None).unwrap();
    let rec = stored_run(&archive);
    let log = research::publish::wandb::run_log(&archive, &rec).unwrap();
    assert_eq!(log.name, rec.run_id);
    assert_eq!(log.config["seed"], 42);
    assert_eq!(log.history.len(), 2);
    assert_eq!(log.history[1]["train_loss/BTC"], 0.7);
    assert_eq!(log.summary["crps/low/BTC"], 10.0);
    assert_eq!(log.summary["gbm_crps/low/BTC"], 12.5);
    assert_eq!(log.summary["crps/low/BTC/5min"], 2.5);
    assert_eq!(log.summary["fan_chart"]["_type"], "image-file");
    assert_eq!(log.files[0].name, research::publish::wandb::FAN_MEDIA);
}

#[test]
fn a_run_logged_while_offline_is_uploaded_by_the_retry() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path(), None).unwrap();
    let rec = stored_run(&archive);
    let p = Publisher::with_config(
        &archive,
        Err(not_configured("HF_TOKEN")),
        dead_wandb(),
        fast(),
    );
    let rep = p
        .publish(&rec.run_id, &[Target::Wandb], &HubOptions::default())
        .unwrap();
    assert!(rep.any_failed());
    let row = archive
        .registry
        .publication("wandb", &rec.run_id, "me/sn50")
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "pending");

    // Back online (`store sync` / `publish retry`): the queued run goes up, whole.
    let rt = runtime();
    let (base, st) = rt.block_on(wandb_stub::start("k"));
    let online = Ok(WandbConfig {
        base_url: base.clone(),
        api_key: Secret::new("k"),
        project: "other".into(),
        entity: None,
    });
    let p = Publisher::with_config(&archive, Err(not_configured("HF_TOKEN")), online, fast());
    let reps = p.retry_pending().unwrap();
    match &reps[0].outcome {
        Outcome::Published { url } => {
            assert_eq!(url, &format!("{base}/me/sn50/runs/{}", rec.run_id))
        }
        o => panic!("{o:?}"),
    }
    let s = st.lock().unwrap();
    assert_eq!(
        s.upserts[0]["project"], "sn50",
        "sent where it was queued for"
    );
    assert_eq!(s.upserts[0]["name"], rec.run_id.as_str());
    let hist = &s.streams[0].1["files"]["wandb-history.jsonl"]["content"];
    assert_eq!(hist.as_array().unwrap().len(), 2, "two epochs of losses");
    assert_eq!(s.streams[1].1["complete"], true);
    assert_eq!(s.uploads.len(), 1, "the fan chart");
    drop(s);
    let row = archive
        .registry
        .publication("wandb", &rec.run_id, "me/sn50")
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "published");
}
