//! Integration tests of the bridge: a real server on 127.0.0.1, real HTTP.

mod auth;
mod cap;
mod dashboard;
mod double;
mod endpoints;
mod engine;
mod hardening;
mod isolation;
mod load;
mod reap;
mod services;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bridge::{BridgeConfig, Running, SlotLimits};
use serde_json::{json, Value};

pub const ADMIN: &str = "test-admin-key-0123456789";

/// The backend of [`Harness`]: the engine's test double.
pub type TestBackend = double::Double;

/// A running bridge with its state directory and backend.
pub struct Harness {
    pub url: String,
    pub http: reqwest::Client,
    pub backend: Arc<TestBackend>,
    pub running: Running,
    pub dir: tempfile::TempDir,
}

/// Settings for tests: loopback, free port, admin key, small limits.
pub fn config(dir: &std::path::Path) -> BridgeConfig {
    let mut c = BridgeConfig::new(dir.to_path_buf());
    c.port = 0;
    c.admin_key = Some(ADMIN.to_string());
    c.limits = SlotLimits {
        max_running: 3,
        max_queued: 2,
        per_bot: 1,
    };
    c
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut BridgeConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config(dir.path());
        tweak(&mut c);
        let backend = Arc::new(TestBackend::new(dir.path()));
        let running = bridge::start(c, backend.clone()).await.unwrap();
        let url = format!("http://{}", running.addr);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        Self {
            url,
            http,
            backend,
            running,
            dir,
        }
    }

    /// Calls the bridge; returns status and JSON body.
    pub async fn call(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(&self.http, &self.url, key, method, path, body).await
    }

    /// Creates a bot and returns its key.
    pub async fn bot(&self, id: &str) -> String {
        new_bot(&self.http, &self.url, id).await
    }

    /// Polls the bot's pipeline status until it is no longer queued or running.
    pub async fn wait_pipeline(&self, key: &str) -> Value {
        let t0 = Instant::now();
        loop {
            let (s, b) = self.call(Some(key), "GET", "/pipeline/status", None).await;
            assert_eq!(s, 200, "{b}");
            if b["status"] != "queued" && b["status"] != "running" {
                return b;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(60),
                "pipeline never ended: {b}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Calls the bridge at `url`; returns status and JSON body (`null` when empty, the text when
/// not JSON).
pub async fn call(
    http: &reqwest::Client,
    url: &str,
    key: Option<&str>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http.request(m, format!("{url}{path}"));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Creates a bot with the admin key on the bridge at `url`; returns its key.
pub async fn new_bot(http: &reqwest::Client, url: &str, id: &str) -> String {
    let (s, b) = call(
        http,
        url,
        Some(ADMIN),
        "POST",
        "/admin/bots",
        Some(json!({"bot_id": id})),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    b["api_key"].as_str().unwrap().to_string()
}

/// Asserts an error body of `kind`.
pub fn assert_error(status: u16, body: &Value, want_status: u16, kind: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"]["kind"], kind, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{body}"
    );
}
