//! Shared builders for tests.

use chrono::{TimeZone, Utc};
use research::{
    AssetScore, DataProvenance, DataRange, Requester, RunFailure, RunRecord, RunStatus, Timings,
};
use serde_json::json;

/// A successful run record of `blocks` + `head` on `asset` at 5m with this CRPS.
pub fn run(
    name: &str,
    blocks: &[&str],
    head: &str,
    d_model: u32,
    asset: &str,
    crps: f64,
) -> RunRecord {
    let spec = json!({"blocks": blocks, "head": head, "d_model": d_model});
    let data = DataRange {
        assets: vec![asset.into()],
        timeframe: "5m".into(),
        start: 1_700_000_000,
        end: 1_700_864_000,
    };
    let experiment_id = research::fingerprint(&spec, &data, 42);
    let mut rec = RunRecord {
        run_id: format!("{}-{:08x}", &experiment_id[..12], rand::random::<u32>()),
        experiment_id,
        name: name.into(),
        spec,
        blocks: blocks.iter().map(|s| s.to_string()).collect(),
        head: head.into(),
        data,
        seed: 42,
        provenance: DataProvenance::Real,
        requested_by: Requester::Cli,
        status: RunStatus::Ok,
        error: None,
        crps: None,
        baseline_ratio: None,
        scores: vec![AssetScore {
            asset: asset.into(),
            timeframe: "5m".into(),
            crps,
            baseline_crps: Some(crps * 1.25),
            per_interval: [
                ("5min".to_string(), crps / 4.0),
                ("24hour_abs".to_string(), crps / 2.0),
            ]
            .into(),
            prompts: 10,
        }],
        extra: Default::default(),
        timings: Timings {
            train_s: 1.5,
            eval_s: 0.5,
            total_s: 2.0,
        },
        started_at: Utc.timestamp_opt(1_700_900_000, 0).unwrap(),
        finished_at: Utc::now(),
        artifacts: vec![],
        ran_on: None,
    };
    rec.summarise_scores();
    rec
}

/// A failed run record.
pub fn failed(
    name: &str,
    blocks: &[&str],
    head: &str,
    d_model: u32,
    kind: research::ErrorKind,
) -> RunRecord {
    let mut rec = run(name, blocks, head, d_model, "BTC", 0.0);
    rec.status = RunStatus::Failed;
    rec.error = Some(RunFailure {
        kind,
        message: "loss became NaN at epoch 2".into(),
    });
    rec.scores.clear();
    rec.crps = None;
    rec.baseline_ratio = None;
    rec
}
