//! The Moltbook client against an axum stub on 127.0.0.1 speaking Moltbook's documented API
//! (skill.md v1.11): registration, Bearer key, `{success, …}` envelopes, keyset feeds, the
//! verification challenge, 429 cooldowns with `Retry-After`, votes and follows; the champion
//! announcement only when configured; credentials stored 0600.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use services::http::HttpSettings;
use services::moltbook::{
    announce_champion, AnnounceConfig, ChampionAnnouncement, Credentials, FeedQuery, Limits,
    MoltbookClient, NewPost,
};
use services::{Secret, ServiceError};

const KEY: &str = "moltbook_sk_test_0123456789";

#[derive(Default)]
struct Stub {
    /// Every request: (method, path).
    log: Vec<(String, String)>,
    posts: Vec<Value>,
    comments: Vec<Value>,
    /// Comment attempts answered 429 so far.
    comment_429s: u32,
    verified: Vec<String>,
}

type Shared = Arc<Mutex<Stub>>;

fn authorised(h: &HeaderMap) -> bool {
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {KEY}"))
}

fn denied() -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"success": false, "error": "Missing or invalid API key", "hint": "Authorization: Bearer"}))).into_response()
}

fn sample_post(id: &str, title: &str) -> Value {
    json!({"id": id, "title": title, "content": "SN50 CRPS notes", "upvotes": 3, "downvotes": 0,
           "comment_count": 1, "created_at": "2026-12-06T10:00:00.000Z",
           "author": {"name": "OtherMolty"}, "submolt": {"name": "bittensor", "display_name": "Bittensor"}})
}

