//! The HTTP client: retries, timeouts, auth errors, usage accounting.

use std::time::{Duration, Instant};

use agents::llm::{ChatRequest, Message};
use agents::{LlmClient, LlmError, UsageMeter};

use crate::llm_server::{config, text, Reply, Server};

fn request() -> ChatRequest {
    ChatRequest {
        model: "m".into(),
        messages: vec![Message::user("hi")],
        tools: vec![],
        temperature: Some(0.2),
        max_tokens: None,
    }
}

#[tokio::test]
async fn retries_429_then_succeeds_and_counts_usage() {
    let server = Server::start(
        vec![
            Reply::Status(429, "slow down", Some("0")),
            Reply::Status(503, "busy", None),
            text("hello"),
        ],
        None,
    )
    .await;
    let mut cfg = config(&server);
    cfg.pricing = Some(agents::llm::Pricing {
        prompt_per_m: 1.0,
        completion_per_m: 2.0,
    });
    let client = LlmClient::new(cfg, UsageMeter::default()).unwrap();
    let resp = client.chat(&request()).await.unwrap();
    assert_eq!(resp.choices[0].message.content.as_deref(), Some("hello"));
    let t = client.meter().totals();
    assert_eq!(
        (
            t.calls,
            t.failed_attempts,
            t.prompt_tokens,
            t.completion_tokens
        ),
        (1, 2, 10, 5)
    );
    assert!((t.cost_usd - 20e-6).abs() < 1e-15, "{}", t.cost_usd);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0]["model"], "m");
    assert_eq!(reqs[0]["temperature"], 0.2);
}

#[tokio::test]
async fn times_out_and_gives_up_after_the_retries() {
    let slow = Reply::Delay(Duration::from_secs(3), Box::new(text("late")));
    let server = Server::start(vec![], Some(slow)).await;
    let mut cfg = config(&server);
    cfg.request_timeout = Duration::from_millis(300);
    cfg.max_retries = 1;
    let client = LlmClient::new(cfg, UsageMeter::default()).unwrap();
    let t0 = Instant::now();
    let err = client.chat(&request()).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Transport(m) if m.contains("timed out")),
        "{err}"
    );
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert_eq!(server.requests().len(), 2);
    assert_eq!(client.meter().totals().failed_attempts, 2);
}

#[tokio::test]
async fn auth_errors_are_not_retried_and_never_echo_the_key() {
    let server = Server::start(
        vec![Reply::Status(401, "bad key", None)],
        Some(text("unreachable")),
    )
    .await;
    let client = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let err = client.chat(&request()).await.unwrap_err();
    assert!(err.is_environment());
    assert_eq!(server.requests().len(), 1);
    assert!(!err.to_string().contains("test-key"));
    assert!(!format!("{client:?}").contains("test-key"));
}

#[tokio::test]
async fn an_absurd_retry_after_is_clamped_not_a_panic() {
    let server = Server::start(
        vec![
            Reply::Status(429, "slow down", Some("1e300")),
            Reply::Status(429, "slow down", Some("-5")),
            text("hello"),
        ],
        None,
    )
    .await;
    let client = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let t0 = Instant::now();
    let resp = client.chat(&request()).await.unwrap();
    assert_eq!(resp.choices[0].message.content.as_deref(), Some("hello"));
    // The config caps a back-off at 50 ms; the server's 1e300 s is clamped to it.
    assert!(t0.elapsed() < Duration::from_secs(5), "{:?}", t0.elapsed());
    assert_eq!(server.requests().len(), 3);
}
