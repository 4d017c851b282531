//! ResearchSession over a small fake model layer: storing, reuse, failures, sweeps.

use std::collections::BTreeMap;
use std::sync::Arc;

use research::plot::FanData;
use research::{
    Archive, AssetScore, DataProvenance, DataRange, DataRequest, ErrorKind, ExperimentRunner,
    PresetInfo, Requester, ResearchError, ResearchSession, ResolvedData, Result, RunOutput,
    RunRequest, RunStatus, Validation,
};
use serde_json::{json, Value};

/// A model layer in miniature: CRPS = 100 / d_model; head `diverge` fails in training.
pub struct Fake;

const HEADS: [&str; 3] = ["gbm", "sde", "diverge"];

impl ExperimentRunner for Fake {
    fn list_blocks(&self) -> Vec<Value> {
        vec![json!({"name": "lstm"}), json!({"name": "gru"})]
    }
    fn list_heads(&self) -> Vec<Value> {
        HEADS.iter().map(|h| json!({ "name": h })).collect()
    }
    fn list_presets(&self) -> Vec<PresetInfo> {
        let p = |name: &str, head: &str, d: u32| PresetInfo {
            name: name.into(),
            description: format!("{name} preset"),
            tags: vec!["neural".into()],
            spec: json!({"timeframe": "5m", "blocks": ["lstm"], "head": head, "d_model": d}),
        };
        vec![
            p("small", "gbm", 16),
            p("big", "sde", 64),
            p("broken", "nope", 8),
        ]
    }
    fn create(
        &self,
        blocks: &[String],
        head: &str,
        timeframe: &str,
        overrides: &Value,
    ) -> Result<Value> {
        let mut spec = json!({"timeframe": timeframe, "blocks": blocks, "head": head});
        research::session::merge(&mut spec, overrides);
        Ok(spec)
    }
    fn normalise(&self, spec: &Value) -> Result<Value> {
        let mut out = json!({"timeframe": "5m", "d_model": 32, "blocks": [], "head": "gbm"});
        if !spec.is_object() {
            return Err(ResearchError::invalid("spec must be an object"));
        }
        research::session::merge(&mut out, spec);
        Ok(out)
    }
    fn validate(&self, spec: &Value) -> Validation {
        let head = spec["head"].as_str().unwrap_or("");
        let mut v = Validation {
            valid: true,
            param_count: Some(1000),
            ..Default::default()
        };
        if !HEADS.contains(&head) {
            v.valid = false;
            v.errors.push(format!("head.name: unknown head `{head}`"));
        }
        v
    }
    fn describe(&self, spec: &Value) -> Result<Value> {
        Ok(json!({"blocks": spec["blocks"], "head": spec["head"]}))
    }
    fn shape(&self, spec: &Value) -> (Vec<String>, String) {
        let blocks = spec["blocks"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|b| b.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        (blocks, spec["head"].as_str().unwrap_or("").to_string())
    }
    fn timeframe(&self, spec: &Value) -> Result<String> {
        Ok(spec["timeframe"].as_str().unwrap_or("5m").to_string())
    }
    fn resolve_data(&self, spec: &Value, data: &DataRequest) -> Result<ResolvedData> {
        let assets = if data.assets.is_empty() {
            vec!["BTC".to_string()]
        } else {
            data.assets.clone()
        };
        if assets.iter().any(|a| a == "XAU") {
            return Err(ResearchError::new(ErrorKind::DataMissing, "no XAU history"));
        }
        Ok(ResolvedData {
            range: DataRange {
                assets,
                timeframe: self.timeframe(spec)?,
                start: 1_700_000_000,
                end: data.end.unwrap_or(1_700_086_400),
            },
            provenance: DataProvenance::Real,
        })
    }
    fn run(&self, spec: &Value, data: &ResolvedData, _seed: u64) -> Result<RunOutput> {
        if spec["head"] == "diverge" {
            return Err(ResearchError::new(
                ErrorKind::TrainingDiverged,
                "loss is NaN at epoch 3",
            ));
        }
        let crps = 100.0 / spec["d_model"].as_f64().unwrap_or(32.0);
        let scores = data
            .range
            .assets
            .iter()
            .map(|a| AssetScore {
                asset: a.clone(),
                timeframe: data.range.timeframe.clone(),
                crps,
                baseline_crps: Some(4.0),
                per_interval: [
                    ("5min".to_string(), crps / 2.0),
                    ("30min".to_string(), crps / 2.0),
                ]
                .into(),
                prompts: 3,
            })
            .collect();
        let fan = FanData {
            title: "fan".into(),
            minutes: vec![0.0, 5.0, 10.0],
            quantiles: vec![
                [100.0; 5],
                [98.0, 99.0, 100.0, 101.0, 102.0],
                [96.0, 98.0, 100.0, 102.0, 104.0],
            ],
            realised: vec![100.0, 100.5, 101.0],
        };
        Ok(RunOutput {
            scores,
            extra: BTreeMap::from([("param_count".to_string(), 1000.0)]),
            weights: Some(vec![7u8; 64]),
            fan: Some(fan),
            ..Default::default()
        })
    }
}

fn session(dir: &std::path::Path) -> ResearchSession {
    let archive = Arc::new(Archive::open(dir, None).unwrap());
    ResearchSession::new(archive, Arc::new(Fake), Requester::Bot("b1".into()))
}

pub fn req(head: &str, d_model: u32) -> RunRequest {
    RunRequest {
        spec: json!({"blocks": ["lstm"], "head": head, "d_model": d_model}),
        ..Default::default()
    }
}

#[test]
fn run_stores_record_weights_and_plots_then_reuses() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(dir.path());
    let out = s.run(req("gbm", 50)).unwrap();
    assert!(!out.reused && out.novelty.is_novel);
    let rec = &out.record;
    assert_eq!(
        (rec.status, rec.crps, rec.baseline_ratio),
        (RunStatus::Ok, Some(2.0), Some(0.5))
    );
    assert_eq!(rec.requested_by, Requester::Bot("b1".into()));
    let mut names: Vec<&str> = rec.artifacts.iter().map(|a| a.name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "fan.json",
            "plots/crps-btc-5m.png",
            "plots/crps-btc-5m.svg",
            "plots/fan.png",
            "plots/fan.svg",
            "spec.json",
            "weights.safetensors"
        ]
    );
    for a in &rec.artifacts {
        assert_eq!(
            std::fs::metadata(s.archive().artifact_path(a))
                .unwrap()
                .len(),
            a.size,
            "{}",
            a.name
        );
    }
    // Same request (spelled differently): the stored result comes back, nothing is trained.
    let again = s
        .run(RunRequest {
            spec: json!({"d_model": 50.0, "head": "gbm", "blocks": ["lstm"], "timeframe": "5m"}),
            ..Default::default()
        })
        .unwrap();
    assert!(again.reused);
    assert_eq!(again.record.run_id, rec.run_id);
    assert_eq!(s.archive().registry.count_runs().unwrap(), 1);
    let forced = s
        .run(RunRequest {
            force: true,
            ..req("gbm", 50)
        })
        .unwrap();
    assert!(!forced.reused && forced.record.run_id != rec.run_id);
    assert_eq!(forced.record.experiment_id, rec.experiment_id);
    assert_eq!(s.archive().registry.count_runs().unwrap(), 2);
    // Typed results serialise for tools.
    let v = serde_json::to_value(&again).unwrap();
    assert_eq!(v["reused"], true);
    assert_eq!(v["record"]["status"], "ok");
}

