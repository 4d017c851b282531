//! A scripted OpenAI chat-completions server on 127.0.0.1 (axum): each request pops the next
//! scripted reply; every request body is recorded.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// One scripted reply.
#[derive(Clone)]
pub enum Reply {
    /// 200 with this assistant message (and usage 10/5).
    Message(Value),
    /// A status with a body and an optional Retry-After.
    Status(u16, &'static str, Option<&'static str>),
    /// Sleep, then reply.
    Delay(Duration, Box<Reply>),
}

/// Shorthand: an assistant message calling one tool.
pub fn tool_call(id: &str, name: &str, arguments: &str) -> Reply {
    Reply::Message(
        json!({"role":"assistant","content":null,"tool_calls":[{"id":id,"type":"function","function":{"name":name,"arguments":arguments}}]}),
    )
}

/// Shorthand: an assistant text message.
pub fn text(t: &str) -> Reply {
    Reply::Message(json!({"role":"assistant","content":t}))
}

#[derive(Clone, Default)]
struct Shared {
    script: Arc<Mutex<VecDeque<Reply>>>,
    requests: Arc<Mutex<Vec<Value>>>,
    /// Replayed when the script runs out.
    fallback: Arc<Mutex<Option<Reply>>>,
}

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT/v1`.
    pub base_url: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Starts a server replaying `script`, then `fallback` forever (or 500 when none).
    pub async fn start(script: Vec<Reply>, fallback: Option<Reply>) -> Server {
        let shared = Shared::default();
        shared.script.lock().unwrap().extend(script);
        *shared.fallback.lock().unwrap() = fallback;
        let app = Router::new()
            .route("/v1/chat/completions", post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server {
            base_url: format!("http://{addr}/v1"),
            shared,
            task,
        }
    }

    /// Request bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(s): State<Shared>, Json(body): Json<Value>) -> Response {
    s.requests.lock().unwrap().push(body);
    let next = s
        .script
        .lock()
        .unwrap()
        .pop_front()
        .or_else(|| s.fallback.lock().unwrap().clone());
    let mut reply = next.unwrap_or(Reply::Status(500, "script exhausted", None));
    loop {
        match reply {
            Reply::Delay(d, inner) => {
                tokio::time::sleep(d).await;
                reply = *inner;
            }
            Reply::Status(code, body, retry_after) => {
                let mut resp = (StatusCode::from_u16(code).unwrap(), body).into_response();
                if let Some(ra) = retry_after {
                    resp.headers_mut()
                        .insert("retry-after", ra.parse().unwrap());
                }
                return resp;
            }
            Reply::Message(m) => {
                return Json(json!({"id":"x","model":"scripted","choices":[{"index":0,"message":m,"finish_reason":"stop"}],
                                   "usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}))
                .into_response();
            }
        }
    }
}

/// A client config for `server` with fast retries.
pub fn config(server: &Server) -> agents::LlmConfig {
    let mut c = agents::LlmConfig::new(
        server.base_url.clone(),
        Some("test-key".into()),
        "scripted-model",
    );
    c.base_backoff = Duration::from_millis(10);
    c.max_backoff = Duration::from_millis(50);
    c.max_retries = 2;
    c.request_timeout = Duration::from_secs(5);
    c
}
