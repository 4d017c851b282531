//! Dispatch of research runs to workers: results identical to local runs, a worker killed
//! mid-experiment, tokens.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use models::data::DataPolicy;
use models::experiment::{prepare, ExperimentConfig, ModelChoice, PreparedData};
use models::spec::Timeframe;
use research::{
    Archive, DataRequest, ExperimentRunner, ModelsRunner, Requester, ResearchSession, RunRequest,
    RunStatus,
};
use serde_json::{json, Value};
use worker::client::{CallError, WorkerClient};
use worker::{WorkerAddr, WorkerOptions, WorkerPool};

/// A worker on 127.0.0.1 in its own runtime; `kill` drops the runtime (listener and
/// connections), like a process that dies.
pub(crate) struct TestWorker {
    pub(crate) url: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl TestWorker {
    pub(crate) fn start(token: Option<&str>, slots: usize) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let opts = WorkerOptions {
            token: token.map(str::to_string),
            slots,
            device: models::device::DeviceChoice::Cpu,
            ..Default::default()
        };
        rt.spawn(worker::serve(listener, opts, std::future::pending()));
        Self { url, rt: Some(rt) }
    }

    pub(crate) fn addr(&self, token: &str) -> WorkerAddr {
        WorkerAddr::new(&self.url, token)
    }

    pub(crate) fn kill(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        self.kill();
    }
}

pub(crate) fn data() -> PreparedData {
    let mut cfg = ExperimentConfig::new(
        "BTC",
        Timeframe::High1m,
        ModelChoice::Baseline("gbm".into()),
    );
    cfg.data = DataPolicy::SyntheticOnly;
    prepare(&cfg).unwrap()
}

pub(crate) fn local(d: &PreparedData) -> Arc<ModelsRunner> {
    Arc::new(
        ModelsRunner::new()
            .with_device(models::device::DeviceChoice::Cpu)
            .with_data("BTC", Timeframe::High1m, d.clone()),
    )
}

pub(crate) fn session(runner: Arc<dyn ExperimentRunner>) -> (tempfile::TempDir, ResearchSession) {
    let dir = tempfile::tempdir().unwrap();
    let archive = Arc::new(Archive::open(dir.path(), None).unwrap());
    (dir, ResearchSession::new(archive, runner, Requester::Cli))
}

pub(crate) fn tiny(head: &str, epochs: usize, windows: usize) -> Value {
    json!({"timeframe": "1m", "d_model": 8, "seq_len": 32,
           "blocks": [{"name": "mlp"}], "head": {"name": head},
           "training": {"epochs": epochs, "batch_size": 16, "n_paths": 16,
                        "max_windows": windows, "seed": 3, "patience": 0},
           "eval": {"folds": 1, "max_prompts": 2}})
}

pub(crate) fn request(spec: Value) -> RunRequest {
    RunRequest {
        spec,
        data: DataRequest {
            assets: vec!["BTC".into()],
            days: Some(8),
            allow_synthetic: true,
            ..Default::default()
        },
        seed: 2,
        ..Default::default()
    }
}

