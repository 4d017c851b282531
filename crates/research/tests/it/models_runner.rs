//! ResearchSession on the real model layer (`ModelsRunner`).

use std::sync::Arc;

use research::{
    Archive, DataRequest, ErrorKind, ExperimentRunner, ModelsRunner, Requester, ResearchSession,
    RunRequest,
};
use serde_json::json;

use models::data::DataPolicy;
use models::eval::{prompt_inputs, EvalSettings};
use models::experiment::{prepare, ExperimentConfig, ModelChoice};
use models::spec::Timeframe;

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
fn eval_overrides_are_part_of_the_spec_and_checked() {
    let r = ModelsRunner::new();
    let base = json!({"baseline": "gbm", "timeframe": "1m"});
    let with =
        json!({"baseline": "gbm", "timeframe": "1m", "eval": {"folds": 1, "max_prompts": 3}});
    let n = r.normalise(&with).unwrap();
    assert_eq!(n["eval"], json!({"folds": 1, "max_prompts": 3}));
    assert_eq!(r.normalise(&base).unwrap().get("eval"), None);
    let neural = json!({"timeframe": "5m", "blocks": [{"name": "mlp"}], "head": {"name": "gbm"},
                        "eval": {"max_prompts": 2}});
    assert!(r.validate(&neural).valid, "{:?}", r.validate(&neural));
    assert_eq!(
        r.normalise(&neural).unwrap()["eval"],
        json!({"max_prompts": 2})
    );
    for bad in [json!({"folds": 0}), json!({"prompts": 2}), json!(3)] {
        let spec = json!({"baseline": "gbm", "timeframe": "1m", "eval": bad});
        let e = r.normalise(&spec).unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidConfig);
        assert!(e.message.starts_with("eval"), "{}", e.message);
    }
}