#[test]
fn failures_are_values_and_are_remembered() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(dir.path());
    let out = s.run(req("diverge", 32)).unwrap();
    assert_eq!(out.record.status, RunStatus::Failed);
    assert_eq!(
        out.record.error.as_ref().unwrap().kind,
        ErrorKind::TrainingDiverged
    );
    let n = s.novelty(&req("diverge", 64)).unwrap();
    assert!(n.is_novel);
    assert_eq!(n.failures.len(), 1);

    let err = s.run(req("nope", 32)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidConfig);
    assert!(err.message.contains("unknown head"), "{}", err.message);
    let err = s
        .run(RunRequest {
            data: DataRequest {
                assets: vec!["XAU".into()],
                ..Default::default()
            },
            ..req("gbm", 32)
        })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::DataMissing);
    assert_eq!(
        s.archive().registry.count_runs().unwrap(),
        1,
        "only the diverged run was stored"
    );
    let e = serde_json::to_value(&err).unwrap();
    assert_eq!(
        e,
        json!({"kind": "data_missing", "message": "no XAU history"})
    );
}

#[test]
fn sweep_compare_summary_clear() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = session(dir.path());
    assert_eq!(s.list_presets().len(), 3);
    assert_eq!(s.list_heads().len(), 3);
    let ranking = s.sweep(&[], DataRequest::default(), 0, false);
    let got: Vec<(&str, &str, Option<f64>)> = ranking
        .ranking
        .iter()
        .map(|r| (r.name.as_str(), r.status.as_str(), r.crps))
        .collect();
    assert_eq!(
        got,
        [
            ("big", "ok", Some(100.0 / 64.0)),
            ("small", "ok", Some(100.0 / 16.0)),
            ("broken", "error", None)
        ]
    );
    assert_eq!(
        ranking.ranking[2].error.as_ref().unwrap().kind,
        ErrorKind::InvalidConfig
    );
    let o = s
        .run_preset(
            "SMALL",
            &json!({"d_model": 20}),
            DataRequest::default(),
            0,
            false,
        )
        .unwrap();
    assert_eq!(o.record.crps, Some(5.0));
    assert_eq!(o.record.name, "small");
    assert_eq!(
        s.run_preset("none", &Value::Null, DataRequest::default(), 0, false)
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    let sum = s.summary();
    assert_eq!((sum.num_experiments, sum.ok, sum.failed), (4, 3, 1));
    assert_eq!(sum.best.unwrap().name, "big");
    assert_eq!(s.compare().ranking.len(), 4);
    s.clear();
    assert!(s.compare().ranking.is_empty());
    assert_eq!(
        s.archive().registry.count_runs().unwrap(),
        3,
        "the registry keeps everything"
    );
    let spec = s
        .create(&["gru".into()], "sde", "1m", &json!({"d_model": 8}))
        .unwrap();
    assert_eq!(
        spec,
        json!({"timeframe": "1m", "d_model": 8, "blocks": ["gru"], "head": "sde"})
    );
    assert!(s.validate(&spec).valid);
}
