//! Synchronous entry points for the CLI: run the pipeline (or one agent) on a private tokio
//! runtime while an observer sees every event as it happens.

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast::error::RecvError;

use crate::agent::{run_agent, AgentResult, AgentRun};
use crate::backend::SharedResearch;
use crate::defs::{AgentBook, DefStore};
use crate::events::{Envelope, EventBus};
use crate::evolve::{run_evolution, EvolutionReport, EvolveOptions};
use crate::pipeline::{context_message, Brains, PipelineReport, TaskState};
use crate::runner::{new_run_id, run_pipeline, PipelineOptions};
use crate::tools::{toolbox, Budget, FinishTool, Session};

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
    observer: impl FnMut(&Envelope),
) -> Result<Vec<PipelineReport>, String> {
    let opts2 = opts.clone();
    drive(
        move |bus| async move { run_pipeline(backend, brains, meter, &opts2, &bus).await },
        observer,
        "pipeline",
    )
}

/// Runs an evolutionary search ([`crate::evolve::run_evolution`]) on a private runtime while
/// `observer` sees every event.
pub fn run_evolution_blocking_with(
    backend: SharedResearch,
    brains: Arc<dyn Brains>,
    opts: &EvolveOptions,
    observer: impl FnMut(&Envelope),
) -> Result<EvolutionReport, String> {
    let opts2 = opts.clone();
    drive(
        move |bus| async move { run_evolution(backend, brains, &opts2, &bus).await },
        observer,
        "evolution",
    )
}

/// Spawns `task` on a fresh runtime with a new event bus and forwards the bus's events to
/// `observer` until the task ends.
fn drive<T, F, Fut>(task: F, mut observer: impl FnMut(&Envelope), what: &str) -> Result<T, String>
where
    T: Send + 'static,
    F: FnOnce(EventBus) -> Fut,
    Fut: std::future::Future<Output = Result<T, String>> + Send + 'static,
{
    let rt = runtime()?;
    let bus = EventBus::new(new_run_id(), 4096);
    let mut rx = bus.subscribe();
    let handle = rt.spawn(task(bus.clone()));
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
            .map_err(|e| format!("{what} task failed: {e}"))?
    })
}

/// Runs one agent by name — a built-in role or an agent stored in `defs` — with `message`, its
/// tools bound to `backend`, `state` as its context. `temperature` overrides the agent's own
/// (0.1 when neither says).
#[allow(clippy::too_many_arguments)]
pub fn run_agent_blocking(
    backend: SharedResearch,
    brains: Arc<dyn Brains>,
    defs: Option<DefStore>,
    name: &str,
    message: Option<&str>,
    temperature: Option<f64>,
    state: TaskState,
    mut observer: impl FnMut(&Envelope),
) -> Result<AgentResult, String> {
    let book = match &defs {
        Some(d) => d
            .book()
            .map_err(|e| format!("reading the stored agents: {e}"))?,
        None => AgentBook::builtin(),
    };
    let agent = book
        .get(name)
        .ok_or_else(|| format!("unknown agent `{name}`; known: {}", book.names().join(", ")))?
        .clone();
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
    let tools = toolbox(session, defs).subset(&agent.tools)?;
    let (model, model_id) = brains.model_for(&agent);
    let result = rt.block_on(run_agent(AgentRun {
        agent: agent.name.clone(),
        model: model.as_ref(),
        model_id,
        system_prompt: agent.system_prompt.clone(),
        context: context_message(&agent, &state).into_iter().collect(),
        user_message: message.map_or_else(|| agent.default_message.clone(), str::to_string),
        tools,
        finish: FinishTool::new(agent.result_schema.clone()),
        temperature: temperature.or(agent.temperature).unwrap_or(0.1),
        max_turns: agent.max_turns,
        bus: Some(bus),
    }));
    while let Ok(e) = rx.try_recv() {
        observer(&e);
    }
    Ok(result)
}
