//! The service on the shared data: compressed time (hour-long intervals, so each part runs
//! once; the schedule's order is sync → promotion → research → promotion), a Pyth stub, the
//! baselines as research.

use std::sync::Arc;
use std::time::{Duration, Instant};

use autopilot::Autopilot;

use crate::common::{self, Validator};
use crate::pyth_stub::PythStub;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn archive(dir: &std::path::Path) -> Arc<research::Archive> {
    Arc::new(research::Archive::open(dir, None).unwrap())
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !ok() {
        assert!(t0.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Sync → research → promote → the miner serves the new champion (a signed request answered by
/// it), then a stop: the axon drains and the state says stopped.
#[test]
fn syncs_researches_promotes_and_swaps_the_served_champion() {
    if !common::shared_data_or_skip("autopilot e2e") {
        return;
    }
    let home = common::home();
    let dir = home.path().to_path_buf();
    let stub = PythStub::start();
    let weak = common::weak_champion(&dir);
    let v = Validator::new(1);
    let (axon, sync) = common::miner(&dir, &v, &stub);
    // Before: the miner serves the weak champion it loaded at start.
    assert_eq!(
        axon.answerer()
            .models()
            .cached_name("BTC", sn50::Competition::Low)
            .as_deref(),
        Some("gbm")
    );
    let cfg = common::config(&dir, &["garch_t"]);
    let service = Autopilot::new(cfg, axon.clone(), sync, archive(&dir)).unwrap();
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = rt.spawn(service.run(listener, async move {
        let _ = stopped.await;
    }));

    // The champion changes in the registry and then in the miner.
    wait_for("the promotion and swap", Duration::from_secs(50), || {
        let s = common::state(&dir);
        s.served
            .get("BTC/5m")
            .is_some_and(|x| x.run_id.as_deref().is_some_and(|r| r != weak))
    });
    let s = common::state(&dir);
    let served = s.served["BTC/5m"].clone();
    assert_eq!(served.model.as_deref(), Some("garch_t"), "{s:?}");
    assert!(s.running);
    assert_eq!(s.sync.rounds, 1, "{s:?}");
    assert_eq!(s.research.rounds, 1, "{s:?}");
    assert_eq!(s.swaps, 1);
    assert!(stub.requests() >= 1, "the sync asked the Pyth stub");
    // The registry's champion is the run the miner serves, promoted by the autopilot after
    // a paired comparison with the weak champion.
    let reg = research::Registry::open(dir.join(research::registry::REGISTRY_FILE)).unwrap();
    let cur = reg.current_promotion("BTC", "5m").unwrap().unwrap();
    assert_eq!(cur.run_id, served.run_id);
    assert_eq!(cur.promoted_by, "autopilot");
    assert!(cur.evidence.is_some());
    // The synced history is what the miner holds now: its newest candle is minutes old.
    let ages = axon.answerer().history().ages();
    let btc = ages
        .iter()
        .find(|a| a.asset == "BTC" && a.resolution_secs == 300)
        .unwrap();
    assert!(!btc.stale, "{btc:?}");

    // A signed request is answered by the new champion.
    let (status, body) = v.ask(&base, &common::miner_hotkey());
    assert_eq!(status, 200, "{body}");
    let metrics = reqwest::blocking::get(format!("{base}/metrics"))
        .unwrap()
        .text()
        .unwrap();
    for want in [
        "synth_miner_answers_total{asset=\"BTC\",timeframe=\"low\",model=\"garch_t\"} 1\n",
        "synth_miner_history_syncs_total{result=\"ok\"} 1\n",
        "synth_autopilot_sync_rounds_total{result=\"ok\"} 1\n",
        "synth_autopilot_research_rounds_total{result=\"ok\"} 1\n",
        "synth_autopilot_promotion_candidates_total{outcome=\"promoted\"} 1\n",
        "synth_autopilot_serving_swaps_total 1\n",
    ] {
        assert!(metrics.contains(want), "missing {want:?} in\n{metrics}");
    }
    // The status report reads the same.
    let st = autopilot::status::read(&dir).unwrap();
    assert!(st.alive);
    assert!(autopilot::status::render_text(&st).contains("serving BTC/5m"));

    // Stop: the service ends, the state says stopped, nothing is in progress.
    stop.send(()).unwrap();
    let end = rt.block_on(handle).unwrap().unwrap();
    assert!(!end.running);
    assert_eq!(end.in_progress, None);
    let s = common::state(&dir);
    assert!(!s.running);
    assert!(
        reqwest::blocking::get(format!("{base}/metrics")).is_err(),
        "the axon is closed"
    );
}

/// A stop during a research round waits for it (grace), then a restart resumes the schedule:
/// the interrupted step first, nothing run twice (the registry reuses the finished run, the
/// compared candidate is not compared again), the sync not repeated before its interval.
#[test]
fn a_stop_mid_round_and_a_restart_resume_without_duplicate_work() {
    if !common::shared_data_or_skip("autopilot restart") {
        return;
    }
    let home = common::home();
    let dir = home.path().to_path_buf();
    let stub = PythStub::start();
    let v = Validator::new(2);

    // Run 1: stopped as soon as research starts; the step gets its grace and finishes.
    let (axon, sync) = common::miner(&dir, &v, &stub);
    let mut cfg = common::config(&dir, &["garch_t"]);
    cfg.stop_grace = Duration::from_secs(50);
    let service = Autopilot::new(cfg.clone(), axon, sync, archive(&dir)).unwrap();
    let rt = runtime();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = rt.spawn(service.run(listener, async move {
        let _ = stopped.await;
    }));
    wait_for("the research step", Duration::from_secs(40), || {
        common::state(&dir).in_progress.as_deref() == Some("research")
    });
    stop.send(()).unwrap();
    let end = rt.block_on(handle).unwrap().unwrap();
    assert!(!end.running);
    assert_eq!(end.in_progress, None, "the grace let the round finish");
    assert_eq!(end.research.rounds, 1);
    assert_eq!(
        end.promote.rounds, 1,
        "stopped before the promotion after research"
    );
    let syncs = stub.requests();
    let reg = research::Registry::open(dir.join(research::registry::REGISTRY_FILE)).unwrap();
    let runs = |reg: &research::Registry| {
        reg.history(&research::HistoryQuery {
            limit: 100,
            ..Default::default()
        })
        .unwrap()
        .len()
    };
    assert_eq!(runs(&reg), 1);

    // As if the process had died during the next research round: the state names the step.
    let mut s = common::state(&dir);
    s.in_progress = Some("research".into());
    s.running = true;
    s.save(&autopilot::state::state_path(&dir)).unwrap();

    // Run 2: resumes that round (the run is reused, not redone), then the promotion round the
    // stop cut off (the candidate is compared once), and ends after that round.
    let (axon, sync) = common::miner(&dir, &v, &stub);
    cfg.max_rounds = Some(1);
    let service = Autopilot::new(cfg, axon, sync, archive(&dir)).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let end = rt
        .block_on(service.run(listener, std::future::pending()))
        .unwrap();
    assert_eq!(end.restarts, 1);
    assert_eq!(end.research.rounds, 2);
    assert_eq!(end.promote.rounds, 2);
    assert_eq!(end.sync.rounds, 1, "the sync is not due again yet");
    assert_eq!(stub.requests(), syncs, "no sync request after the restart");
    assert_eq!(runs(&reg), 1, "the resumed round reused the finished run");
    assert_eq!(
        end.budget.experiments, 1,
        "the reused run is not counted twice"
    );
    assert_eq!(end.evaluated.len(), 1, "{:?}", end.evaluated);
    // garch_t against the default model (mix_range): refused, and recorded so.
    let e = end.evaluated.values().next().unwrap();
    assert!(!e.promoted, "{e:?}");
    assert!(e.reason.contains("refused"), "{e:?}");
    // A third start compares nothing again.
    let (axon, sync) = common::miner(&dir, &v, &stub);
    let mut cfg = common::config(&dir, &["garch_t"]);
    cfg.max_rounds = Some(1);
    cfg.research_every = Duration::from_secs(1);
    let service = Autopilot::new(cfg, axon, sync, archive(&dir)).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let end = rt
        .block_on(service.run(listener, std::future::pending()))
        .unwrap();
    assert_eq!(end.restarts, 2);
    assert_eq!(end.evaluated.len(), 1);
    assert!(
        end.promote
            .last_result
            .as_deref()
            .is_some_and(|r| r.starts_with("0 compared")),
        "{:?}",
        end.promote
    );
}