fn app(state: Shared) -> Router {
    Router::new()
        .route("/api/v1/agents/register", post(|State(s): State<Shared>, Json(b): Json<Value>| async move {
            s.lock().unwrap().log.push(("POST".into(), "/agents/register".into()));
            if b["name"].as_str().unwrap_or_default().is_empty() {
                return (StatusCode::BAD_REQUEST, Json(json!({"success": false, "error": "name required"}))).into_response();
            }
            Json(json!({"agent": {"api_key": KEY, "claim_url": "https://www.moltbook.com/claim/moltbook_claim_x", "verification_code": "reef-X4B2"}, "important": "SAVE YOUR API KEY"})).into_response()
        }))
        .route("/api/v1/agents/status", get(|h: HeaderMap| async move {
            if !authorised(&h) { return denied(); }
            Json(json!({"success": true, "status": "pending_claim"})).into_response()
        }))
        .route("/api/v1/feed", get(|h: HeaderMap, Query(q): Query<Vec<(String, String)>>| async move {
            if !authorised(&h) { return denied(); }
            let cursor = q.iter().find(|(k, _)| k == "cursor").map(|(_, v)| v.clone());
            match cursor.as_deref() {
                None => Json(json!({"success": true, "posts": [sample_post("p1", "SN50 is fun"), sample_post("p2", "crps")], "has_more": true, "next_cursor": "c2"})).into_response(),
                Some("c2") => Json(json!({"success": true, "posts": [sample_post("p3", "last")], "has_more": false, "next_cursor": null})).into_response(),
                Some(_) => (StatusCode::BAD_REQUEST, "bad cursor").into_response(),
            }
        }))
        .route("/api/v1/submolts", get(|h: HeaderMap| async move {
            if !authorised(&h) { return denied(); }
            Json(json!({"success": true, "submolts": [{"name": "bittensor", "display_name": "Bittensor", "allow_crypto": true, "subscriber_count": 12}]})).into_response()
        }))
        .route("/api/v1/posts", post(|State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>| async move {
            if !authorised(&h) { return denied(); }
            let mut st = s.lock().unwrap();
            st.log.push(("POST".into(), "/posts".into()));
            if !st.posts.is_empty() {
                return (StatusCode::TOO_MANY_REQUESTS, Json(json!({"success": false, "error": "You can only post once every 30 minutes", "retry_after_minutes": 29}))).into_response();
            }
            let id = format!("post{}", st.posts.len() + 1);
            st.posts.push(b.clone());
            Json(json!({"success": true, "message": "Post created! Complete verification to publish.", "post": {
                "id": id, "title": b["title"], "content": b["content"], "verification_status": "pending",
                "verification": {"verification_code": "moltbook_verify_abc", "challenge_text": "A] lO^bSt-Er S[wImS aT/ tW]eNn-Tyy mE^tE[rS aNd] SlO/wS bY^ fI[vE", "expires_at": "2026-12-06T12:05:00.000Z", "instructions": "2 decimals"}}})).into_response()
        }))
        .route("/api/v1/posts/{id}/comments", post(|State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>, Json(b): Json<Value>| async move {
            if !authorised(&h) { return denied(); }
            let mut st = s.lock().unwrap();
            st.log.push(("POST".into(), format!("/posts/{id}/comments")));
            if st.comment_429s == 0 {
                st.comment_429s += 1;
                return (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], Json(json!({"success": false, "error": "slow down", "retry_after_seconds": 1, "daily_remaining": 49}))).into_response();
            }
            st.comments.push(json!({"post": id, "body": b}));
            Json(json!({"success": true, "comment": {"id": format!("c{}", st.comments.len()), "content": b["content"], "parent_id": b["parent_id"], "author": {"name": "SynthCity"}}})).into_response()
        }).get(|h: HeaderMap, Path(_id): Path<String>| async move {
            if !authorised(&h) { return denied(); }
            Json(json!({"success": true, "comments": [{"id": "c9", "content": "nice", "author": {"name": "A"}, "upvotes": 2}]})).into_response()
        }))
        .route("/api/v1/verify", post(|State(s): State<Shared>, h: HeaderMap, Json(b): Json<Value>| async move {
            if !authorised(&h) { return denied(); }
            if b["verification_code"] != "moltbook_verify_abc" {
                return (StatusCode::NOT_FOUND, Json(json!({"success": false, "error": "Invalid verification code"}))).into_response();
            }
            if b["answer"] != "15.00" {
                return Json(json!({"success": false, "error": "Incorrect answer", "hint": "2 decimals"})).into_response();
            }
            s.lock().unwrap().verified.push("post1".into());
            Json(json!({"success": true, "message": "Verification successful!", "content_type": "post", "content_id": "post1"})).into_response()
        }))
        .fallback(any(|State(s): State<Shared>, m: Method, uri: Uri, h: HeaderMap| async move {
            if !authorised(&h) { return denied(); }
            let path = uri.path().trim_start_matches("/api/v1").to_string();
            s.lock().unwrap().log.push((m.to_string(), path.clone()));
            let known = [
                ("POST", "/posts/p1/upvote"), ("POST", "/posts/p2/downvote"), ("POST", "/comments/c9/upvote"),
                ("POST", "/agents/OtherMolty/follow"), ("DELETE", "/agents/OtherMolty/follow"),
                ("POST", "/submolts/bittensor/subscribe"),
            ];
            if known.iter().any(|(km, kp)| *km == m.as_str() && *kp == path) {
                Json(json!({"success": true, "message": "Done! 🦞", "author": {"name": "OtherMolty"}})).into_response()
            } else {
                (StatusCode::NOT_FOUND, Json(json!({"success": false, "error": "Not found"}))).into_response()
            }
        }))
        .with_state(state)
}

/// Serves the stub; returns its API base (`…/api/v1`).
async fn serve(state: Shared) -> String {
    format!("{}/api/v1", crate::stub::serve(app(state)).await)
}

fn fast() -> HttpSettings {
    HttpSettings {
        max_backoff: Duration::from_secs(2),
        ..crate::stub::fast(MoltbookClient::default_settings())
    }
}

fn client(base: &str, key: Option<&str>, limits: Limits) -> MoltbookClient {
    MoltbookClient::with_settings(base, key.map(Secret::new), limits, fast()).unwrap()
}

