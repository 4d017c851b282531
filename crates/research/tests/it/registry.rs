//! Registry: novelty, champions, history queries, trends, concurrency, migrations.

use std::sync::Arc;

use research::registry::schema::SCHEMA_VERSION;
use research::{Archive, ErrorKind, HistoryOrder, HistoryQuery, Registry};

use crate::common::{failed, run};

fn open() -> (tempfile::TempDir, Registry) {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::open(dir.path().join("registry.sqlite")).unwrap();
    (dir, reg)
}

#[test]
fn insert_and_get_roundtrip_and_idempotent() {
    let (_d, reg) = open();
    let rec = run("a", &["lstm"], "gbm", 32, "BTC", 12.5);
    assert!(reg.insert_run(&rec, None).unwrap());
    assert!(
        !reg.insert_run(&rec, None).unwrap(),
        "second insert of the same run must be a no-op"
    );
    assert_eq!(reg.count_runs().unwrap(), 1);
    assert_eq!(reg.get_run(&rec.run_id).unwrap(), rec);
    assert_eq!(reg.get_run(&rec.run_id[..8]).unwrap().run_id, rec.run_id);
    assert_eq!(
        reg.get_run("ffffffff").unwrap_err().kind,
        ErrorKind::NotFound
    );
    assert_eq!(
        reg.get_run("../x").unwrap_err().kind,
        ErrorKind::InvalidConfig
    );
    assert_eq!(rec.baseline_ratio, Some(0.8));
}

#[test]
fn novelty_finds_exact_similar_and_failures() {
    let (_d, reg) = open();
    let a = run("a", &["transformer", "lstm"], "gbm", 32, "BTC", 10.0);
    reg.insert_run(&a, None).unwrap();
    // Same experiment again: not novel, prior run returned.
    let n = reg.novelty(&a.experiment_id, &a.blocks, &a.head).unwrap();
    assert!(!n.is_novel);
    assert_eq!(n.prior_runs.len(), 1);
    assert_eq!(n.prior_runs[0].crps, Some(10.0));
    // Same architecture, other d_model: novel, similar = same_architecture.
    let b = run("b", &["transformer", "lstm"], "gbm", 64, "BTC", 9.0);
    assert_ne!(a.experiment_id, b.experiment_id);
    let n = reg.novelty(&b.experiment_id, &b.blocks, &b.head).unwrap();
    assert!(n.is_novel);
    assert_eq!(n.similar.len(), 1);
    assert_eq!(n.similar[0].match_type, "same_architecture");
    assert!(n.recommendation.contains("10.00"), "{}", n.recommendation);
    // Blocks in another order with another head: same_blocks; failures of the shape surface.
    let f = failed(
        "f",
        &["transformer", "lstm"],
        "gbm",
        128,
        ErrorKind::TrainingDiverged,
    );
    reg.insert_run(&f, None).unwrap();
    let n = reg.novelty(&b.experiment_id, &b.blocks, &b.head).unwrap();
    assert_eq!(n.failures.len(), 1);
    assert_eq!(
        n.failures[0].error_kind.as_deref(),
        Some("training_diverged")
    );
    assert!(n.recommendation.contains("failed"), "{}", n.recommendation);
    let c = run("c", &["lstm", "transformer"], "sde", 32, "BTC", 9.0);
    let n = reg.novelty(&c.experiment_id, &c.blocks, &c.head).unwrap();
    assert_eq!(n.total_similar, 2);
    assert!(n.similar.iter().all(|s| s.match_type == "same_blocks"));
    assert!(n.failures.is_empty());
}

#[test]
fn best_run_is_the_lowest_real_crps_and_ignores_synthetic() {
    let (_d, reg) = open();
    assert!(reg.best_run("BTC", "5m").unwrap().is_none());
    let real = run("real", &["lstm"], "gbm", 32, "BTC", 10.0);
    let mut synth = run("synth", &["lstm"], "gbm", 16, "BTC", 5.0);
    synth.provenance = research::DataProvenance::Synthetic;
    reg.insert_run(&real, None).unwrap();
    reg.insert_run(&synth, None).unwrap();
    // A leaderboard, not a champion: nothing is champion until promoted.
    assert!(reg.champion("BTC", "5m").unwrap().is_none());
    let champ = reg.best_run("btc", "5m").unwrap().unwrap();
    assert_eq!(champ.run.run_id, real.run_id);
    assert_eq!(champ.crps, 10.0);
    let better = run("better", &["gru"], "gbm", 32, "BTC", 8.0);
    reg.insert_run(&better, None).unwrap();
    reg.insert_run(&run("eth", &["gru"], "gbm", 32, "ETH", 3.0), None)
        .unwrap();
    reg.insert_run(
        &failed("x", &["gru"], "gbm", 8, ErrorKind::Environment),
        None,
    )
    .unwrap();
    assert_eq!(
        reg.best_run("BTC", "5m").unwrap().unwrap().run.run_id,
        better.run_id
    );
    assert!(reg.best_run("BTC", "1m").unwrap().is_none());
    let all = reg.best_runs(None, None).unwrap();
    let pairs: Vec<_> = all.iter().map(|c| (c.asset.as_str(), c.crps)).collect();
    assert_eq!(pairs, vec![("BTC", 8.0), ("ETH", 3.0)]);
}