/// A model too large to train (~13 GB: the spec that once took the bridge down) is refused by
/// validation, which every run goes through (CLI, agents, LLM planners, bridge), before
/// anything is built.
#[test]
fn a_model_over_the_memory_cap_is_invalid_before_it_is_built() {
    let r = ModelsRunner::new();
    let block = json!({"name": "mlp", "params": {"expansion": 16}});
    let huge = json!({"timeframe": "5m", "d_model": 4096, "blocks": vec![block; 6],
                      "head": {"name": "gbm"}});
    let v = r.validate(&huge);
    assert!(!v.valid, "{v:?}");
    assert!(
        v.errors.iter().any(|e| e.contains("model too large")),
        "{v:?}"
    );
    let small = json!({"timeframe": "5m", "blocks": [{"name": "lstm"}], "head": {"name": "gbm"}});
    assert!(r.validate(&small).valid);
    assert_eq!(research::max_model_bytes(), 8 << 30);
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
            .best_run("BTC", "5m")
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

/// A tiny neural run (1 epoch, d_model 8, 64 training windows) on 8 days of the synthetic
/// market keeps its weights, spec, sampled paths and plots; the model loaded back from the
/// registry answers the stored prompt with the same paths, bit for bit.
#[test]
fn tiny_neural_run_stores_its_weights_and_reloads_bit_exact() {
    let tf = Timeframe::High1m;
    let mut cfg = ExperimentConfig::new("BTC", tf, ModelChoice::Baseline("gbm".into()));
    cfg.data = DataPolicy::SyntheticOnly;
    let data = prepare(&cfg).unwrap();
    let runner = ModelsRunner::new().with_data("BTC", tf, data.clone());
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let mut s = ResearchSession::new(archive.clone(), Arc::new(runner), Requester::Cli);
    let overrides = json!({"d_model": 8, "seq_len": 32, "training": {
        "epochs": 1, "batch_size": 16, "n_paths": 16, "max_windows": 64, "seed": 3}});
    let spec = s.create(&["mlp".into()], "gbm", "1m", &overrides).unwrap();
    let req = RunRequest {
        spec,
        data: DataRequest {
            assets: vec!["BTC".into()],
            days: Some(8),
            allow_synthetic: true,
            ..Default::default()
        },
        seed: 2,
        ..Default::default()
    };
    let out = s.run(req.clone()).unwrap();
    let rec = &out.record;
    assert_eq!(rec.status, research::RunStatus::Ok, "{:?}", rec.error);
    assert!(rec.data.end - rec.data.start < 8 * 86_400, "{:?}", rec.data);
    assert_eq!(rec.data.end, *data.history.ts.last().unwrap());
    let names: Vec<&str> = rec.artifacts.iter().map(|a| a.name.as_str()).collect();
    for want in [
        "spec.json",
        "weights.safetensors",
        "model.json",
        "sample-btc.json",
        "result-btc.json",
        "fan.json",
        "plots/fan.png",
        "plots/fan.svg",
        "plots/crps-btc-1m.png",
        "plots/crps-btc-1m.svg",
    ] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }

    let model = research::load_model(&archive, &rec.run_id, None).unwrap();
    assert_eq!(model.kind, research::model_store::ModelKind::Neural);
    assert_eq!(
        (model.asset.as_str(), model.timeframe.as_str()),
        ("BTC", "1m")
    );
    let sample = research::load_sample(&archive, &rec.run_id[..8], Some("btc")).unwrap();
    assert_eq!(sample.paths.len(), research::model_store::SAMPLE_PATHS_KEPT);
    assert_eq!(sample.num_simulations, 1000);
    // The prompt as the run posed it: the run's data window, the evaluation's settings.
    let history = data.history.slice_time(rec.data.start, rec.data.end + 1);
    let settings = EvalSettings {
        seed: rec.seed,
        ..Default::default()
    };
    let p = prompt_inputs(
        &sn50::HIGH,
        &history,
        &history,
        sample.start_time,
        &settings,
    )
    .unwrap();
    let r = p.request("BTC", &settings);
    assert_eq!((r.seed, r.start_price), (sample.seed, sample.start_price));
    let paths = model.forecaster.forecast(&r).unwrap();
    let got: Vec<Vec<f64>> = paths
        .paths()
        .take(sample.paths.len())
        .map(<[f64]>::to_vec)
        .collect();
    assert_eq!(got, sample.paths, "reloaded weights give different paths");

    // The same experiment again is reused, weights and all.
    let again = s.run(req).unwrap();
    assert!(again.reused);
    // A wrong asset or an unknown run is a clear error.
    let e = research::load_model(&archive, &rec.run_id, Some("ETH")).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
    let e = research::load_model(&archive, "ffffffff", None).unwrap_err();
    assert_eq!(e.kind, ErrorKind::NotFound, "{e:?}");
}

#[test]
fn data_window_is_checked() {
    let r = ModelsRunner::new();
    let spec = json!({"baseline": "gbm", "timeframe": "5m"});
    let zero = DataRequest {
        days: Some(0),
        allow_synthetic: true,
        ..Default::default()
    };
    assert_eq!(
        r.resolve_data(&spec, &zero).unwrap_err().kind,
        ErrorKind::InvalidConfig
    );
}

