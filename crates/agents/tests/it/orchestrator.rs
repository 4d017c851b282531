//! The orchestrator driven by a scripted LLM over HTTP: a stage failing twice identically stalls
//! and stops; an auth failure stops retries at once.

use std::sync::Arc;

use agents::pipeline::{Orchestrator, PipelineDef, RetryStrategy, TaskState};
use agents::tools::{research_tools, Budget, Session};
use agents::{Event, EventBus, LlmBrains, LlmClient, ToolRegistry, UsageMeter};
use serde_json::json;

use crate::fake_backend::FakeBackend;
use crate::llm_server::{config, tool_call, Reply, Server};

fn orchestrator(server: &Server, bus: &EventBus) -> Orchestrator {
    let backend = Arc::new(FakeBackend::default());
    let session = Session::new(backend, Some(bus.clone()), Budget::default());
    let mut tools = ToolRegistry::new();
    for t in research_tools(session) {
        tools.register_arc(t);
    }
    let client = LlmClient::new(config(server), UsageMeter::default()).unwrap();
    let brains = LlmBrains::new(client);
    let meter = brains.meter();
    Orchestrator {
        def: PipelineDef::default(),
        strategy: RetryStrategy {
            max_attempts: 5,
            stall_limit: 1,
            ..RetryStrategy::default()
        },
        brains: Arc::new(brains),
        tools,
        bus: bus.clone(),
        meter: Some(meter),
        book: agents::AgentBook::builtin(),
    }
}

fn state() -> TaskState {
    json!({"asset":"BTC","timeframe":"5m","experiment_budget":2})
        .as_object()
        .unwrap()
        .clone()
}

const PLAN: &str = r#"{"success":true,"summary":"plan","result":{"plan":{"experiments":[{"blocks":["gru"],"head":"gbm"}]}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stage_that_fails_twice_identically_stalls_and_stops() {
    let fail1 = tool_call(
        "f1",
        "finish",
        r#"{"success":false,"summary":"training diverged at step 12","result":{}}"#,
    );
    let fail2 = tool_call(
        "f2",
        "finish",
        r#"{"success":false,"summary":"training diverged at step 31","result":{}}"#,
    );
    let server = Server::start(
        vec![tool_call("p", "finish", PLAN), fail1, fail2],
        Some(Reply::Status(500, "should not be called", None)),
    )
    .await;
    let bus = EventBus::new("stall", 1024);
    let mut rx = bus.subscribe();
    let report = orchestrator(&server, &bus).run(state()).await;
    assert!(!report.success);
    assert_eq!(report.stages.len(), 2);
    let trainer = &report.stages[1];
    assert_eq!(trainer.attempts, 2);
    assert!(
        trainer.stopped.as_deref().unwrap().starts_with("stalled"),
        "{trainer:?}"
    );
    assert_eq!(server.requests().len(), 3);
    // The second attempt ran hotter and was told about the first.
    let second = &server.requests()[2];
    assert!((second["temperature"].as_f64().unwrap() - 0.2).abs() < 1e-9);
    let task = second["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        task.contains("Previous attempts") && task.contains("diverged at step 12"),
        "{task}"
    );
    // The plan reached the trainer through the task state.
    assert!(second["messages"][1]["content"]
        .as_str()
        .unwrap()
        .contains("\"plan\""));
    assert_eq!(report.usage.calls, 3);
    let mut saw_stall = false;
    while let Ok(e) = rx.try_recv() {
        saw_stall |= matches!(e.event, Event::StallDetected { ref stage, attempt: 2, .. } if stage == "trainer");
    }
    assert!(saw_stall);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_failure_is_an_environment_error_and_stops_retries() {
    let server = Server::start(
        vec![Reply::Status(401, "invalid key", None)],
        Some(Reply::Status(500, "no", None)),
    )
    .await;
    let bus = EventBus::new("auth", 1024);
    let report = orchestrator(&server, &bus).run(state()).await;
    assert!(!report.success);
    assert_eq!(report.stages.len(), 1);
    assert_eq!(report.stages[0].attempts, 1);
    assert!(report.stages[0]
        .stopped
        .as_deref()
        .unwrap()
        .starts_with("environment"));
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scripted_llm_runs_the_whole_pipeline_through_the_tools() {
    let spec = r#"{"asset":"BTC","timeframe":"5m","blocks":["revin","gru"],"head":"student_t","d_model":32,"lr":0.001,"epochs":2,"seed":0}"#;
    let script = vec![
        tool_call("p1", "list_blocks", "{}"),
        tool_call("p2", "finish", PLAN),
        tool_call(
            "t1",
            "run_experiment",
            &format!(
                r#"{{"experiment":{},"name":"llm-1"}}"#,
                serde_json::to_string(spec).unwrap()
            ),
        ),
        // The trainer reports the run id it was given (read back from the transcript below).
    ];
    let server = Server::start(script, None).await;
    let bus = EventBus::new("full", 1024);
    let orch = orchestrator(&server, &bus);
    // Run just planner + trainer: the trainer's finish needs the run id, so stop after its tool call.
    let mut def = PipelineDef::default();
    def.stages.truncate(2);
    let orch = Orchestrator {
        def,
        strategy: RetryStrategy {
            max_attempts: 1,
            ..orch.strategy
        },
        ..orch
    };
    let report = orch.run(state()).await;
    // The script ran out after the tool call: the trainer failed (HTTP 500), but the string-encoded
    // experiment was coerced, trained and its result went back to the model.
    assert!(!report.success);
    let trainer = report
        .transcripts
        .iter()
        .find(|t| t.agent == "trainer")
        .unwrap();
    let result = trainer
        .messages
        .iter()
        .find(|m| m.role == agents::llm::Role::Tool)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(result.content.as_deref().unwrap()).unwrap();
    assert_eq!(v["reused"], false);
    assert_eq!(v["run"]["status"], "ok");
    assert!(
        (v["run"]["crps"].as_f64().unwrap()
            - crate::fake_backend::score(&serde_json::from_str(spec).unwrap()))
        .abs()
            < 1e-12
    );
}
