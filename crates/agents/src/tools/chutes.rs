//! `chutes_models`: the models Chutes (SN64) serves — what `synth-city agents models` lists —
//! with context length, features, price per 1M tokens and the recommended ones, so an agent
//! (the AgentDesigner, an Author) can pick a model per agent (`<AGENT>_MODEL`, `LLM_MODEL`).
//! Listing needs no key (`CHUTES_API_KEY` is sent when set).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use services::chutes::{recommend, Chutes};

use super::search::{run_async, service_tool_error};
use super::tool::{fn_tool, object_schema, Tool, ToolError};

/// Most models given the model in one answer (each costs context).
const MAX_MODELS: usize = 200;

#[derive(Deserialize)]
struct Args {
    #[serde(default)]
    feature: Option<String>,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

fn models(client: Option<&Chutes>, a: Args) -> Result<Value, ToolError> {
    let owned;
    let client = match client {
        Some(c) => c,
        None => {
            owned = Chutes::from_env().map_err(service_tool_error)?;
            &owned
        }
    };
    let mut list = run_async(client.models())?.map_err(service_tool_error)?;
    let rec = recommend(&list);
    if let Some(f) = a
        .feature
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
    {
        list.retain(|m| m.has(f));
    }
    if let Some(c) = a
        .contains
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let c = c.to_ascii_lowercase();
        list.retain(|m| m.id.to_ascii_lowercase().contains(&c));
    }
    let total = list.len();
    list.truncate(a.limit.unwrap_or(50).clamp(1, MAX_MODELS));
    let rows: Vec<Value> = list
        .iter()
        .map(|m| {
            let p = m.pricing.unwrap_or_default();
            json!({"id": m.id, "context": m.context_length, "max_output": m.max_output_length,
                   "features": m.supported_features, "usd_per_1m_in": p.prompt,
                   "usd_per_1m_out": p.completion})
        })
        .collect();
    Ok(json!({
        "count": total,
        "shown": rows.len(),
        "models": rows,
        "recommended": rec,
        "use": "LLM_MODEL=<id> for every agent, <AGENT>_MODEL=<id> (e.g. PLANNER_MODEL) for one",
    }))
}

fn tool(client: Option<Chutes>) -> Arc<dyn Tool> {
    Arc::new(fn_tool(
        "chutes_models",
        "The LLMs Chutes (SN64) serves to synth-city's agents: id, context length, max output, \
         features (tools, reasoning, json_mode), USD per 1M input/output tokens, and the \
         recommended models for tool use and reasoning. feature: only models listing it; \
         contains: filter ids; limit: 1-200 (default 50). Free, no key needed.",
        object_schema(
            &[
                ("feature", json!({"type": "string"})),
                ("contains", json!({"type": "string"})),
                (
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": MAX_MODELS}),
                ),
            ],
            &[],
        ),
        move |a: Args| models(client.as_ref(), a),
    ))
}

/// The Chutes tools, configured from the environment at each call (`CHUTES_BASE_URL`,
/// `CHUTES_API_KEY`).
pub fn chutes_tools() -> Vec<Arc<dyn Tool>> {
    vec![tool(None)]
}

/// The Chutes tools over a given client (tests).
pub fn chutes_tools_with(client: Chutes) -> Vec<Arc<dyn Tool>> {
    vec![tool(Some(client))]
}