#[test]
fn baseline_run_stores_its_settings_and_reloads() {
    let tf = Timeframe::High1m;
    let mut cfg = ExperimentConfig::new("ETH", tf, ModelChoice::Baseline("gbm".into()));
    cfg.data = DataPolicy::SyntheticOnly;
    let data = prepare(&cfg).unwrap();
    let runner = ModelsRunner::new().with_data("ETH", tf, data.clone());
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let mut s = ResearchSession::new(archive.clone(), Arc::new(runner), Requester::Cli);
    let data_req = DataRequest {
        assets: vec!["ETH".into()],
        days: Some(6),
        allow_synthetic: true,
        ..Default::default()
    };
    let out = s
        .run(RunRequest {
            spec: json!({"baseline": "ewma", "timeframe": "1m"}),
            data: data_req,
            seed: 4,
            ..Default::default()
        })
        .unwrap();
    let rec = &out.record;
    assert_eq!(rec.status, research::RunStatus::Ok, "{:?}", rec.error);
    let names: Vec<&str> = rec.artifacts.iter().map(|a| a.name.as_str()).collect();
    assert!(!names.contains(&"weights.safetensors"), "{names:?}");
    for want in ["model.json", "sample-eth.json", "fan.json", "plots/fan.svg"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }
    let m = research::load_model(&archive, &rec.run_id, None).unwrap();
    assert_eq!(m.kind, research::model_store::ModelKind::Baseline);
    assert!(m.weights.is_none());
    assert_eq!(m.forecaster.name(), "ewma");
    let sample = research::load_sample(&archive, &rec.run_id, None).unwrap();
    let history = data.history.slice_time(rec.data.start, rec.data.end + 1);
    let settings = EvalSettings {
        seed: rec.seed,
        ..Default::default()
    };
    let p = prompt_inputs(
        &sn50::HIGH,
        &history,
        &history,
        sample.start_time,
        &settings,
    )
    .unwrap();
    let paths = m.forecaster.forecast(&p.request("ETH", &settings)).unwrap();
    assert_eq!(paths.path(0), sample.paths[0].as_slice());
}

/// A script stored in the component store runs by name (`script:<name>`), its source is
/// embedded in the recorded spec, and the stored model replays the sample without the store.
#[test]
fn stored_script_runs_by_name_and_replays_from_its_record() {
    const SRC: &str = "#{ sigma: std(returns), dist: student_t(5) }";
    let tf = Timeframe::High1m;
    let mut cfg = ExperimentConfig::new("ETH", tf, ModelChoice::Baseline("gbm".into()));
    cfg.data = DataPolicy::SyntheticOnly;
    let data = prepare(&cfg).unwrap();
    let runner = ModelsRunner::new().with_data("ETH", tf, data.clone());
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    archive
        .registry
        .put_component(
            "local",
            research::ComponentDraft {
                name: "t5_stored".into(),
                kind: research::ComponentKind::Script,
                definition: SRC.into(),
                description: "t shocks at the sample sd".into(),
                public: false,
            },
        )
        .unwrap();
    let mut s = ResearchSession::new(archive.clone(), Arc::new(runner), Requester::Cli);
    let data_req = DataRequest {
        assets: vec!["ETH".into()],
        days: Some(6),
        allow_synthetic: true,
        ..Default::default()
    };
    let out = s
        .run(RunRequest {
            spec: json!({"baseline": "script:t5_stored", "timeframe": "1m"}),
            data: data_req.clone(),
            seed: 4,
            ..Default::default()
        })
        .unwrap();
    let rec = &out.record;
    assert_eq!(rec.status, research::RunStatus::Ok, "{:?}", rec.error);
    assert_eq!(rec.spec["script"]["source"], SRC, "{}", rec.spec);
    let m = research::load_model(&archive, &rec.run_id, None).unwrap();
    assert_eq!(m.forecaster.name(), "script:t5_stored");
    let sample = research::load_sample(&archive, &rec.run_id, None).unwrap();
    let history = data.history.slice_time(rec.data.start, rec.data.end + 1);
    let settings = EvalSettings {
        seed: rec.seed,
        ..Default::default()
    };
    let p = prompt_inputs(
        &sn50::HIGH,
        &history,
        &history,
        sample.start_time,
        &settings,
    )
    .unwrap();
    let paths = m.forecaster.forecast(&p.request("ETH", &settings)).unwrap();
    assert_eq!(paths.path(0), sample.paths[0].as_slice());

    // A script nobody stored is refused with what to do.
    let e = s
        .run(RunRequest {
            spec: json!({"baseline": "script:nobody_wrote_this", "timeframe": "1m"}),
            data: data_req,
            seed: 4,
            ..Default::default()
        })
        .unwrap_err();
    assert!(e.message.contains("components add"), "{}", e.message);
}
