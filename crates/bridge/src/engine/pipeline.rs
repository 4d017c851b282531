//! Pipelines through the `agents` orchestrator (Planner → Trainer → CodeChecker ⇄ Debugger →
//! Publisher). The orchestrator's events are forwarded to the bot's event stream as they
//! happen; a stop request aborts the run at its next step.

use std::sync::Arc;
use std::time::Duration;

use agents::research_binding::ResearchBinding;
use agents::{Envelope, EventBus, PipelineOptions};
use serde_json::{json, Value};
use sn50::Timeframe;
use tokio::sync::broadcast::error::RecvError;

use super::records::{check_timeframe, PIPELINE_BOT_PREFIX};
use super::EngineBackend;
use crate::backend::{Job, PipelineRequest};
use crate::error::{ApiError, ApiResult};
use crate::types::{AgentCatalogue, AgentInfo, PipelineOutcome};

/// The SSE kind of an orchestrator event: `pipeline.stage` for a stage start (so
/// `/pipeline/status` shows the stage), else `pipeline.<event type>`.
fn kind_of(env: &Value) -> String {
    match env["type"].as_str() {
        Some("stage_start") => "pipeline.stage".into(),
        Some(t) => format!("pipeline.{t}"),
        None => "pipeline.event".into(),
    }
}

fn forward(job: &Job, env: &Envelope) {
    let v = serde_json::to_value(env).unwrap_or(Value::Null);
    job.emit(&kind_of(&v), v);
}

/// Runs one pipeline loop for `job.bot_id`; its experiments are recorded as produced by
/// `Requester::Pipeline("bot:<bot id>")`.
pub(super) fn run(
    engine: &EngineBackend,
    job: &Job,
    req: &PipelineRequest,
) -> ApiResult<PipelineOutcome> {
    let asset = req.asset.as_deref().unwrap_or("BTC").to_ascii_uppercase();
    if asset.is_empty() || asset.len() > 16 || !asset.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(ApiError::bad_request(format!("invalid asset {asset:?}")));
    }
    let timeframe = req
        .timeframe
        .as_deref()
        .unwrap_or(Timeframe::default().as_str())
        .to_string();
    check_timeframe(&timeframe)?;
    // The bot's own stored agents and prompts are usable in its stage list; what it stores is
    // owned by `bot:<id>`, as its components are.
    let defs = super::definitions::store(&engine.archive, &job.bot_id);
    let pipeline = match &req.stages {
        None => None,
        Some(stages) => {
            let book = defs
                .book()
                .map_err(|e| ApiError::failed(format!("reading the stored agents: {e}")))?;
            let text = json!({ "stages": stages }).to_string();
            Some(agents::PipelineDef::from_json_with(&text, &book).map_err(ApiError::bad_request)?)
        }
    };
    let opts = PipelineOptions {
        retries: req.retries,
        temperature: req.temperature,
        publish: req.publish,
        loops: 1,
        max_experiments: Some(
            req.max_experiments
                .unwrap_or(crate::backend::DEFAULT_MAX_EXPERIMENTS),
        ),
        budget: None,
        asset,
        timeframe,
        min_epochs: engine.options.min_epochs.unwrap_or(2).max(1),
        pipeline_file: None,
        force_builtin: engine.options.builtin_planner,
        seed: 0,
        guidance: req.guidance.clone(),
        pipeline,
        defs: Some(defs),
        ..PipelineOptions::default()
    };
    let label = format!("{PIPELINE_BOT_PREFIX}{}", job.bot_id);
    let mut binding = ResearchBinding::on(engine.archive.clone(), &label, engine.runner.clone());
    if let Some(w) = engine.options.max_windows {
        binding = binding.with_max_windows(w);
    }
    let backend: agents::SharedResearch = Arc::new(binding);
    let (brains, meter) =
        agents::choose_brains(opts.force_builtin).map_err(ApiError::unavailable)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("bridge-pipeline")
        .enable_all()
        .build()
        .map_err(|e| ApiError::failed(format!("starting the pipeline runtime: {e}")))?;
    let bus = EventBus::new(agents::runner::new_run_id(), 4096);
    let mut rx = bus.subscribe();
    let bus2 = bus.clone();
    let opts2 = opts.clone();
    let handle =
        rt.spawn(async move { agents::run_pipeline(backend, brains, meter, &opts2, &bus2).await });
    drop(bus);
    job.emit(
        "pipeline.config",
        json!({"asset": opts.asset, "timeframe": opts.timeframe,
               "max_experiments": opts.max_experiments, "requester": format!("pipeline:{label}")}),
    );
    let outcome = rt.block_on(async {
        loop {
            tokio::select! {
                ev = rx.recv() => match ev {
                    Ok(e) => forward(job, &e),
                    Err(RecvError::Lagged(n)) => job.emit("pipeline.lagged", json!({"missed": n})),
                    Err(RecvError::Closed) => break,
                },
                _ = tokio::time::sleep(Duration::from_millis(50)) => {
                    if job.cancelled() {
                        handle.abort();
                        return None;
                    }
                    if handle.is_finished() { break; }
                }
            }
        }
        while let Ok(e) = rx.try_recv() {
            forward(job, &e);
        }
        Some(handle.await)
    });
    // A training step cannot be interrupted mid-way: leave it to finish in the background.
    rt.shutdown_background();
    let reports = match outcome {
        None => return Err(ApiError::conflict("pipeline stopped on request")),
        Some(Err(e)) => return Err(ApiError::failed(format!("the pipeline crashed: {e}"))),
        Some(Ok(Err(e))) => return Err(ApiError::failed(e)),
        Some(Ok(Ok(r))) => r,
    };
    let summary = agents::runner::summarise(&reports);
    let last = reports.last();
    let best_id = last
        .and_then(|r| r.state.get("best_run_id"))
        .and_then(Value::as_str)
        .map(str::to_string);
    let best = best_id
        .as_deref()
        .and_then(|id| engine.archive.registry.get_run(id).ok())
        .map(|r| super::run_view(&r));
    Ok(PipelineOutcome {
        success: last.is_some_and(|r| r.success),
        best,
        best_crps: last.and_then(|r| r.best_crps()),
        experiments: None,
        summary,
    })
}

/// The pipeline's agents (roles, tools, what each reads and writes) and its stages.
pub(super) fn catalogue() -> AgentCatalogue {
    let def = agents::PipelineDef::default();
    let agents: Vec<AgentInfo> = agents::roles::ROLES
        .iter()
        .map(|r| {
            let names = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
            AgentInfo {
                name: r.name.into(),
                purpose: r.purpose.into(),
                tools: names(r.tools),
                reads: names(r.reads),
                writes: names(r.writes),
                max_turns: r.max_turns,
            }
        })
        .collect();
    let stages = match serde_json::to_value(&def.stages) {
        Ok(v) => serde_json::from_value(v).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let brain = if agents::LlmConfig::from_env().is_some() {
        "llm (configured)"
    } else {
        "builtin planner (no LLM configured)"
    };
    AgentCatalogue {
        agents,
        stages,
        brain: Some(brain.into()),
        note: Some("read-only: the bridge never accepts agent, prompt or component code".into()),
    }
}
