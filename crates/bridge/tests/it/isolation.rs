//! Bot A can neither read nor change bot B's session, workspace, pipeline, results or key,
//! and no workspace path leaves the bot's own directory.

use serde_json::json;

use crate::{assert_error, Harness, ADMIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bots_are_isolated() {
    let h = Harness::start().await;
    let ka = h.bot("bot-a").await;
    let kb = h.bot("bot-b").await;

    // B writes a file and runs an experiment.
    let (s, _) = h
        .call(
            Some(&kb),
            "PUT",
            "/workspace/file?path=secret.txt",
            Some(json!({"content": "b only"})),
        )
        .await;
    assert_eq!(s, 200);
    let spec = json!({"experiment": {"model": "gbm", "n_paths": 20, "windows": 1}});
    let (s, run_b) = h
        .call(Some(&kb), "POST", "/experiments/run", Some(spec))
        .await;
    assert_eq!(s, 200, "{run_b}");

    // A sees none of it in its own session and workspace.
    let (_, b) = h.call(Some(&ka), "GET", "/workspace/files", None).await;
    assert_eq!(b["total"], 0);
    let (s, b) = h
        .call(Some(&ka), "GET", "/workspace/file?path=secret.txt", None)
        .await;
    assert_error(s, &b, 404, "not_found");
    for attempt in [
        "../bot-b/secret.txt",
        "/etc/passwd",
        "..",
        "a/../../bot-b/secret.txt",
        "./secret.txt",
    ] {
        let (s, b) = h
            .call(
                Some(&ka),
                "GET",
                &format!("/workspace/file?path={}", urlencode(attempt)),
                None,
            )
            .await;
        assert_error(s, &b, 400, "bad_request");
        let (s, b) = h
            .call(
                Some(&ka),
                "PUT",
                &format!("/workspace/file?path={}", urlencode(attempt)),
                Some(json!({"content": "x"})),
            )
            .await;
        assert_error(s, &b, 400, "bad_request");
    }
    #[cfg(unix)]
    {
        // A symbolic link planted in A's workspace (e.g. by a bug elsewhere) is not followed.
        let ws_a = h.dir.path().join("workspaces/bot-a");
        std::os::unix::fs::symlink(h.dir.path().join("workspaces/bot-b"), ws_a.join("link"))
            .unwrap();
        let (s, b) = h
            .call(
                Some(&ka),
                "GET",
                "/workspace/file?path=link/secret.txt",
                None,
            )
            .await;
        assert_error(s, &b, 400, "bad_request");
        let (s, b) = h
            .call(
                Some(&ka),
                "PUT",
                "/workspace/file?path=link/evil.txt",
                Some(json!({"content": "x"})),
            )
            .await;
        assert_error(s, &b, 400, "bad_request");
        assert!(!h.dir.path().join("workspaces/bot-b/evil.txt").exists());
    }
    let (_, b) = h.call(Some(&ka), "GET", "/session/summary", None).await;
    assert_eq!(b["num_experiments"], 0);
    // A cannot clear B's session, stop B's pipeline or publish B's run.
    let (s, _) = h.call(Some(&ka), "POST", "/session/clear", None).await;
    assert_eq!(s, 200);
    let (_, b) = h.call(Some(&kb), "GET", "/session/summary", None).await;
    assert_eq!(b["num_experiments"], 1);
    let (s, b) = h
        .call(
            Some(&ka),
            "POST",
            "/publish",
            Some(json!({"run_id": run_b["id"]})),
        )
        .await;
    assert_error(s, &b, 403, "forbidden");
    // A cannot manage sessions or keys.
    for (m, p) in [
        ("GET", "/admin/sessions/bot-b"),
        ("DELETE", "/admin/sessions/bot-b"),
        ("DELETE", "/admin/bots/bot-b"),
    ] {
        let (s, b) = h.call(Some(&ka), m, p, None).await;
        assert_error(s, &b, 403, "forbidden");
    }
    // A's event stream holds none of B's events.
    let (_, b) = h.call(Some(&ka), "GET", "/events/recent", None).await;
    assert!(
        b["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["bot_id"] == "bot-a"),
        "{b}"
    );
    // The cross-bot ranking does show B's run, credited to B.
    let (_, b) = h.call(Some(&ka), "GET", "/ranking", None).await;
    assert_eq!(b["ranking"][0]["bot_id"], "bot-b");
    // B still has its file and key.
    let (_, b) = h
        .call(Some(&kb), "GET", "/workspace/file?path=secret.txt", None)
        .await;
    assert_eq!(b["content"], "b only");
    let (s, _) = h
        .call(Some(ADMIN), "GET", "/admin/sessions/bot-b", None)
        .await;
    assert_eq!(s, 200);
    h.running.stop().await;
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