#[test]
fn a_sweep_on_two_workers_matches_the_same_sweep_run_locally() {
    let d = data();
    let reqs: Vec<RunRequest> = ["gbm", "student_t", "sde"]
        .iter()
        .map(|h| request(tiny(h, 1, 64)))
        .chain([request(json!({"baseline": "gbm", "timeframe": "1m",
                                "eval": {"folds": 1, "max_prompts": 2}}))])
        .collect();
    let (_l, mut here) = session(local(&d));
    let local_out: Vec<_> = here
        .run_many(reqs.clone())
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let (a, b) = (
        TestWorker::start(Some("tok-a"), 1),
        TestWorker::start(Some("tok-b"), 1),
    );
    let pool = WorkerPool::connect(local(&d), &[a.addr("tok-a"), b.addr("tok-b")])
        .with_poll_interval(Duration::from_millis(20));
    assert_eq!(pool.slots(), 2);
    let (dir, mut there) = session(Arc::new(pool));
    let remote_out: Vec<_> = there
        .run_many(reqs)
        .into_iter()
        .map(Result::unwrap)
        .collect();

    for (l, r) in local_out.iter().zip(&remote_out) {
        let (l, r) = (&l.record, &r.record);
        assert_eq!(r.status, RunStatus::Ok, "{:?}", r.error);
        assert_eq!(l.experiment_id, r.experiment_id);
        assert_eq!(l.crps, r.crps, "{}", l.name);
        assert_eq!(l.scores, r.scores, "{}", l.name);
        assert!(
            l.ran_on.as_deref().unwrap().starts_with("local cpu"),
            "{:?}",
            l.ran_on
        );
        let on = r.ran_on.as_deref().unwrap();
        assert!(on.starts_with("worker http://127.0.0.1:"), "{on}");
        // Weights, samples and every other file came back bit for bit (checked by hash on the
        // way); `result-*.json` holds wall-clock timings, so it is compared by its scores.
        let names = |rec: &research::RunRecord| {
            let mut v: Vec<(String, String)> = rec
                .artifacts
                .iter()
                .filter(|a| !a.name.starts_with("plots/") && !a.name.starts_with("result-"))
                .map(|a| (a.name.clone(), a.sha256.clone()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(names(l), names(r), "{}", l.name);
    }
    // Both workers took part, and the coordinator's registry holds each run once.
    let places: std::collections::BTreeSet<_> =
        remote_out.iter().map(|o| o.record.ran_on.clone()).collect();
    assert_eq!(places.len(), 2, "{places:?}");
    let archive = Archive::open(dir.path(), None).unwrap();
    let all = archive
        .registry
        .history(&research::HistoryQuery::default())
        .unwrap();
    assert_eq!(all.len(), 4);
}

#[test]
fn a_worker_killed_mid_experiment_has_it_rerun_elsewhere_and_recorded_once() {
    let d = data();
    // A has two slots, so it takes the job first; it dies at the first epoch it reports.
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
    let pool = Arc::new(pool);
    let (dir, mut s) = session(pool.clone());
    let a_url = a.url.clone();
    let killer = std::thread::spawn(move || {
        while !seen.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        a.kill();
    });
    let out = s.run(request(tiny("gbm", 6, 256))).unwrap();
    killer.join().unwrap();
    let rec = &out.record;
    assert_eq!(rec.status, RunStatus::Ok, "{:?}", rec.error);
    let on = rec.ran_on.as_deref().unwrap();
    assert!(on.starts_with(&format!("worker {}", b.url)), "{on}");
    assert_eq!(pool.alive(), vec![b.url.clone()]);
    assert!(!pool.alive().contains(&a_url));
    let archive = Archive::open(dir.path(), None).unwrap();
    let all = archive
        .registry
        .history(&research::HistoryQuery::default())
        .unwrap();
    assert_eq!(all.len(), 1, "recorded once");
    // The same experiment run locally scores the same.
    let (_l, mut here) = session(local(&d));
    let l = here.run(request(tiny("gbm", 6, 256))).unwrap();
    assert_eq!(l.record.crps, rec.crps);
}

#[test]
fn a_wrong_or_missing_token_is_refused_and_health_stays_open() {
    let w = TestWorker::start(Some("right"), 1);
    let wrong = WorkerClient::new(w.addr("wrong")).unwrap();
    assert!(wrong.health().unwrap().ok);
    for c in [wrong, WorkerClient::new(w.addr("")).unwrap()] {
        match c.has_data("abc") {
            Err(CallError::Status {
                status: 401,
                message,
                ..
            }) => {
                assert!(!message.contains("right"), "{message}")
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.cancel("job1"),
            Err(CallError::Status { status: 401, .. })
        ));
    }
    let ok = WorkerClient::new(w.addr("right")).unwrap();
    assert!(!ok.has_data("abc").unwrap());
    // A session through a pool with the wrong token fails with a message naming the fix,
    // instead of training elsewhere.
    let d = data();
    let pool = WorkerPool::connect(local(&d), &[w.addr("wrong")]);
    let (_dir, mut s) = session(Arc::new(pool));
    let out = s.run(request(tiny("gbm", 1, 32))).unwrap();
    let err = out.record.error.unwrap().message;
    assert!(err.contains("SYNTH_CITY_WORKERS"), "{err}");
    assert!(!err.contains("wrong"), "{err}");
}

#[test]
fn a_worker_without_a_token_only_listens_on_loopback() {
    let opts = WorkerOptions::default();
    let open: std::net::SocketAddr = "0.0.0.0:7070".parse().unwrap();
    let e = worker::server::check_bind(&open, &opts).unwrap_err();
    assert!(e.contains("SYNTH_CITY_WORKER_TOKEN"), "{e}");
    assert!(worker::server::check_bind(&"127.0.0.1:7070".parse().unwrap(), &opts).is_ok());
    let with = WorkerOptions {
        token: Some("x".into()),
        ..Default::default()
    };
    assert!(worker::server::check_bind(&open, &with).is_ok());
}

#[test]
fn jobs_are_idempotent_by_id_and_can_be_cancelled() {
    let w = TestWorker::start(None, 1);
    let c = WorkerClient::new(w.addr("")).unwrap();
    let d = data();
    let bytes = serde_json::to_vec(&d).unwrap();
    let sha = worker::protocol::sha256_hex(&bytes);
    // A body that does not hash to its path is refused.
    assert!(matches!(
        c.put_data(&"0".repeat(64), bytes.clone()),
        Err(CallError::Status { status: 422, .. })
    ));
    c.put_data(&sha, bytes).unwrap();
    assert!(c.has_data(&sha).unwrap());
    let runner = local(&d);
    let spec = runner.normalise(&tiny("gbm", 30, 256)).unwrap();
    let resolved = runner
        .resolve_data(&spec, &request(spec.clone()).data)
        .unwrap();
    let job = worker::protocol::JobSpec {
        protocol: worker::protocol::PROTOCOL,
        spec,
        data: resolved,
        seed: 2,
        inputs: vec![worker::protocol::DataRef {
            asset: "BTC".into(),
            timeframe: "1m".into(),
            sha256: sha,
        }],
    };
    let first = c.submit("job-1", &job).unwrap();
    let again = c.submit("job-1", &job).unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(c.health().unwrap().busy, 1, "submitted twice, one job");
    let mut other = job.clone();
    other.seed = 9;
    assert!(matches!(
        c.submit("job-1", &other),
        Err(CallError::Status { status: 409, .. })
    ));
    assert!(matches!(
        c.submit("../etc", &job),
        Err(CallError::Status {
            status: 400 | 404,
            ..
        })
    ));
    let st = c.cancel("job-1").unwrap();
    assert_eq!(st.state, worker::protocol::JobState::Cancelled);
    assert_eq!(
        c.status("job-1", 0).unwrap().state,
        worker::protocol::JobState::Cancelled
    );
}