/// Short intervals so the test does not wait out Moltbook's real cooldowns.
const QUICK: Limits = Limits {
    per_minute: 100,
    post_every: Duration::from_secs(1800),
    comment_every: Duration::from_millis(50),
    comments_per_day: 2,
};

#[tokio::test]
async fn register_claim_status_and_credentials_kept_private() {
    let state = Shared::default();
    let base = serve(state.clone()).await;
    let reg = client(&base, None, QUICK)
        .register("SynthCity", "SN50 forecasts")
        .await
        .unwrap();
    assert_eq!(reg.api_key, KEY);
    assert!(reg.claim_url.contains("/claim/"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("moltbook/credentials.json");
    let creds = Credentials {
        api_key: Secret::new(reg.api_key.clone()),
        agent_name: "SynthCity".into(),
        claim_url: Some(reg.claim_url.clone()),
        verification_code: Some(reg.verification_code.clone()),
    };
    assert!(!format!("{creds:?}").contains(KEY), "Debug shows the key");
    creds.save(Some(&path)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let dmode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dmode & 0o077, 0, "{dmode:o}");
        // A file someone widened is narrowed again when read.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let back = Credentials::load(Some(&path)).unwrap().unwrap();
    assert_eq!(back, creds);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let leftovers = std::fs::read_dir(path.parent().unwrap()).unwrap().count();
    assert_eq!(leftovers, 1, "temporary files left");

    let c = client(&base, Some(KEY), QUICK);
    assert_eq!(c.status().await.unwrap().status, "pending_claim");
    let wrong = client(&base, Some("moltbook_wrong"), QUICK);
    let err = wrong.status().await.unwrap_err();
    assert!(
        matches!(err, ServiceError::Auth { status: 401, .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("moltbook_wrong"));
}

#[tokio::test]
async fn feed_pages_submolts_and_comments_read() {
    let base = serve(Shared::default()).await;
    let c = client(&base, Some(KEY), QUICK);
    let page = c
        .feed(&FeedQuery {
            sort: Some("new".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.posts.len(), 2);
    assert!(page.has_more);
    assert_eq!(page.posts[0].author.as_ref().unwrap().name, "OtherMolty");
    assert_eq!(page.posts[0].submolt.as_ref().unwrap().name, "bittensor");
    let next = c
        .feed(&FeedQuery {
            cursor: page.next_cursor.clone(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((next.posts.len(), next.has_more), (1, false));
    let subs = c.submolts().await.unwrap();
    assert_eq!(subs[0].allow_crypto, Some(true));
    let comments = c.comments("p1", Some("top")).await.unwrap();
    assert_eq!(comments[0].id, "c9");
}

#[tokio::test]
async fn post_with_challenge_then_cooldown_without_a_request() {
    let state = Shared::default();
    let base = serve(state.clone()).await;
    let c = client(&base, Some(KEY), QUICK);
    let new = NewPost {
        submolt: "bittensor".into(),
        title: "Hello".into(),
        content: Some("first".into()),
        url: None,
    };
    let p = c.post(&new).await.unwrap();
    let ch = p.verification.clone().expect("a challenge");
    assert_eq!(ch.verification_code, "moltbook_verify_abc");
    // Wrong answers are reported as Moltbook's refusal (success: false).
    let v = c.verify(&ch.verification_code, "14").await.unwrap();
    assert_eq!(v["success"], false);
    let v = c.verify(&ch.verification_code, "15").await.unwrap();
    assert_eq!(v["success"], true);
    assert!(c.verify(&ch.verification_code, "fifteen").await.is_err());
    // A second post within 30 min is refused here, nothing sent.
    let before = state.lock().unwrap().log.len();
    let err = c.post(&new).await.unwrap_err();
    assert!(err.to_string().contains("one post per 30 min"), "{err}");
    assert_eq!(state.lock().unwrap().log.len(), before);
    // Another client (another process) gets the server's 429, not retried.
    let other = client(&base, Some(KEY), QUICK);
    let err = other.post(&new).await.unwrap_err();
    assert!(
        matches!(err, ServiceError::RateLimited { attempts: 1, .. }),
        "{err:?}"
    );
    let posts_sent = state
        .lock()
        .unwrap()
        .log
        .iter()
        .filter(|(_, p)| p == "/posts")
        .count();
    assert_eq!(posts_sent, 2);
}

#[tokio::test]
async fn comment_429_honours_retry_after_and_the_daily_cap_holds() {
    let state = Shared::default();
    let base = serve(state.clone()).await;
    let c = client(&base, Some(KEY), QUICK);
    let t0 = std::time::Instant::now();
    let cm = c.comment("p1", "good point", None).await.unwrap();
    assert_eq!(cm.id, "c1");
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "Retry-After: 1 not honoured"
    );
    let reply = c.comment("p1", "and more", Some("c9")).await.unwrap();
    assert_eq!(reply.parent_id.as_deref(), Some("c9"));
    // QUICK allows 2 comments a day.
    let err = c.comment("p2", "third", None).await.unwrap_err();
    assert!(err.to_string().contains("2 comments a day"), "{err}");
    let st = state.lock().unwrap();
    assert_eq!(
        st.comments.len(),
        2,
        "one comment per call, the 429 was not double-posted"
    );
    assert_eq!(
        st.log
            .iter()
            .filter(|(_, p)| p.ends_with("/comments"))
            .count(),
        3
    );
}

#[tokio::test]
async fn votes_follows_and_subscriptions_use_the_documented_routes() {
    let state = Shared::default();
    let base = serve(state.clone()).await;
    let c = client(&base, Some(KEY), QUICK);
    c.vote_post("p1", true).await.unwrap();
    c.vote_post("p2", false).await.unwrap();
    c.upvote_comment("c9").await.unwrap();
    c.follow("OtherMolty", true).await.unwrap();
    c.follow("OtherMolty", false).await.unwrap();
    c.subscribe("bittensor", true).await.unwrap();
    assert!(matches!(
        c.vote_post("nope", true).await,
        Err(ServiceError::NotFound { .. })
    ));
    assert!(matches!(
        c.vote_post("../admin", true).await,
        Err(ServiceError::Invalid(_))
    ));
    let log = state.lock().unwrap().log.clone();
    assert_eq!(
        &log[..6],
        &[
            ("POST".to_string(), "/posts/p1/upvote".to_string()),
            ("POST".into(), "/posts/p2/downvote".into()),
            ("POST".into(), "/comments/c9/upvote".into()),
            ("POST".into(), "/agents/OtherMolty/follow".into()),
            ("DELETE".into(), "/agents/OtherMolty/follow".into()),
            ("POST".into(), "/submolts/bittensor/subscribe".into()),
        ]
    );
}

#[tokio::test]
async fn champion_announced_only_when_configured() {
    let state = Shared::default();
    let base = serve(state.clone()).await;
    let c = client(&base, Some(KEY), QUICK);
    let champ = ChampionAnnouncement {
        name: "lstm-gbm-64".into(),
        scope: "BTC 5m".into(),
        crps: 0.812345,
        baseline_ratio: Some(0.93),
        model_url: Some("https://huggingface.co/synth-city/lstm-gbm-64".into()),
        run_id: Some("abc123-00000001".into()),
    };
    assert!(announce_champion(&c, None, &champ).await.unwrap().is_none());
    assert!(
        state.lock().unwrap().log.is_empty(),
        "sent something while not configured"
    );
    let cfg = AnnounceConfig {
        submolt: "bittensor".into(),
    };
    let p = announce_champion(&c, Some(&cfg), &champ)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(p.id, "post1");
    let st = state.lock().unwrap();
    let body = &st.posts[0];
    assert_eq!(body["submolt"], "bittensor");
    let text = body["content"].as_str().unwrap();
    assert!(
        text.contains("0.812345")
            && text.contains("-7.0%")
            && text.contains("huggingface.co/synth-city"),
        "{text}"
    );
}
