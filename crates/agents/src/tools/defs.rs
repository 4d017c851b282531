//! Tools over agents, prompts and pipelines stored as data (the AgentDesigner's and the
//! PipelineArchitect's): list, read, validate and write them. Writes go through
//! [`DefStore`], which validates first and refuses a name another owner holds.

use std::sync::Arc;

use research::registry::DefinitionKind;
use serde::Deserialize;
use serde_json::{json, Value};

use super::tool::{fn_tool, object_schema, Tool, ToolError};
use crate::defs::{AgentDef, DefStore, PromptDef};
use crate::pipeline::PipelineDef;

fn to_tool(e: research::ResearchError) -> ToolError {
    match e.kind {
        research::ErrorKind::InvalidConfig | research::ErrorKind::NotFound => {
            ToolError::invalid(e.message)
        }
        _ => ToolError::environment(e.message),
    }
}

#[derive(Deserialize)]
struct NoArgs {}

#[derive(Deserialize)]
struct NameArg {
    name: String,
    #[serde(default)]
    version: Option<u32>,
}

#[derive(Deserialize)]
struct AgentArg {
    agent: Value,
}

#[derive(Deserialize)]
struct PromptArg {
    name: String,
    text: String,
    #[serde(default)]
    description: String,
}

#[derive(Deserialize)]
struct PipelineArg {
    #[serde(default)]
    name: Option<String>,
    pipeline: Value,
}

#[derive(Deserialize)]
struct MaybeName {
    #[serde(default)]
    name: Option<String>,
}

/// Caps a stored body for the model (bytes).
const MAX_BODY: usize = 12_000;

fn body_json(body: &str) -> Value {
    if body.len() > MAX_BODY {
        return json!({"truncated": true, "text": body.chars().take(MAX_BODY).collect::<String>()});
    }
    serde_json::from_str(body).unwrap_or_else(|_| json!(body))
}

fn parse_pipeline(v: &Value) -> Result<PipelineDef, ToolError> {
    let v = match v {
        Value::String(s) => crate::json::parse_lenient::<Value>(s)
            .map_err(|e| ToolError::invalid(format!("pipeline: {e}")))?,
        other => other.clone(),
    };
    // A bare list of stages is accepted too.
    let v = if v.is_array() {
        json!({ "stages": v })
    } else {
        v
    };
    serde_json::from_value(v).map_err(|e| ToolError::invalid(format!("pipeline: {e}")))
}

fn need(store: &Option<DefStore>) -> Result<&DefStore, ToolError> {
    store.as_ref().ok_or_else(|| {
        ToolError::environment("no definition store here (agents, prompts and pipelines are stored in the research registry)")
    })
}

