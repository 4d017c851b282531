//! The pipeline's research binding and the bridge engine run their experiments through the
//! same worker pool as `experiment` and `sweep`: on the workers, recorded once, with where
//! each ran.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents::backend::{PlannerSpec, ResearchBackend};
use agents::research_binding::ResearchBinding;
use bridge::backend::{Backend, Job};
use bridge::types::SweepRequest;
use research::{Archive, ExperimentRunner, HistoryQuery};
use serde_json::json;
use worker::WorkerPool;

use crate::dispatch::{data, local, TestWorker};

fn history(dir: &std::path::Path) -> Vec<research::RunRecord> {
    Archive::open(dir, None)
        .unwrap()
        .registry
        .history(&HistoryQuery::default())
        .unwrap()
}

#[test]
fn the_pipeline_binding_trains_on_a_worker_and_records_where_it_ran() {
    let d = data();
    let w = TestWorker::start(Some("t"), 1);
    let pool = WorkerPool::connect(local(&d), &[w.addr("t")])
        .with_poll_interval(Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let binding = ResearchBinding::on(archive, "test", Arc::new(pool));
    let spec: PlannerSpec = serde_json::from_value(json!({
        "asset": "BTC", "timeframe": "1m", "blocks": ["mlp"], "head": "gbm",
        "d_model": 8, "epochs": 1, "seed": 1, "max_windows": 32
    }))
    .unwrap();
    let run = binding.run("on-a-worker", &spec, &|_, _, _| {}).unwrap();
    assert_eq!(run.status, "ok", "{:?}", run.error);
    let all = history(dir.path());
    assert_eq!(all.len(), 1, "recorded once");
    let on = all[0].ran_on.as_deref().unwrap();
    assert!(on.starts_with(&format!("worker {}", w.url)), "{on}");
}

#[test]
fn a_bridge_sweep_runs_on_two_workers_at_once_and_records_each_run_once() {
    let d = data();
    let (a, b) = (
        TestWorker::start(Some("t"), 1),
        TestWorker::start(Some("t"), 1),
    );
    let pool = WorkerPool::connect(local(&d), &[a.addr("t"), b.addr("t")])
        .with_poll_interval(Duration::from_millis(20));
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let engine = bridge::EngineBackend::new(archive, bridge::EngineOptions::default())
        .with_runner(Arc::new(pool));
    let ws = tempfile::tempdir().unwrap();
    let job = Job {
        bot_id: "bot-1".into(),
        workspace: ws.path().to_path_buf(),
        cancel: Arc::new(AtomicBool::new(false)),
        events: bridge::events::EventBus::new(64),
        stage: Arc::new(Mutex::new(None)),
        max_model_bytes: u64::MAX,
    };
    let req: SweepRequest = serde_json::from_value(json!({
        "base": {"timeframe": "1m", "d_model": 8, "seq_len": 32, "asset": "BTC",
                 "allow_synthetic": true,
                 "blocks": [{"name": "mlp"}], "head": {"name": "gbm"},
                 "training": {"epochs": 1, "batch_size": 16, "n_paths": 16,
                              "max_windows": 32, "patience": 0},
                 "eval": {"folds": 1, "max_prompts": 2}},
        "grid": {"training.seed": [1, 2, 3, 4]}
    }))
    .unwrap();
    let out = engine.sweep(&job, &req).unwrap();
    assert_eq!(out.results.len(), 4);
    assert!(
        out.results.iter().all(|r| r.status == "ok"),
        "{:?}",
        out.results
    );
    let all = history(dir.path());
    assert_eq!(all.len(), 4, "each run recorded once");
    let places: std::collections::BTreeSet<String> = all
        .iter()
        .map(|r| r.ran_on.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        places,
        [a.url.clone(), b.url.clone()]
            .iter()
            .map(|u| format!("worker {u} cpu"))
            .collect(),
        "both workers took part"
    );
}

/// The pipeline with the built-in planner over `runner`, one loop on BTC 1m; the registry's
/// runs afterwards.
fn pipeline_on(runner: Arc<dyn research::ExperimentRunner>) -> Vec<research::RunRecord> {
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let backend: agents::backend::SharedResearch =
        Arc::new(ResearchBinding::on(archive, "test", runner).with_max_windows(32));
    let opts = agents::PipelineOptions {
        max_experiments: Some(4),
        timeframe: "1m".into(),
        min_epochs: 1,
        seed: 5,
        ..agents::PipelineOptions::default()
    };
    let bus = agents::EventBus::new("batch", 4096);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let reports = rt
        .block_on(agents::run_pipeline(
            backend,
            Arc::new(agents::planner::BuiltinBrains),
            None,
            &opts,
            &bus,
        ))
        .unwrap();
    let trainer = reports[0]
        .stages
        .iter()
        .find(|s| s.name == "trainer")
        .unwrap_or_else(|| panic!("{:#?}", reports[0].stages));
    assert!(trainer.success, "{trainer:#?}");
    history(dir.path())
}

#[test]
fn the_pipeline_trains_a_batch_on_two_workers_at_once_with_the_local_results() {
    let d = data();
    let here = pipeline_on(local(&d));
    let (a, b) = (
        TestWorker::start(Some("t"), 1),
        TestWorker::start(Some("t"), 1),
    );
    let pool = WorkerPool::connect(local(&d), &[a.addr("t"), b.addr("t")])
        .with_poll_interval(Duration::from_millis(20));
    let there = pipeline_on(Arc::new(pool));
    // The plan's rung 0 (3 experiments) and rung 1 (1), each recorded once.
    assert_eq!(there.len(), 4, "{there:#?}");
    // One worker slot each: a run goes to the worker with the most free slots, so runs made
    // one after another would all land on the same worker; both took part, so the batch ran
    // on both at once.
    let places: std::collections::BTreeSet<String> = there
        .iter()
        .map(|r| r.ran_on.clone().unwrap_or_default())
        .collect();
    assert_eq!(
        places,
        [&a.url, &b.url]
            .iter()
            .map(|u| format!("worker {u} cpu"))
            .collect(),
        "both workers took part"
    );
    // The same experiments (same seeds) as the pipeline run on this machine, with the same
    // scores.
    let key = |v: &[research::RunRecord]| {
        let mut k: Vec<(String, Option<f64>, String)> = v
            .iter()
            .map(|r| (r.experiment_id.clone(), r.crps, r.name.clone()))
            .collect();
        k.sort_by(|x, y| x.0.cmp(&y.0));
        k
    };
    assert_eq!(key(&here), key(&there));
    assert!(here.iter().all(|r| r
        .ran_on
        .as_deref()
        .is_some_and(|o| o.starts_with("local cpu"))));
}

#[test]
fn a_worker_killed_mid_batch_has_its_runs_rerun_elsewhere_each_recorded_once() {
    use std::sync::atomic::Ordering;
    let d = data();
    // A (two slots) takes two of the three runs and dies at the first epoch it reports.
    let mut a = TestWorker::start(Some("t"), 2);
    let b = TestWorker::start(Some("t"), 1);
    let seen = Arc::new(AtomicBool::new(false));
    let s2 = seen.clone();
    let pool = WorkerPool::connect(local(&d), &[a.addr("t"), b.addr("t")])
        .with_poll_interval(Duration::from_millis(20))
        .with_progress(Arc::new(
            move |_: &str, _: usize, _: &models::train::EpochReport| {
                s2.store(true, Ordering::SeqCst);
            },
        ));
    let (dir, mut s) = crate::dispatch::session(Arc::new(pool));
    // The batch the pipeline's run_experiments hands over: one ResearchSession::run_many.
    let reqs: Vec<research::RunRequest> = (1..=3)
        .map(|seed| {
            let mut spec = crate::dispatch::tiny("gbm", 6, 256);
            spec["training"]["seed"] = json!(seed);
            crate::dispatch::request(spec)
        })
        .collect();
    let killer = std::thread::spawn(move || {
        while !seen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        a.kill();
    });
    let out = s.run_many(reqs);
    killer.join().unwrap();
    for o in out {
        let rec = o.unwrap().record;
        assert_eq!(rec.status, research::RunStatus::Ok, "{:?}", rec.error);
    }
    let all = history(dir.path());
    assert_eq!(all.len(), 3, "each run recorded once");
    for r in &all {
        let on = r.ran_on.as_deref().unwrap();
        assert!(on.starts_with(&format!("worker {}", b.url)), "{on}");
    }
}

/// A CPU runner and the real BTC 1m history it resolves for `spec` (the shared data folder),
/// or `None` after a visible skip (a failure under `SYNTH_CITY_REQUIRE_SHARED`).
fn real_btc_1m(
    test: &str,
    spec: &serde_json::Value,
) -> Option<(Arc<research::ModelsRunner>, research::ResolvedData)> {
    let local =
        Arc::new(research::ModelsRunner::new().with_device(models::device::DeviceChoice::Cpu));
    let req = research::DataRequest {
        assets: vec!["BTC".into()],
        ..Default::default()
    };
    let Ok(resolved) = local.resolve_data(spec, &req) else {
        assert!(
            std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
            "{test}: the shared data folder (real BTC 1m history) is required here"
        );
        eprintln!("SKIP: {test}: no real BTC 1m history (shared data folder)");
        return None;
    };
    Some((local, resolved))
}

#[test]
fn a_bridge_publish_evaluates_its_promotion_on_the_workers() {
    // The paired comparison runs on the real BTC 1m history.
    let spec = json!({"baseline": "gbm", "timeframe": "1m"});
    let Some((local, resolved)) = real_btc_1m(
        "a_bridge_publish_evaluates_its_promotion_on_the_workers",
        &spec,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let ws = tempfile::tempdir().unwrap();
    let job = Job {
        bot_id: "bot-1".into(),
        workspace: ws.path().to_path_buf(),
        cancel: Arc::new(AtomicBool::new(false)),
        events: bridge::events::EventBus::new(64),
        stage: Arc::new(Mutex::new(None)),
        max_model_bytes: u64::MAX,
    };
    // Trained on this machine, by an engine without workers.
    let here = bridge::EngineBackend::new(archive.clone(), bridge::EngineOptions::default());
    let run = here
        .run_experiment(
            &job,
            &json!({"preset": "gbm", "asset": "BTC", "timeframe": "1m", "seed": 1}),
        )
        .unwrap();
    assert_eq!(run.status, "ok", "{run:?}");
    // Published through an engine whose runner is a one-worker pool: the promotion's paired
    // comparison (the run against the default model on the standard prompts) goes there.
    let w = TestWorker::start(Some("t"), 1);
    let pool = WorkerPool::connect(local.clone(), &[w.addr("t")])
        .with_poll_interval(Duration::from_millis(20));
    let there = bridge::EngineBackend::new(archive, bridge::EngineOptions::default())
        .with_runner(Arc::new(pool));
    let (_, _, prepared) = local.inputs(&spec, &resolved).unwrap().remove(0);
    let sha = worker::protocol::sha256_hex(&serde_json::to_vec(&prepared).unwrap());
    let c = worker::client::WorkerClient::new(w.addr("t")).unwrap();
    assert!(!c.has_data(&sha).unwrap());
    let publish: bridge::types::PublishRequest =
        serde_json::from_value(json!({"run_id": run.id})).unwrap();
    there.publish(&job, &publish).unwrap();
    assert!(
        c.has_data(&sha).unwrap(),
        "the promotion's comparison did not run on the worker"
    );
}

#[test]
fn the_autopilots_research_round_runs_its_experiments_on_the_workers() {
    // The round re-runs a baseline on the real BTC 1m history.
    let spec = json!({"baseline": "gbm", "timeframe": "1m"});
    let Some((local, _)) = real_btc_1m(
        "the_autopilots_research_round_runs_its_experiments_on_the_workers",
        &spec,
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    let mut cfg = autopilot::AutopilotConfig::new(dir.path().to_path_buf());
    cfg.assets = vec!["BTC".into()];
    cfg.timeframes = vec![sn50::Timeframe::High1m];
    cfg.research.mode = autopilot::ResearchMode::Baselines(vec!["gbm".into()]);
    let w = TestWorker::start(Some("t"), 1);
    let pool: Arc<dyn ExperimentRunner> = Arc::new(
        WorkerPool::connect(local, &[w.addr("t")]).with_poll_interval(Duration::from_millis(20)),
    );
    let report =
        autopilot::research_task::run_round(&cfg, &archive, 1, Duration::from_secs(600), 0, &pool)
            .unwrap();
    assert_eq!(report.experiments, 1, "{report:?}");
    assert!(report.errors.is_empty(), "{report:?}");
    let all = history(dir.path());
    assert_eq!(all.len(), 1, "recorded once");
    let on = all[0].ran_on.as_deref().unwrap_or_default();
    assert!(
        on.starts_with(&format!("worker {}", w.url)),
        "ran on {on:?}"
    );
}