#[test]
fn history_orders_and_filters() {
    let (_d, reg) = open();
    let runs = [
        run("r1", &["lstm"], "gbm", 32, "BTC", 12.0),
        run("r2", &["transformer", "lstm"], "sde", 32, "BTC", 9.0),
        run("r3", &["gru"], "gbm", 32, "ETH", 15.0),
    ];
    for r in &runs {
        reg.insert_run(r, None).unwrap();
    }
    reg.insert_run(
        &failed("bad", &["gru"], "gbm", 8, ErrorKind::TrainingDiverged),
        None,
    )
    .unwrap();
    let names = |q: HistoryQuery| -> Vec<String> {
        reg.history(&q)
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect()
    };
    assert_eq!(
        names(HistoryQuery {
            order: HistoryOrder::Best,
            ..Default::default()
        }),
        ["r2", "r1", "r3"]
    );
    assert_eq!(
        names(HistoryQuery {
            order: HistoryOrder::Worst,
            limit: 2,
            ..Default::default()
        }),
        ["r3", "r1"]
    );
    assert_eq!(
        names(HistoryQuery {
            order: HistoryOrder::Recent,
            ..Default::default()
        })
        .len(),
        4
    );
    let q = HistoryQuery {
        order: HistoryOrder::Best,
        asset: Some("eth".into()),
        ..Default::default()
    };
    assert_eq!(names(q), ["r3"]);
    let q = HistoryQuery {
        order: HistoryOrder::Best,
        block: Some("LSTM".into()),
        ..Default::default()
    };
    assert_eq!(names(q), ["r2", "r1"]);
    let q = HistoryQuery {
        order: HistoryOrder::Best,
        head: Some("sde".into()),
        ..Default::default()
    };
    assert_eq!(names(q), ["r2"]);
    let q = HistoryQuery {
        order: HistoryOrder::Best,
        timeframe: Some("1m".into()),
        ..Default::default()
    };
    assert!(names(q).is_empty());

    let t = reg.trends().unwrap();
    let lstm = t.blocks.iter().find(|b| b.name == "lstm").unwrap();
    assert_eq!(
        (lstm.runs, lstm.ok, lstm.best_crps, lstm.mean_crps),
        (2, 2, Some(9.0), Some(10.5))
    );
    let gru = t.blocks.iter().find(|b| b.name == "gru").unwrap();
    assert_eq!((gru.runs, gru.ok, gru.failed), (2, 1, 1));
    assert_eq!(t.heads[0].name, "sde");
    assert_eq!(t.heads[0].mean_baseline_ratio, Some(0.8));
}

#[test]
fn concurrent_writers_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let threads = 8;
    let per = 25;
    let shared = Arc::new(Archive::open(dir.path(), None).unwrap());
    let mut handles = Vec::new();
    for t in 0..threads {
        let path = dir.path().to_path_buf();
        let shared = shared.clone();
        handles.push(std::thread::spawn(move || {
            // Half the threads share one handle, half open their own connection.
            let own = (t % 2 == 0).then(|| Archive::open(&path, None).unwrap());
            let archive = own.as_ref().unwrap_or(&shared);
            let mut out = Vec::new();
            for i in 0..per {
                let rec = run(
                    &format!("t{t}-{i}"),
                    &["lstm"],
                    "gbm",
                    8 + i as u32,
                    "BTC",
                    (t * per + i) as f64,
                );
                let files = vec![(
                    "spec.json".to_string(),
                    serde_json::to_vec(&rec.spec).unwrap(),
                )];
                out.push(archive.record_run(rec, files).unwrap());
            }
            out
        }));
    }
    let written: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let reg = Registry::open(dir.path().join("registry.sqlite")).unwrap();
    assert_eq!(reg.count_runs().unwrap(), (threads * per) as u64);
    for rec in &written {
        assert_eq!(
            &reg.get_run(&rec.run_id).unwrap(),
            rec,
            "record torn or lost"
        );
    }
    let status = reg.outbox_status().unwrap();
    assert_eq!(
        status.pending,
        (threads * per * 2) as u64,
        "spec.json + record.json per run"
    );
}

#[test]
fn schema_is_versioned_and_newer_schemas_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.sqlite");
    drop(Registry::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    let v: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, SCHEMA_VERSION);
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    drop(Registry::open(&path).unwrap());
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    let err = Registry::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Environment);
    assert!(err.message.contains("newer"), "{}", err.message);
}
