//! Synchronous entry points for the CLI: run the pipeline (or one agent) on a private tokio
//! runtime while an observer sees every event as it happens.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use crate::agent::{run_agent, AgentResult, AgentRun};
use crate::backend::SharedResearch;
use crate::events::{Envelope, EventBus};
use crate::pipeline::{context_message, Brains, PipelineReport, TaskState};
use crate::roles::{role, system_prompt, ROLES};
use crate::runner::{new_run_id, run_pipeline, PipelineOptions};
use crate::tools::{research_tools, Budget, FinishTool, Session, ToolRegistry};

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("starting the async runtime: {e}"))
}

/// Runs the pipeline; `observer` gets each event on the calling thread, in order.
pub fn run_pipeline_blocking(
    backend: SharedResearch,
    opts: &PipelineOptions,
    observer: impl FnMut(&Envelope),
) -> Result<Vec<PipelineReport>, String> {
    let (brains, meter) = crate::runner::choose_brains(opts.force_builtin)?;
    run_pipeline_blocking_with(backend, brains, meter, opts, observer)
}

/// [`run_pipeline_blocking`] with chosen brains (see [`crate::choose_planner`]).
pub fn run_pipeline_blocking_with(
    backend: SharedResearch,
    brains: Arc<dyn Brains>,
    meter: Option<crate::llm::UsageMeter>,
    opts: &PipelineOptions,
    mut observer: impl FnMut(&Envelope),
) -> Result<Vec<PipelineReport>, String> {
    let rt = runtime()?;
    let bus = EventBus::new(new_run_id(), 4096);
    let mut rx = bus.subscribe();
    let opts2 = opts.clone();
    let bus2 = bus.clone();
    let handle = rt.spawn(async move { run_pipeline(backend, brains, meter, &opts2, &bus2).await });
    drop(bus);
    rt.block_on(async {
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(e) => observer(&e),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                },
                _ = tokio::time::sleep(std::time::Duration::from_millis(200)) => {
                    if handle.is_finished() { break; }
                }
            }
        }
        while let Ok(e) = rx.try_recv() {
            observer(&e);
        }
        handle
            .await
            .map_err(|e| format!("pipeline task failed: {e}"))?
    })
}

/// Runs one agent by name with `message`, its tools bound to `backend`, `state` as its context.
pub fn run_agent_blocking(
    backend: SharedResearch,
    brains: Arc<dyn Brains>,
    name: &str,
    message: &str,
    temperature: f64,
    state: TaskState,
    mut observer: impl FnMut(&Envelope),
) -> Result<AgentResult, String> {
    let role = role(name).ok_or_else(|| {
        format!(
            "unknown agent `{name}`; known: {}",
            ROLES.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
        )
    })?;
    let rt = runtime()?;
    let bus = EventBus::new(new_run_id(), 4096);
    let mut rx = bus.subscribe();
    let session = Session::new(
        backend,
        Some(bus.clone()),
        Budget {
            max_experiments: state
                .get("experiment_budget")
                .and_then(Value::as_u64)
                .map(|b| b as u32),
            deadline: None,
        },
    );
    let mut all = ToolRegistry::new();
    for t in research_tools(session) {
        all.register_arc(t);
    }
    let tools = all.subset(role.tools)?;
    let (model, model_id) = brains.model(role.name);
    let result = rt.block_on(run_agent(AgentRun {
        agent: role.name.to_string(),
        model: model.as_ref(),
        model_id,
        system_prompt: system_prompt(role),
        context: context_message(role, &state).into_iter().collect(),
        user_message: message.to_string(),
        tools,
        finish: FinishTool::new(role.result_schema()),
        temperature,
        max_turns: role.max_turns,
        bus: Some(bus),
    }));
    while let Ok(e) = rx.try_recv() {
        observer(&e);
    }
    Ok(result)
}
