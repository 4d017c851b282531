//! The artifact store under faults: a remote that accepts connections and never answers costs
//! a run seconds, not minutes, and loses nothing; what a run killed mid-write left behind is
//! cleaned when the archive is next opened, and nothing else is.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use research::store::{Remote, RemoteConfig};
use research::{Archive, Requester, ResearchSession};

use crate::common::run;
use crate::session::{req, Fake};

/// A TCP endpoint that accepts every connection and never sends a byte.
fn silent_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().take(1000) {
            held.push(s);
        }
    });
    format!("http://{addr}")
}

#[test]
fn default_remote_timeouts_are_short() {
    let cfg = RemoteConfig::new("http://127.0.0.1:9", "b", "a", "s");
    assert!(cfg.connect_timeout <= Duration::from_secs(5), "{cfg:?}");
    assert!(cfg.read_timeout <= Duration::from_secs(5));
    assert!(cfg.retry_timeout <= Duration::from_secs(10));
}

#[test]
fn a_remote_that_never_answers_costs_a_run_seconds_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = RemoteConfig::new(&silent_endpoint(), "bucket", "access", "secret");
    cfg.read_timeout = Duration::from_millis(300);
    cfg.connect_timeout = Duration::from_millis(300);
    let archive = Arc::new(Archive::open(dir.path(), Some(Remote::s3(&cfg).unwrap())).unwrap());
    let mut s = ResearchSession::new(archive.clone(), Arc::new(Fake), Requester::Cli);
    let t0 = std::time::Instant::now();
    let out = s.run(req("gbm", 16)).unwrap();
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(8), "the run took {took:?}");
    assert_eq!(out.record.status, research::RunStatus::Ok);
    // Everything the run stored is still queued for the next sync.
    let status = archive.registry.outbox_status().unwrap();
    assert!(status.pending >= 2, "{status:?}");
    assert_eq!(status.synced, 0, "{status:?}");
    assert!(archive.registry.has_run(&out.record.run_id).unwrap());
}

/// Sets `path`'s modification time to `ago` before now.
fn age(path: &Path, ago: Duration) {
    let f = std::fs::File::open(path).unwrap();
    f.set_modified(SystemTime::now() - ago).unwrap();
}

#[test]
fn leftovers_of_a_killed_run_are_cleaned_on_open_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let archive = Archive::open(dir.path(), None).unwrap();
    let kept = archive
        .record_run(
            run("kept", &["lstm"], "gbm", 8, "BTC", 1.0),
            vec![("spec.json".into(), b"{}".to_vec())],
        )
        .unwrap();
    let runs = dir.path().join("artifacts/runs");
    let hour = Duration::from_secs(3600);
    // A run killed after writing its files, before its registry row: an old orphan folder.
    let orphan = runs.join("0123456789ab-deadbeef");
    std::fs::create_dir_all(orphan.join("plots")).unwrap();
    for f in ["spec.json", "weights.safetensors", "plots/fan.svg"] {
        std::fs::write(orphan.join(f), b"x").unwrap();
        age(&orphan.join(f), hour);
    }
    age(&orphan.join("plots"), hour);
    age(&orphan, hour);
    // A temp file of an interrupted write inside a recorded run.
    let tmp = runs.join(&kept.run_id).join(".tmp-0123456789abcdef");
    std::fs::write(&tmp, b"half").unwrap();
    age(&tmp, hour);
    // Not ours to remove: a fresh orphan (another process may be writing it now), a folder
    // not named like a run, a file not named like our temp files.
    let fresh = runs.join("fedcba987654-00000001");
    std::fs::create_dir_all(&fresh).unwrap();
    std::fs::write(fresh.join("spec.json"), b"x").unwrap();
    let foreign = runs.join("notes");
    std::fs::create_dir_all(&foreign).unwrap();
    age(&foreign, hour);
    let other = runs.join(&kept.run_id).join(".tmp-notours");
    std::fs::write(&other, b"x").unwrap();
    age(&other, hour);
    drop(archive);

    let archive = Archive::open(dir.path(), None).unwrap();
    assert!(!orphan.exists(), "orphan run folder left");
    assert!(!tmp.exists(), "temp file left");
    assert!(fresh.join("spec.json").exists());
    assert!(foreign.exists());
    assert!(other.exists());
    assert!(runs.join(&kept.run_id).join("spec.json").exists());
    assert!(archive.registry.has_run(&kept.run_id).unwrap());
    // Already clean: a second pass removes nothing.
    let again = archive.clean_orphans(SystemTime::now()).unwrap();
    assert_eq!(
        (again.temp_files, again.run_dirs),
        (0, 1),
        "only the fresh orphan, now old enough"
    );
}
