//! `--planner`: a key the LLM server refuses (401) fails an `llm` run with a clear message after
//! one request, and switches an `auto` run to the built-in planner.

use std::sync::Arc;

use agents::planner_choice::choose_planner_with;
use agents::{run_pipeline, EventBus, PipelineOptions, Planner};

use crate::fake_backend::FakeBackend;
use crate::llm_server::{config, text, Reply, Server};

fn opts() -> PipelineOptions {
    PipelineOptions {
        max_experiments: Some(4),
        ..PipelineOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_fails_an_llm_run_clearly_after_one_request() {
    let server = Server::start(vec![], Some(Reply::Status(401, "invalid api key", None))).await;
    let (brains, meter) = choose_planner_with(Planner::Llm, Some(config(&server))).unwrap();
    let backend = Arc::new(FakeBackend::default());
    let bus = EventBus::new("test", 4096);
    let reports = run_pipeline(backend.clone(), brains, meter, &opts(), &bus)
        .await
        .unwrap();
    let r = &reports[0];
    assert!(!r.success);
    let stopped = r.stages[0].stopped.clone().unwrap_or_default();
    assert!(
        stopped.contains("the LLM server refused the key (HTTP 401)")
            && stopped.contains("--planner builtin"),
        "{stopped}"
    );
    assert_eq!(server.requests().len(), 1, "a 401 is never retried");
    assert!(backend.runs.lock().unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_falls_back_to_the_builtin_planner_on_a_refused_key() {
    let server = Server::start(
        vec![Reply::Status(401, "invalid api key", None)],
        Some(text("unreachable")),
    )
    .await;
    let (brains, meter) = choose_planner_with(Planner::Auto, Some(config(&server))).unwrap();
    let backend = Arc::new(FakeBackend::default());
    let bus = EventBus::new("test", 4096);
    let reports = run_pipeline(backend.clone(), brains, meter, &opts(), &bus)
        .await
        .unwrap();
    assert!(reports[0].success, "{:#?}", reports[0].stages);
    assert_eq!(server.requests().len(), 1, "no LLM call after the refusal");
    assert_eq!(backend.runs.lock().unwrap().len(), 4);
}

#[test]
fn llm_without_a_configured_llm_is_an_error_and_builtin_needs_none() {
    let err = choose_planner_with(Planner::Llm, None).err().unwrap();
    assert!(err.contains("CHUTES_API_KEY"), "{err}");
    assert!(choose_planner_with(Planner::Builtin, None)
        .unwrap()
        .1
        .is_none());
    assert!(choose_planner_with(Planner::Auto, None)
        .unwrap()
        .1
        .is_none());
}
