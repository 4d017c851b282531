//! 20 bots × 200 mixed reads in parallel on loopback: no errors.

use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::Harness;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_bots_two_hundred_reads_each() {
    let h = Arc::new(Harness::start().await);
    let mut keys = Vec::new();
    for i in 0..20 {
        keys.push(h.bot(&format!("load-{i:02}")).await);
    }
    let paths = [
        "/me",
        "/health",
        "/components/heads",
        "/components/presets",
        "/session",
        "/session/summary",
        "/experiments/compare",
        "/pipeline/status",
        "/history?limit=5",
        "/ranking?limit=5",
        "/champion",
        "/workspace/files",
        "/events/recent",
        "/agents",
    ];
    // At most 64 requests in flight at once (bounded load on loopback).
    let gate = Arc::new(Semaphore::new(64));
    let t0 = Instant::now();
    let mut tasks = Vec::new();
    for (b, key) in keys.into_iter().enumerate() {
        let (h, gate) = (Arc::clone(&h), Arc::clone(&gate));
        tasks.push(tokio::spawn(async move {
            let mut errors = Vec::new();
            for i in 0..200 {
                let path = paths[(b + i) % paths.len()];
                let _permit = gate.acquire().await.unwrap();
                let (s, body) = h.call(Some(&key), "GET", path, None).await;
                if s != 200 {
                    errors.push(format!("{path}: {s} {body}"));
                } else if path == "/me" && body["bot_id"] != format!("load-{b:02}") {
                    errors.push(format!("wrong identity {}", body["bot_id"]));
                }
            }
            errors
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        errors.extend(t.await.unwrap());
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!(
        "load: 4000 requests in {secs:.2} s ({:.0} req/s)",
        4000.0 / secs
    );
    assert!(
        errors.is_empty(),
        "{} errors, first: {:?}",
        errors.len(),
        errors.first()
    );
    let (_, b) = h
        .call(Some(crate::ADMIN), "GET", "/admin/sessions", None)
        .await;
    assert_eq!(b["total"], 20);
}
