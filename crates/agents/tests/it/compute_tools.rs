//! The Trainer's compute tools run by the agent engine: a scripted model calls
//! `compute_status` and `compute_up`, which rents a worker from a stub of Basilica's documented
//! API (the production client and `services::basilica::rent`) within the budget; the rented
//! worker (a real one on 127.0.0.1) joins this process's worker pool, and the deployment ends
//! with the tools.

use std::sync::Arc;
use std::time::Duration;

use agents::agent::{run_agent, AgentRun};
use agents::tools::compute::{compute_tools_with, Compute};
use agents::tools::FinishTool;
use agents::{LlmClient, ToolRegistry, UsageMeter};
use serde_json::{json, Value};
use services::basilica::Basilica;
use services::http::HttpSettings;
use services::Secret;

use crate::llm_server::{config, tool_call, Server};

#[path = "../../../services/tests/it/basilica_stub.rs"]
mod basilica_stub;

fn tool_results(req: &Value) -> Vec<(String, Value)> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                serde_json::from_str(m["content"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

async fn run(tools: ToolRegistry, script: Vec<crate::llm_server::Reply>) -> Vec<(String, Value)> {
    let server = Server::start(script, None).await;
    let llm = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(AgentRun {
        agent: "trainer".into(),
        model: &llm,
        model_id: "scripted-model".into(),
        system_prompt: "You train.".into(),
        context: vec![],
        user_message: "Train the plan.".into(),
        tools,
        finish: FinishTool::new(json!({"type": "object"})),
        temperature: 0.0,
        max_turns: 6,
        bus: None,
    })
    .await;
    assert!(r.success, "{:?}", r.raw_text);
    let reqs = server.requests();
    tool_results(reqs.last().unwrap())
}

fn registry(c: &Arc<Compute>) -> ToolRegistry {
    let mut tools = ToolRegistry::new();
    for t in compute_tools_with(c.clone()) {
        tools.register_arc(t);
    }
    tools
}

// One test, in order (it sets process environment): refused without a budget, then rented
// within it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trainer_rents_a_gpu_worker_within_the_budget_and_it_joins_the_pool() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("SYNTH_CITY_HOME", home.path());
    std::env::remove_var("SYNTH_CITY_WORKERS");
    for v in [
        "BASILICA_BUDGET_RUN_USD",
        "BASILICA_BUDGET_DAY_USD",
        "BASILICA_MAX_HOURLY_RATE",
        "BASILICA_ALLOWED_GPU_TYPES",
    ] {
        std::env::remove_var(v);
    }
    // The "rented" worker: a real one on loopback (no token needed there).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let worker_url = format!("http://{}", listener.local_addr().unwrap());
    let opts = worker::WorkerOptions {
        device: models::device::DeviceChoice::Cpu,
        ..Default::default()
    };
    tokio::spawn(worker::serve(listener, opts, std::future::pending()));
    let (stub_url, stub) = basilica_stub::stub(2).await;
    stub.lock().unwrap().url = Some(worker_url.clone());
    let client = || {
        Basilica::new(
            &stub_url,
            Secret::new(basilica_stub::TOKEN),
            HttpSettings {
                base_backoff: Duration::from_millis(5),
                ..Default::default()
            },
        )
        .unwrap()
    };
    // This process dispatches through a pool that rented workers may join.
    let dispatch = worker::runner_for(research::ModelsRunner::new(), &[], None, true);
    let pool = worker::dispatch::active().unwrap();
    assert!(pool.alive().is_empty());

    // No budget: nothing is rented, and the model is told what to set.
    let c = Arc::new(
        Compute::new(Some(client())).with_wait(Duration::from_secs(10), Duration::from_millis(10)),
    );
    let out = run(
        registry(&c),
        vec![
            tool_call("c1", "compute_up", "{}"),
            tool_call(
                "c2",
                "finish",
                r#"{"success":true,"summary":"no gpu","result":{}}"#,
            ),
        ],
    )
    .await;
    assert_eq!(out[0].0, "compute_up");
    let e = out[0].1["error"].as_str().unwrap();
    assert!(e.contains("BASILICA_BUDGET_RUN_USD"), "{e}");
    assert_eq!(stub.lock().unwrap().creates, 0);
    drop(c);

    std::env::set_var("BASILICA_BUDGET_RUN_USD", "1");
    std::env::set_var("BASILICA_BUDGET_DAY_USD", "2");
    std::env::set_var("BASILICA_ALLOWED_GPU_TYPES", "V100,A4000");
    let c = Arc::new(
        Compute::new(Some(client())).with_wait(Duration::from_secs(10), Duration::from_millis(10)),
    );
    let out = run(
        registry(&c),
        vec![
            tool_call("c1", "compute_status", "{}"),
            tool_call("c2", "compute_up", r#"{"lease_hours": "2"}"#),
            tool_call(
                "c3",
                "finish",
                r#"{"success":true,"summary":"rented","result":{}}"#,
            ),
        ],
    )
    .await;
    let status = &out[0].1;
    assert_eq!(status["basilica"]["configured"], true);
    assert_eq!(status["basilica"]["budget_run_usd"], 1.0);
    assert_eq!(
        status["basilica"]["cheapest_offer"]["gpu_type"],
        "TESLA V100"
    );
    // $1 at $0.15/h buys 400 minutes.
    assert_eq!(status["basilica"]["affordable_minutes_one_gpu"], 400);
    let up = &out[1].1;
    assert_eq!(up["gpu_type"], "TESLA V100", "{up}");
    assert_eq!(
        up["lease_minutes"], 120,
        "the asked lease, within the budget"
    );
    assert_eq!(up["joined_pool"], true, "{up}");
    let body = stub.lock().unwrap().bodies[0].clone();
    assert_eq!(body["ttlSeconds"], 7200);
    assert_eq!(body["publicMetadata"]["managed-by"], "synth-city");
    // The token reached the deployment, never the model.
    let token = body["env"]["SYNTH_CITY_WORKER_TOKEN"].as_str().unwrap();
    assert!(!up.to_string().contains(token));
    assert_eq!(pool.alive(), vec![worker_url.clone()]);
    let name = up["rented"].as_str().unwrap().to_string();
    assert!(home.path().join(format!("compute/{name}.env")).is_file());

    // The run ends: the deployment is deleted and its spend recorded.
    drop(c);
    assert_eq!(stub.lock().unwrap().deletes, std::slice::from_ref(&name));
    assert!(stub.lock().unwrap().deployments.is_empty());
    assert!(!home.path().join(format!("compute/{name}.env")).exists());
    assert!(home.path().join("compute/spend.json").is_file());
    drop(dispatch);
}