/// The definition tools, writing as `store.owner()` (without a store they answer with an
/// environment error; the tool catalogue builds them that way).
pub fn def_tools(store: Option<DefStore>) -> Vec<Arc<dyn Tool>> {
    let mut v: Vec<Arc<dyn Tool>> = Vec::new();
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "list_agents",
        "Every agent a pipeline can use: the built-in ones and the stored ones (name, purpose, tools, owner, version).",
        object_schema(&[], &[]),
        move |_: NoArgs| {
            let book = need(&s)?.book().map_err(to_tool)?;
            let agents: Vec<Value> = book
                .agents()
                .iter()
                .map(|a| json!({"name": a.name, "purpose": a.purpose, "tools": a.tools, "reads": a.reads,
                                "writes": a.writes, "builtin": a.is_builtin(),
                                "owner": a.stored.as_ref().map(|s| &s.0), "version": a.stored.as_ref().map(|s| s.1)}))
                .collect();
            Ok(json!({"agents": agents}))
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "read_agent",
        "One agent's definition: a stored agent's JSON (optionally a given version), or a built-in agent's prompt, tools and schema.",
        object_schema(&[("name", json!({"type":"string"})), ("version", json!({"type":"integer"}))], &["name"]),
        move |a: NameArg| {
            let s = need(&s)?;
            if let Some(d) = s.get(DefinitionKind::Agent, &a.name, a.version).map_err(to_tool)? {
                return Ok(json!({"name": d.name, "owner": d.owner, "version": d.version, "hash": d.hash,
                                 "created_at": d.created_at, "definition": body_json(&d.body)}));
            }
            let book = s.book().map_err(to_tool)?;
            match book.get(&a.name) {
                Some(ag) => Ok(json!({"name": ag.name, "builtin": true, "agent": ag})),
                None => Err(ToolError::invalid(format!("no agent {} (list_agents names them)", a.name))),
            }
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "write_agent",
        "Store a new agent (or the next version of one of yours): {name, purpose, system_prompt, tools:[...], model?, temperature?, max_turns?, prompts?:[stored prompt names], reads?, writes?, based_on?: a built-in agent whose result schema it keeps and whose built-in policy runs it offline}. Validated first (unknown tools or prompts are refused).",
        object_schema(&[("agent", json!({"type":"object"}))], &["agent"]),
        move |a: AgentArg| {
            let def = AgentDef::from_json(&a.agent).map_err(ToolError::invalid)?;
            let d = need(&s)?.put_agent(&def).map_err(to_tool)?;
            Ok(json!({"stored": true, "name": d.name, "owner": d.owner, "version": d.version, "hash": d.hash}))
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "list_prompts",
        "Stored prompt fragments (name, owner, version, description).",
        object_schema(&[], &[]),
        move |_: NoArgs| {
            Ok(json!({"prompts": need(&s)?.list(DefinitionKind::Prompt).map_err(to_tool)?}))
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "read_prompt",
        "A stored prompt fragment's text.",
        object_schema(&[("name", json!({"type":"string"})), ("version", json!({"type":"integer"}))], &["name"]),
        move |a: NameArg| match need(&s)?.get(DefinitionKind::Prompt, &a.name, a.version).map_err(to_tool)? {
            Some(d) => Ok(json!({"name": d.name, "owner": d.owner, "version": d.version, "prompt": body_json(&d.body)})),
            None => Err(ToolError::invalid(format!("no prompt {}", a.name))),
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "write_prompt",
        "Store a prompt fragment (text up to 16,000 characters) agents can include by name.",
        object_schema(
            &[
                ("name", json!({"type":"string"})),
                ("text", json!({"type":"string"})),
                ("description", json!({"type":"string"})),
            ],
            &["name", "text"],
        ),
        move |a: PromptArg| {
            let d = need(&s)?
                .put_prompt(&PromptDef {
                    name: a.name,
                    text: a.text,
                    description: a.description,
                })
                .map_err(to_tool)?;
            Ok(json!({"stored": true, "name": d.name, "version": d.version, "hash": d.hash}))
        },
    )));
    v.push(Arc::new(fn_tool(
        "list_available_tools",
        "Every tool an agent may be given: name, first sentence of its description and parameter \
         names. name: one tool's full description and JSON-schema parameters.",
        object_schema(&[("name", json!({"type": "string"}))], &[]),
        move |a: MaybeName| {
            let specs = super::catalogue().specs();
            if let Some(n) = a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                let t = specs
                    .into_iter()
                    .find(|t| t.function.name == n)
                    .ok_or_else(|| ToolError::invalid(format!("no tool {n}")))?;
                return Ok(json!({"name": t.function.name, "description": t.function.description,
                                 "parameters": t.function.parameters}));
            }
            // Compact, so the whole catalogue fits one tool result (the engine truncates long
            // ones): the full schema is one call away.
            let tools: Vec<Value> = specs
                .iter()
                .map(|t| {
                    let params: Vec<&String> = t.function.parameters["properties"]
                        .as_object()
                        .map(|p| p.keys().collect())
                        .unwrap_or_default();
                    json!({"name": t.function.name, "summary": first_sentence(&t.function.description),
                           "params": params})
                })
                .collect();
            Ok(json!({"tool_count": tools.len(), "tools": tools,
                      "details": "list_available_tools with name=<tool> gives its full description and parameters"}))
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "get_pipeline",
        "A pipeline's stage list: a stored one by name, or the default when no name is given.",
        object_schema(&[("name", json!({"type":"string"}))], &[]),
        move |a: MaybeName| match a.name {
            None => Ok(json!({"name": "default", "pipeline": PipelineDef::default()})),
            Some(n) => match need(&s)?.pipeline(&n).map_err(to_tool)? {
                Some(p) => Ok(json!({"name": n, "pipeline": p})),
                None => Err(ToolError::invalid(format!(
                    "no pipeline {n} (list_pipelines names them)"
                ))),
            },
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "list_pipelines",
        "Stored pipelines (name, owner, version).",
        object_schema(&[], &[]),
        move |_: NoArgs| {
            Ok(json!({"pipelines": need(&s)?.list(DefinitionKind::Pipeline).map_err(to_tool)?}))
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "validate_pipeline",
        "Check a stage list against the known agents and the pipeline rules (unique names; positions plan ≤ execute ≤ validate ≤ publish ≤ post; a plan, an execute and a validate stage; fixers only on validate stages).",
        object_schema(&[("pipeline", json!({"type":"object","description":"{stages:[{name, agent, position, retry?, optional?, fixer?, user_message?, max_turns?}]}"}))], &["pipeline"]),
        move |a: PipelineArg| {
            let def = parse_pipeline(&a.pipeline)?;
            let book = need(&s)?.book().map_err(to_tool)?;
            Ok(match def.validate_with(&book) {
                Ok(()) => json!({"valid": true, "stages": def.stages.len()}),
                Err(e) => json!({"valid": false, "error": e}),
            })
        },
    )));
    let s = store;
    v.push(Arc::new(fn_tool(
        "write_pipeline",
        "Validate and store a stage list under a name (the next version when it is yours); `synth-city pipeline --pipeline-name NAME` and /pipeline/run {\"pipeline\": NAME} run it.",
        object_schema(&[("name", json!({"type":"string"})), ("pipeline", json!({"type":"object"}))], &["name", "pipeline"]),
        move |a: PipelineArg| {
            let name = a.name.unwrap_or_default();
            let def = parse_pipeline(&a.pipeline)?;
            let d = need(&s)?.put_pipeline(&name, &def).map_err(to_tool)?;
            Ok(json!({"stored": true, "name": d.name, "version": d.version, "hash": d.hash}))
        },
    )));
    v
}
/// The first sentence of `d` (at most 160 characters).
fn first_sentence(d: &str) -> String {
    let end = d.find(". ").map_or(d.len(), |i| i + 1);
    d[..end].chars().take(160).collect()
}
