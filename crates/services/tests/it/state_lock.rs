//! Read-modify-write of the state files across processes: every writer opens its own store
//! (its own lock file handle, as a second process would), so the advisory lock on
//! `<file>.lock` — not a Mutex — is what keeps each update.

use std::sync::{Arc, Barrier};

use services::basilica::budget::{Budget, Ledger};
use services::data_universe::{GravitySpec, Platform, SocialStore, TaskKind, TaskRecord};
use services::gradients::{DatasetSource, JobSpec, JobStore};

const THREADS: usize = 8;
const EACH: usize = 12;

/// Runs `f(thread, i)` for `EACH` entries in each of `THREADS` threads started together.
fn concurrently(f: impl Fn(usize, usize) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let start = Arc::new(Barrier::new(THREADS));
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let (f, start) = (f.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                for i in 0..EACH {
                    f(t, i);
                }
            })
        })
        .collect();
    for h in hs {
        h.join().unwrap();
    }
}

#[test]
fn concurrent_job_records_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("gradients");
    let spec = JobSpec {
        base_model: "Qwen/Qwen2.5-7B-Instruct".into(),
        dataset: DatasetSource::parse("me/plans").unwrap(),
        hours: 1,
        output_name: None,
    };
    let f = folder.clone();
    concurrently(move |t, i| {
        JobStore::new(&f)
            .record_submitted(&format!("t-{t}-{i}"), &spec, "cli")
            .unwrap();
    });
    let jobs = JobStore::new(&folder).jobs().unwrap();
    assert_eq!(jobs.len(), THREADS * EACH, "an update was lost");
}

#[test]
fn concurrent_social_tasks_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("social");
    let f = folder.clone();
    concurrently(move |t, i| {
        let rec = TaskRecord {
            id: format!("multicrawler-{t}-{i}"),
            kind: TaskKind::Gravity {
                spec: GravitySpec {
                    platform: Platform::X,
                    topic: Some("$BTC".into()),
                    keyword: None,
                    start: None,
                    end: None,
                    name: None,
                },
            },
            created_at: "2026-12-06T00:00:00Z".into(),
            status: None,
            datasets: vec![],
            files: vec![],
        };
        SocialStore::new(&f).save_task(&rec).unwrap();
    });
    let tasks = SocialStore::new(&folder).tasks().unwrap();
    assert_eq!(tasks.len(), THREADS * EACH, "an update was lost");
}

#[test]
fn concurrent_reservations_stay_within_the_day_budget() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("spend.json");
    // $1 a run at $1/h for at most an hour: the day's $5 pays for five runs, no more.
    let budget = Budget {
        per_run_usd: 1.0,
        per_day_usd: 5.0,
    };
    let granted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (p, g) = (path.clone(), granted.clone());
    concurrently(move |t, i| {
        if Ledger::new(&p)
            .reserve(&budget, &format!("run-{t}-{i}"), 1.0, 3600)
            .is_ok()
        {
            g.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    let granted = granted.load(std::sync::atomic::Ordering::SeqCst);
    let spent = Ledger::new(&path).spent_today().unwrap();
    assert_eq!(granted, 5, "reservations granted past the day cap");
    assert!((spent - 5.0).abs() < 1e-9, "ledger says {spent}");
}
