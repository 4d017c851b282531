//! A neural registry run as a backtest competitor: a tiny MLP trained through `research` on
//! real BTC history that ends before the backtest range, loaded back from its stored weights
//! as `run:<id>` and as the registry `champion`, scored deterministically on real prompts
//! without look-ahead. Needs the shared data folder: without it the test fails under
//! `SYNTH_CITY_REQUIRE_SHARED` (CI) and prints `SKIP:` elsewhere.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use backtest::{
    in_sample_notes, resolve_competitors, run, summarise, BacktestConfig, BacktestError,
    Competition, Competitor, PromptStatus,
};
use common::Peeker;
use research::{Archive, DataRequest, ModelsRunner, Requester, ResearchSession, RunRequest};
use serde_json::json;

/// 2026-04-01 00:00 UTC: BTC has 1-minute data from 2026-03-23 to 2026-04-22.
const FROM: i64 = 1_775_001_600;

#[test]
fn a_neural_registry_run_competes_and_is_scored_deterministically() {
    if !common::shared_data_or_skip(
        "a_neural_registry_run_competes_and_is_scored_deterministically",
    ) {
        return;
    }
    // Train: 1 epoch, d_model 8, 64 windows, on the 8 days of real BTC 1 m ending an hour
    // before the first prompt.
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let mut s = ResearchSession::new(
        archive.clone(),
        Arc::new(ModelsRunner::new()),
        Requester::Cli,
    );
    let overrides = json!({"d_model": 8, "seq_len": 32, "training": {
        "epochs": 1, "batch_size": 16, "n_paths": 16, "max_windows": 64, "seed": 3}});
    let spec = s.create(&["mlp".into()], "gbm", "1m", &overrides).unwrap();
    let out = s
        .run(RunRequest {
            spec,
            data: DataRequest {
                assets: vec!["BTC".into()],
                end: Some(FROM - 3600),
                days: Some(8),
                allow_synthetic: false,
            },
            seed: 2,
            ..Default::default()
        })
        .unwrap();
    let rec = out.record;
    assert_eq!(rec.status, research::RunStatus::Ok, "{:?}", rec.error);
    assert!(rec.data.end <= FROM - 3600, "{:?}", rec.data);
    let run_name = format!("run:{}", &rec.run_id);
    // `champion` is the promoted champion (forced here: the comparison is not the point).
    archive
        .registry
        .record_promotion(&research::registry::NewPromotion {
            asset: "BTC",
            timeframe: "1m",
            run_id: Some(&rec.run_id),
            action: research::PromotionAction::Force,
            by: "test",
            expected_current: None,
            previous_id: None,
            evidence: None,
            checker: None,
        })
        .unwrap();

    // Resolve: a baseline, the run by id and the registry champion (the same run).
    let mut open = || -> Result<Archive, BacktestError> {
        Archive::open(dir.path(), None).map_err(|e| BacktestError::Env(e.to_string()))
    };
    let names: Vec<String> = ["gbm", run_name.as_str(), "champion"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let assets = vec!["BTC".to_string()];
    let (mut comps, notes) =
        resolve_competitors(&names, &assets, &[Competition::High], &mut open).unwrap();
    assert_eq!(comps.len(), 3, "{notes:?}");
    assert!(notes.is_empty(), "{notes:?}");
    for c in &comps[1..] {
        assert!(c.model_for("BTC", Competition::High).is_some(), "{c:?}");
        assert!(c.model_for("BTC", Competition::Low).is_none(), "{c:?}");
        assert_eq!(c.trained_until(), Some(rec.data.end + 60));
    }
    // Trained before the range: no in-sample warning; a range starting earlier gets one each.
    assert!(in_sample_notes(&comps, FROM).is_empty());
    assert_eq!(in_sample_notes(&comps, FROM - 86_400).len(), 2);
    // A neural run asked for the competition it was not trained for is refused clearly.
    let e = resolve_competitors(&names[..2], &assets, &[Competition::Low], &mut open).unwrap_err();
    assert!(e.to_string().contains("answers none"), "{e}");

    // The same weights, wrapped to fail on any look-ahead.
    let peeked = Arc::new(AtomicBool::new(false));
    let loaded = research::load_model(&archive, &rec.run_id, None).unwrap();
    comps.push(Competitor::new(
        "peeker",
        Arc::new(Peeker {
            peeked: peeked.clone(),
            inner: loaded.forecaster,
        }),
    ));

    let mut cfg = BacktestConfig::new(assets.clone(), FROM, FROM + 3 * 3600);
    cfg.competitions = vec![Competition::High];
    cfg.max_prompts = Some(2);
    cfg.threads = 2;
    cfg.seed = 7;
    let (data, data_notes) =
        backtest::load_market(&assets, FROM - cfg.lookback_secs - 3600, FROM + 86_400).unwrap();
    assert!(data_notes.is_empty(), "{data_notes:?}");
    let a = run(&cfg, &comps, &data, &|_, _| {}).unwrap();
    let mut one = cfg.clone();
    one.threads = 1;
    let b = run(&one, &comps, &data, &|_, _| {}).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert!(!peeked.load(Ordering::SeqCst), "handed future data");
    assert_eq!(a.len(), 2);
    for r in &a {
        assert_eq!(r.status, PromptStatus::Scored, "{r:#?}");
        assert!(r.errors.iter().all(Option::is_none), "{:?}", r.errors);
        assert!(r.crps.iter().all(|&c| c.is_finite() && c > 0.0), "{r:?}");
        // run:<id>, champion and the checked copy give the same answer, bit for bit.
        assert_eq!(r.crps[1], r.crps[2]);
        assert_eq!(r.crps[1], r.crps[3]);
        assert_eq!(r.prompt_scores[1], r.prompt_scores[2]);
    }
    let names: Vec<String> = comps.iter().map(|c| c.name.clone()).collect();
    let s = summarise(&cfg, &names, &a, Vec::new());
    let total: f64 = s.combined_share.iter().sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    eprintln!(
        "neural run CRPS {:?} vs gbm {:?}",
        a.iter().map(|r| r.crps[1]).collect::<Vec<_>>(),
        a.iter().map(|r| r.crps[0]).collect::<Vec<_>>()
    );
}
