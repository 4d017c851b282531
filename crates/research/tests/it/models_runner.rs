//! ResearchSession on the real model layer (`ModelsRunner`).

use std::sync::Arc;

use research::{
    Archive, DataRequest, ErrorKind, ExperimentRunner, ModelsRunner, Requester, ResearchSession,
    RunRequest,
};
use serde_json::json;

#[test]
fn presets_cover_every_head_and_the_baselines() {
    let r = ModelsRunner::new();
    let presets = r.list_presets();
    let heads: Vec<String> = r
        .list_heads()
        .iter()
        .filter_map(|h| h["name"].as_str().map(String::from))
        .collect();
    assert!(!heads.is_empty());
    for h in &heads {
        assert!(
            presets.iter().any(|p| p.spec["head"]["name"] == json!(h)),
            "no preset uses head {h}"
        );
    }
    assert!(presets
        .iter()
        .any(|p| p.tags == ["baseline"] && p.spec["baseline"] == "garch_t"));
    for p in &presets {
        assert!(
            r.validate(&p.spec).valid,
            "preset {} invalid: {:?}",
            p.name,
            r.validate(&p.spec).errors
        );
    }
}

#[test]
fn normalisation_fills_defaults_so_ids_match() {
    let r = ModelsRunner::new();
    let short = json!({"timeframe": "5m", "blocks": [{"name": "lstm"}], "head": {"name": "gbm"}});
    let long = r.normalise(&short).unwrap();
    assert_eq!(long["d_model"], 32);
    assert!(long["blocks"][0]["params"].is_object());
    assert_eq!(r.normalise(&long).unwrap(), long);
    let bad = json!({"timeframe": "5m", "blocks": [{"name": "nope"}], "head": {"name": "gbm"}});
    assert_eq!(
        r.normalise(&bad).unwrap_err().kind,
        ErrorKind::InvalidConfig
    );
    let v = r.validate(&bad);
    assert!(!v.valid && v.errors[0].contains("unknown block"), "{v:?}");
    assert_eq!(
        r.shape(&long),
        (vec!["lstm".to_string()], "gbm".to_string())
    );
}

#[test]
#[ignore = "scores a baseline on real BTC history (slow)"]
fn baseline_run_on_real_data_lands_in_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let mut s = ResearchSession::new(
        archive.clone(),
        Arc::new(ModelsRunner::new()),
        Requester::Cli,
    );
    let t0 = std::time::Instant::now();
    let out = s
        .run_preset(
            "ewma",
            &serde_json::Value::Null,
            DataRequest::default(),
            1,
            false,
        )
        .unwrap();
    eprintln!(
        "ewma BTC 5m: {:?} in {:.1}s",
        out.record.crps,
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(
        out.record.status,
        research::RunStatus::Ok,
        "{:?}",
        out.record.error
    );
    assert!(out.record.crps.unwrap() > 0.0 && out.record.baseline_ratio.is_some());
    assert_eq!(
        archive
            .registry
            .champion("BTC", "5m")
            .unwrap()
            .unwrap()
            .run
            .run_id,
        out.record.run_id
    );
    let again = s
        .run(RunRequest {
            spec: out.record.spec.clone(),
            seed: 1,
            ..Default::default()
        })
        .unwrap();
    assert!(again.reused);
}
