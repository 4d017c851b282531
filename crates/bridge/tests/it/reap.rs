//! Idle sessions are dropped from memory and come back whole; a running pipeline is never
//! reaped and its result is kept.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Harness, ADMIN};

async fn in_memory(h: &Harness, bot: &str) -> bool {
    let (_, b) = h.call(Some(ADMIN), "GET", "/admin/sessions", None).await;
    b["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["bot_id"] == bot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaped_bot_loses_nothing() {
    let h = Harness::start_with(|c| {
        c.session_ttl = Duration::from_millis(300);
        c.reap_every = Duration::from_millis(50);
    })
    .await;
    let idle = h.bot("idle").await;
    let busy = h.bot("busy").await;
    let spec = json!({"experiment": {"model": "bootstrap", "n_paths": 20, "windows": 1}});
    let (s, run) = h
        .call(Some(&idle), "POST", "/experiments/run", Some(spec))
        .await;
    assert_eq!(s, 200, "{run}");
    h.call(
        Some(&idle),
        "PUT",
        "/workspace/file?path=plan.md",
        Some(json!({"content": "keep me"})),
    )
    .await;

    h.backend.hold.store(true, Ordering::SeqCst);
    let (s, _) = h
        .call(
            Some(&busy),
            "POST",
            "/pipeline/run",
            Some(json!({"max_experiments": 1})),
        )
        .await;
    assert_eq!(s, 202);

    // Wait until the idle bot is reaped.
    let t0 = Instant::now();
    while in_memory(&h, "idle").await {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "idle session never reaped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The busy bot, idle far longer than the TTL but running, is still there.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(in_memory(&h, "busy").await);

    // The idle bot comes back with everything.
    let (_, b) = h.call(Some(&idle), "GET", "/session/summary", None).await;
    assert_eq!(b["num_experiments"], 1);
    assert_eq!(b["results"][0]["id"], run["id"]);
    let (_, b) = h
        .call(Some(&idle), "GET", "/workspace/file?path=plan.md", None)
        .await;
    assert_eq!(b["content"], "keep me");

    // The pipeline finishes; after the busy bot is reaped too, its result is still there.
    h.backend.release();
    let p = h.wait_pipeline(&busy).await;
    assert_eq!(p["status"], "completed");
    let t0 = Instant::now();
    while in_memory(&h, "busy").await {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "busy session never reaped"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, p2) = h.call(Some(&busy), "GET", "/pipeline/status", None).await;
    assert_eq!(p2["status"], "completed");
    assert_eq!(p2["result"], p["result"]);
    h.running.stop().await;
}
