//! Versioned snapshots against a real S3 server (s3s-fs) on 127.0.0.1: push, history, restore
//! of any version, and a push cut off by an outage that leaves the previous version intact.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use research::store::block_on;
use research::store::snapshot::{materialise, SnapshotFile, Snapshots};

use crate::s3::{count_files, slow, S3Server, BUCKET};

const SPACE: &str = "openclaw/test-agent";

fn file(path: &str, body: &[u8]) -> SnapshotFile {
    SnapshotFile {
        path: path.into(),
        bytes: body.to_vec(),
        executable: path.ends_with(".sh"),
    }
}

fn at(secs: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
}

fn sorted(mut v: Vec<SnapshotFile>) -> Vec<SnapshotFile> {
    v.sort_by(|a, b| a.path.cmp(&b.path));
    v
}

#[test]
fn push_history_and_restore_every_version() {
    let srv_dir = tempfile::tempdir().unwrap();
    let server = S3Server::start(srv_dir.path(), 0);
    let snaps = Snapshots::new(server.remote(), SPACE).unwrap();

    let v1_files = vec![
        file("MEMORY.md", b"first memory"),
        file("skills/x/SKILL.md", b"---\nname: x\n---\n"),
        file("skills/x/scripts/run.sh", b"#!/bin/sh\necho hi\n"),
    ];
    let r1 = block_on(snaps.push(v1_files.clone(), at(0)))
        .unwrap()
        .unwrap();
    assert!(r1.created);
    assert_eq!((r1.files, r1.blobs_uploaded, r1.blobs_reused), (3, 3, 0));

    // The same tree again: no new version.
    let again = block_on(snaps.push(v1_files.clone(), at(60)))
        .unwrap()
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.version, r1.version);

    let mut v2_files = v1_files.clone();
    v2_files[0] = file("MEMORY.md", b"second memory");
    v2_files.push(file("memory/2026-12-06.md", b"a day"));
    let r2 = block_on(snaps.push(v2_files.clone(), at(120)))
        .unwrap()
        .unwrap();
    assert!(r2.created);
    assert_eq!(
        (r2.blobs_uploaded, r2.blobs_reused),
        (2, 2),
        "unchanged blobs are reused"
    );

    let history = block_on(snaps.history()).unwrap().unwrap();
    assert_eq!(history, vec![r1.version.clone(), r2.version.clone()]);
    assert_eq!(history[0].created_at, at(0));
    assert_eq!(
        count_files(&srv_dir.path().join(BUCKET).join(SPACE).join("blobs")),
        5
    );

    // Any version restores, by id, `latest` or a hash prefix.
    for (sel, want) in [
        (r1.version.version.clone(), &v1_files),
        ("latest".to_string(), &v2_files),
        (r1.version.hash[..8].to_string(), &v1_files),
    ] {
        let v = block_on(snaps.resolve(&sel)).unwrap().unwrap();
        let m = block_on(snaps.manifest(&v.version)).unwrap().unwrap();
        let got = block_on(snaps.fetch(&m)).unwrap().unwrap();
        assert_eq!(sorted(got), sorted(want.clone()), "version {sel}");
    }
    assert!(block_on(snaps.resolve("zzzzzz")).unwrap().is_err());

    // Materialised into a folder: exactly the version's files, scripts executable.
    let out = tempfile::tempdir().unwrap();
    let ws = out.path().join("workspace");
    let m = block_on(snaps.manifest(&r1.version.version))
        .unwrap()
        .unwrap();
    materialise(&ws, &block_on(snaps.fetch(&m)).unwrap().unwrap(), &[]).unwrap();
    assert_eq!(
        std::fs::read(ws.join("MEMORY.md")).unwrap(),
        b"first memory"
    );
    assert!(!ws.join("memory").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.join("skills/x/scripts/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "script not executable: {mode:o}");
    }
}

#[test]
fn push_cut_off_by_an_outage_leaves_the_previous_version_intact() {
    let srv_dir = tempfile::tempdir().unwrap();
    let mut server = S3Server::start(srv_dir.path(), 0);
    let port = server.addr.port();
    let snaps = Snapshots::new(server.remote(), SPACE).unwrap();
    let v1: Vec<_> = (0..3)
        .map(|i| file(&format!("memory/{i}.md"), format!("v1 {i}").as_bytes()))
        .collect();
    let r1 = block_on(snaps.push(v1.clone(), at(0))).unwrap().unwrap();

    // A big second version through a slow link; the server goes away halfway through.
    let v2: Vec<_> = (0..40)
        .map(|i| {
            file(
                &format!("memory/{i}.md"),
                format!("v2 {i} {}", "x".repeat(i * 10)).as_bytes(),
            )
        })
        .collect();
    let slow_snaps =
        Snapshots::new(slow(&server.remote(), Duration::from_millis(20)), SPACE).unwrap();
    let blobs = srv_dir.path().join(BUCKET).join(SPACE).join("blobs");
    let res = std::thread::scope(|s| {
        let h = s.spawn(|| block_on(slow_snaps.push(v2.clone(), at(60))).unwrap());
        let t0 = Instant::now();
        while count_files(&blobs) < 15 && t0.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        server.stop();
        h.join().unwrap()
    });
    assert!(res.is_err(), "the outage must surface");
    let partial = count_files(&blobs);
    assert!((15..43).contains(&partial), "{partial} blobs");

    // Back up: the interrupted push left no version; the first one restores whole.
    let server = S3Server::start(srv_dir.path(), port);
    let snaps = Snapshots::new(server.remote(), SPACE).unwrap();
    let history = block_on(snaps.history()).unwrap().unwrap();
    assert_eq!(history, vec![r1.version.clone()]);
    let latest = block_on(snaps.resolve("latest")).unwrap().unwrap();
    let m = block_on(snaps.manifest(&latest.version)).unwrap().unwrap();
    let got = block_on(snaps.fetch(&m)).unwrap().unwrap();
    assert_eq!(sorted(got), sorted(v1.clone()));

    // The next push finishes the job, reusing what made it across.
    let r2 = block_on(snaps.push(v2.clone(), at(120))).unwrap().unwrap();
    assert!(r2.created);
    assert!(r2.blobs_reused >= 12, "{r2:?}");
    assert_eq!(r2.blobs_uploaded + r2.blobs_reused, 40);
    assert_eq!(block_on(snaps.history()).unwrap().unwrap().len(), 2);
}
