//! Identity: keys, forged or missing keys, the ignored X-Bot-Id header, admin-only routes,
//! revocation, and open mode on loopback only.

use serde_json::json;

use crate::{assert_error, Harness, ADMIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_decide_identity_and_access() {
    let h = Harness::start().await;
    let ka = h.bot("alpha").await;

    // Missing and forged keys.
    let (s, b) = h.call(None, "GET", "/me", None).await;
    assert_error(s, &b, 401, "unauthorized");
    let (s, b) = h.call(Some("sck_0000forged"), "GET", "/me", None).await;
    assert_error(s, &b, 401, "unauthorized");
    // A key presented through X-API-Key works too.
    let r = h
        .http
        .get(format!("{}/me", h.url))
        .header("X-API-Key", &ka)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);

    // The bot id comes from the key; X-Bot-Id is ignored.
    let r = h
        .http
        .get(format!("{}/me", h.url))
        .bearer_auth(&ka)
        .header("X-Bot-Id", "..")
        .send()
        .await
        .unwrap();
    let me: serde_json::Value = r.json().await.unwrap();
    assert_eq!(me["bot_id"], "alpha");

    // Admin-only routes refuse bots; bot routes refuse the admin key.
    let (s, b) = h.call(Some(&ka), "GET", "/admin/bots", None).await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = h
        .call(
            Some(&ka),
            "POST",
            "/admin/bots",
            Some(json!({"bot_id": "mallory"})),
        )
        .await;
    assert_error(s, &b, 403, "forbidden");
    let (s, b) = h.call(Some(ADMIN), "GET", "/me", None).await;
    assert_error(s, &b, 403, "forbidden");

    // Bad ids, duplicates; the listing never shows keys.
    let (s, b) = h
        .call(
            Some(ADMIN),
            "POST",
            "/admin/bots",
            Some(json!({"bot_id": ".."})),
        )
        .await;
    assert_error(s, &b, 400, "bad_request");
    let (s, b) = h
        .call(
            Some(ADMIN),
            "POST",
            "/admin/bots",
            Some(json!({"bot_id": "alpha"})),
        )
        .await;
    assert_error(s, &b, 409, "conflict");
    let (s, b) = h.call(Some(ADMIN), "GET", "/admin/bots", None).await;
    assert_eq!(s, 200);
    assert_eq!(b["total"], 1);
    assert!(!b.to_string().contains(&ka));

    // Revocation takes effect at once.
    let (s, _) = h
        .call(Some(ADMIN), "DELETE", "/admin/bots/alpha", None)
        .await;
    assert_eq!(s, 200);
    let (s, b) = h.call(Some(&ka), "GET", "/me", None).await;
    assert_error(s, &b, 401, "unauthorized");
    let (s, b) = h
        .call(Some(ADMIN), "DELETE", "/admin/bots/alpha", None)
        .await;
    assert_error(s, &b, 404, "not_found");
    h.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_keys_means_open_on_loopback_only() {
    let h = Harness::start_with(|c| {
        c.admin_key = None;
        c.host = "0.0.0.0".parse().unwrap();
    })
    .await;
    assert!(
        h.running.addr.ip().is_loopback(),
        "bound to {}",
        h.running.addr
    );
    assert!(
        h.running.notices.iter().any(|n| n.contains("127.0.0.1")),
        "{:?}",
        h.running.notices
    );
    let (s, b) = h.call(None, "GET", "/me", None).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["bot_id"], "local");
    let (_, health) = h.call(None, "GET", "/health", None).await;
    assert!(health["auth"].as_str().unwrap().starts_with("open"));
    // Once a bot key exists, keys are required.
    let (s, b) = h
        .call(
            None,
            "POST",
            "/admin/bots",
            Some(json!({"bot_id": "first"})),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let (s, b) = h.call(None, "GET", "/me", None).await;
    assert_error(s, &b, 401, "unauthorized");
    h.running.stop().await;
}
