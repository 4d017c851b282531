//! `gradients_submit`, `gradients_status`, `gradients_cancel`: fine-tuning jobs on Gradients
//! (SN56) for an agent, through the same client as `synth-city gradients …`, each job kept in
//! `<data>/gradients/jobs.json` (so the CLI, the bridge and later runs know it). Needs
//! `GRADIENTS_API_KEY`; without it each tool answers with the variable to set, as the CLI does.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use services::gradients::{DatasetSource, Gradients, JobSpec, JobStore, Task};

use super::search::{run_async, service_tool_error};
use super::tool::{fn_tool, object_schema, Tool, ToolError};

/// Where the tools get their client and keep their jobs.
#[derive(Clone)]
struct Ctx {
    client: Option<Gradients>,
    dir: Option<PathBuf>,
}

impl Ctx {
    fn client(&self) -> Result<Gradients, ToolError> {
        match &self.client {
            Some(c) => Ok(c.clone()),
            None => Gradients::from_env().map_err(service_tool_error),
        }
    }

    fn store(&self) -> JobStore {
        match &self.dir {
            Some(d) => JobStore::new(d.clone()),
            None => JobStore::open_default(),
        }
    }
}

#[derive(Deserialize)]
struct SubmitArgs {
    base_model: String,
    dataset: String,
    #[serde(default)]
    hours: Option<u32>,
    #[serde(default)]
    output_name: Option<String>,
}

#[derive(Deserialize)]
struct IdArgs {
    #[serde(default)]
    task_id: Option<String>,
}

fn task_json(t: &Task) -> Value {
    let (step, of) = t.status.step();
    json!({"task": t, "step": step, "of": of, "done": t.status.is_done(),
           "failed": t.status.is_failure()})
}

fn submit(ctx: &Ctx, a: SubmitArgs) -> Result<Value, ToolError> {
    let spec = JobSpec {
        base_model: a.base_model.trim().to_string(),
        dataset: DatasetSource::parse(&a.dataset).map_err(service_tool_error)?,
        hours: a.hours.unwrap_or(4),
        output_name: a.output_name.filter(|n| !n.trim().is_empty()),
    };
    spec.check().map_err(service_tool_error)?;
    let client = ctx.client()?;
    let id = run_async(client.submit(&spec))?.map_err(service_tool_error)?;
    // Submitted and paid: a job file that cannot be written is said, not an error.
    let kept = ctx.store().record_submitted(&id, &spec, "agent");
    Ok(json!({"task_id": id, "spec": spec, "kept": kept.is_ok(),
              "next": "follow it with gradients_status; it takes hours"}))
}

fn status(ctx: &Ctx, a: IdArgs) -> Result<Value, ToolError> {
    let store = ctx.store();
    let id = match a.task_id.filter(|s| !s.trim().is_empty()) {
        Some(id) => id.trim().to_string(),
        None => match store.latest().map_err(service_tool_error)? {
            Some(j) => j.task_id,
            None => {
                return Err(ToolError::invalid(
                    "no Gradients job submitted from here yet: give task_id",
                ))
            }
        },
    };
    let client = ctx.client()?;
    let t = run_async(client.task(&id))?.map_err(service_tool_error)?;
    let _ = store.record_task(&t);
    let mut v = task_json(&t);
    if let Some(m) = &t.trained_model_repository {
        v["use_it"] = json!(format!(
            "serve {m} through Chutes, then set LLM_MODEL (or <AGENT>_MODEL) to its id"
        ));
    }
    Ok(v)
}

fn cancel(ctx: &Ctx, a: IdArgs) -> Result<Value, ToolError> {
    let Some(id) = a.task_id.filter(|s| !s.trim().is_empty()) else {
        return Err(ToolError::invalid("task_id is required"));
    };
    let id = id.trim().to_string();
    let client = ctx.client()?;
    run_async(client.cancel(&id))?.map_err(service_tool_error)?;
    let _ = ctx.store().record_cancelled(&id);
    Ok(json!({"cancelled": id}))
}

fn tools(ctx: Ctx) -> Vec<Arc<dyn Tool>> {
    let (c1, c2, c3) = (ctx.clone(), ctx.clone(), ctx);
    vec![
        Arc::new(fn_tool(
            "gradients_submit",
            "Submit a chat fine-tuning job to Gradients (SN56). PAID (hours are charged): only when \
             the task asks for fine-tuning. base_model: Hugging Face model id (owner/name); dataset: \
             a Hub dataset repository (owner/name) or the https:// URL of a JSONL chat training set \
             (`synth-city agents export-dataset` + `gradients upload`); hours 1-168 (default 4); \
             output_name: the trained model's name. Returns task_id; the job is kept so \
             gradients_status can follow it.",
            object_schema(
                &[
                    ("base_model", json!({"type": "string"})),
                    ("dataset", json!({"type": "string"})),
                    ("hours", json!({"type": "integer", "minimum": 1, "maximum": services::gradients::MAX_HOURS})),
                    ("output_name", json!({"type": "string"})),
                ],
                &["base_model", "dataset"],
            ),
            move |a: SubmitArgs| submit(&c1, a),
        )),
        Arc::new(fn_tool(
            "gradients_status",
            "Where a Gradients fine-tuning job stands (pending → preparing_data → looking_for_nodes \
             → ready → training → preevaluation → evaluating → success, or a failure) and, once \
             done, the trained model's repository. task_id: default the job submitted last from \
             here.",
            object_schema(&[("task_id", json!({"type": "string"}))], &[]),
            move |a: IdArgs| status(&c2, a),
        )),
        Arc::new(fn_tool(
            "gradients_cancel",
            "Cancel (delete) a Gradients fine-tuning job by task_id.",
            object_schema(&[("task_id", json!({"type": "string"}))], &["task_id"]),
            move |a: IdArgs| cancel(&c3, a),
        )),
    ]
}

/// The Gradients tools, configured from the environment at each call (`GRADIENTS_API_KEY`,
/// `GRADIENTS_API_URL`), jobs kept in `<data>/gradients`.
pub fn gradients_tools() -> Vec<Arc<dyn Tool>> {
    tools(Ctx {
        client: None,
        dir: None,
    })
}

/// The Gradients tools over a given client, jobs kept in `dir` (tests).
pub fn gradients_tools_with(client: Gradients, dir: PathBuf) -> Vec<Arc<dyn Tool>> {
    tools(Ctx {
        client: Some(client),
        dir: Some(dir),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::ToolErrorKind;

    #[test]
    fn arguments_are_checked_before_any_call_and_no_job_means_no_status() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx {
            client: None,
            dir: Some(dir.path().to_path_buf()),
        };
        let bad = |a: Value| submit(&ctx, serde_json::from_value(a).unwrap()).unwrap_err();
        let e = bad(json!({"base_model": "not a model", "dataset": "me/plans"}));
        assert_eq!(e.kind, ToolErrorKind::InvalidArguments);
        let e = bad(json!({"base_model": "a/b", "dataset": "file:///etc/passwd"}));
        assert_eq!(e.kind, ToolErrorKind::InvalidArguments);
        let e = bad(json!({"base_model": "a/b", "dataset": "me/plans", "hours": 500}));
        assert_eq!(e.kind, ToolErrorKind::InvalidArguments);
        let e = status(&ctx, IdArgs { task_id: None }).unwrap_err();
        assert!(e.message.contains("no Gradients job"), "{}", e.message);
        let e = cancel(&ctx, IdArgs { task_id: None }).unwrap_err();
        assert_eq!(e.kind, ToolErrorKind::InvalidArguments);
    }
}
