//! The compute cap holds under a burst of pipeline starts: at most `max_running` run, at most
//! `max_queued` wait, the rest get 429, and queued pipelines run once slots free up.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;

use crate::{assert_error, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn burst_of_pipeline_starts_respects_the_cap() {
    let h = Harness::start().await; // 3 running, 2 queued, 1 per bot
    h.backend.hold.store(true, Ordering::SeqCst);
    let mut keys = Vec::new();
    for i in 0..12 {
        keys.push(h.bot(&format!("burst-{i:02}")).await);
    }
    let calls = keys.iter().map(|k| {
        h.call(
            Some(k),
            "POST",
            "/pipeline/run",
            Some(json!({"max_experiments": 1})),
        )
    });
    let answers = futures::future::join_all(calls).await;
    let accepted: Vec<usize> = (0..12).filter(|&i| answers[i].0 == 202).collect();
    let refused: Vec<usize> = (0..12).filter(|&i| answers[i].0 == 429).collect();
    assert_eq!(accepted.len(), 5, "{answers:?}");
    assert_eq!(refused.len(), 7, "{answers:?}");
    for &i in &refused {
        assert_error(answers[i].0, &answers[i].1, 429, "too_many_pipelines");
    }
    // Exactly three run; two are queued.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(h.backend.running.load(Ordering::SeqCst), 3);
    let mut statuses = Vec::new();
    for &i in &accepted {
        statuses.push(
            h.call(Some(&keys[i]), "GET", "/pipeline/status", None)
                .await
                .1["status"]
                .clone(),
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| *s == "running").count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| *s == "queued").count(),
        2,
        "{statuses:?}"
    );
    // A second start by the same bot is a conflict, not a second pipeline.
    let (s, b) = h
        .call(Some(&keys[accepted[0]]), "POST", "/pipeline/run", None)
        .await;
    assert_error(s, &b, 409, "conflict");
    // Stop a queued one: it ends as stopped without ever running.
    let queued = accepted
        .iter()
        .copied()
        .find(|&i| statuses[accepted.iter().position(|&j| j == i).unwrap()] == "queued")
        .unwrap();
    let (s, _) = h
        .call(Some(&keys[queued]), "POST", "/pipeline/stop", None)
        .await;
    assert_eq!(s, 202);
    h.backend.release();
    for &i in &accepted {
        let p = h.wait_pipeline(&keys[i]).await;
        let want = if i == queued { "stopped" } else { "completed" };
        assert_eq!(p["status"], want, "bot {i}: {p}");
    }
    assert_eq!(h.backend.peak.load(Ordering::SeqCst), 3);
    // Slots are free again.
    let (_, health) = h.call(None, "GET", "/health", None).await;
    assert_eq!(health["jobs"]["admitted"], 0);
    let (s, _) = h
        .call(
            Some(&keys[refused[0]]),
            "POST",
            "/pipeline/run",
            Some(json!({"max_experiments": 1})),
        )
        .await;
    assert_eq!(s, 202);
    h.wait_pipeline(&keys[refused[0]]).await;
}
