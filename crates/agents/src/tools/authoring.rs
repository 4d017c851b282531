//! The Author's tools: read the component store, check a block, head or script without storing
//! it, and store one (`research::Registry::put_component`, which validates through
//! `models::components::validate` first — a script through `models::script::check`, the
//! sandboxed dry run). Nothing a model writes is ever compiled or run as native code: blocks
//! and heads are declarative graphs, scripts run in the Rhai sandbox under CPU and memory caps.

use std::sync::Arc;

use research::registry::{ComponentDraft, ComponentKind};
use serde::Deserialize;
use serde_json::{json, Value};

use super::tool::{fn_tool, object_schema, Tool, ToolError};
use crate::defs::DefStore;

/// Longest definition accepted from a model (bytes).
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;

#[derive(Deserialize)]
struct NoArgs {}

#[derive(Deserialize)]
struct NameArg {
    name: String,
}

#[derive(Deserialize)]
struct CheckArgs {
    kind: ComponentKind,
    definition: String,
}

#[derive(Deserialize)]
struct WriteArgs {
    name: String,
    kind: ComponentKind,
    definition: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    public: bool,
}

fn need(store: &Option<DefStore>) -> Result<&DefStore, ToolError> {
    store
        .as_ref()
        .ok_or_else(|| ToolError::environment("no component store here"))
}

fn to_tool(e: research::ResearchError) -> ToolError {
    match e.kind {
        research::ErrorKind::InvalidConfig | research::ErrorKind::NotFound => {
            ToolError::invalid(e.message)
        }
        _ => ToolError::environment(e.message),
    }
}

fn check_size(definition: &str) -> Result<(), ToolError> {
    if definition.len() > MAX_DEFINITION_BYTES {
        return Err(ToolError::invalid(format!(
            "definition: {} bytes, more than {MAX_DEFINITION_BYTES}",
            definition.len()
        )));
    }
    Ok(())
}

/// Checks a definition as `kind` without storing it; the error names what to fix.
pub fn check_component(kind: ComponentKind, definition: &str) -> Result<Value, ToolError> {
    check_size(definition)?;
    match models::components::validate(kind, definition) {
        Ok(summary) => Ok(json!({"valid": true, "summary": summary})),
        Err(e) => Ok(json!({"valid": false, "error": e.to_string()})),
    }
}

/// The authoring tools, reading and writing as `store.owner()`.
pub fn authoring_tools(store: Option<DefStore>) -> Vec<Arc<dyn Tool>> {
    let mut v: Vec<Arc<dyn Tool>> = Vec::new();
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "list_components",
        "User components (declarative blocks and heads, Rhai scripts) you can use by name: yours and the public ones (name, kind, owner, version, description).",
        object_schema(&[], &[]),
        move |_: NoArgs| {
            let s = need(&s)?;
            let list: Vec<Value> = s
                .archive()
                .registry
                .components(s.owner())
                .map_err(to_tool)?
                .into_iter()
                .map(|c| json!({"name": c.name, "kind": c.kind, "owner": c.owner, "version": c.version,
                                "public": c.public, "description": c.description}))
                .collect();
            Ok(json!({"components": list}))
        },
    )));
    let s = store.clone();
    v.push(Arc::new(fn_tool(
        "read_component",
        "A user component's definition (latest version): a block/head graph (JSON or TOML) or a script's source. Use it as an example.",
        object_schema(&[("name", json!({"type":"string"}))], &["name"]),
        move |a: NameArg| {
            let s = need(&s)?;
            match s.archive().registry.component(s.owner(), &a.name).map_err(to_tool)? {
                Some(c) => Ok(json!({"name": c.name, "kind": c.kind, "owner": c.owner, "version": c.version,
                                     "hash": c.hash, "description": c.description,
                                     "definition": c.definition.chars().take(12_000).collect::<String>()})),
                None => Err(ToolError::invalid(format!("no component {} visible to you (list_components)", a.name))),
            }
        },
    )));
    v.push(Arc::new(fn_tool(
        "check_component",
        "Validate a block or head definition (shapes, parameter count and memory against the caps) or a script (compiled and dry-run in the sandbox on a small prompt of each competition) WITHOUT storing it. kind: block | head | script. Errors say what to fix.",
        object_schema(&[("kind", json!({"type":"string","enum":["block","head","script"]})), ("definition", json!({"type":"string"}))], &["kind", "definition"]),
        |a: CheckArgs| check_component(a.kind, &a.definition),
    )));
    let s = store;
    v.push(Arc::new(fn_tool(
        "write_component",
        "Validate and store a component under a name (the next version when it is yours). A block or head is then usable by name in specs (blocks/head); a script as a model with baseline \"script:<name>\". Refused with the reason when invalid or when the name is a built-in's or another owner's.",
        object_schema(&[("name", json!({"type":"string"})), ("kind", json!({"type":"string","enum":["block","head","script"]})),
                        ("definition", json!({"type":"string"})), ("description", json!({"type":"string"})), ("public", json!({"type":"boolean"}))],
                      &["name", "kind", "definition"]),
        move |a: WriteArgs| {
            let s = need(&s)?;
            check_size(&a.definition)?;
            let c = s
                .archive()
                .registry
                .put_component(s.owner(), ComponentDraft { name: a.name, kind: a.kind, definition: a.definition,
                                                           description: a.description, public: a.public })
                .map_err(to_tool)?;
            let use_as = match c.kind {
                ComponentKind::Script => json!({"baseline": format!("script:{}", c.name)}),
                ComponentKind::Head => json!({"head": c.name}),
                ComponentKind::Block => json!({"blocks": [c.name]}),
            };
            Ok(json!({"stored": true, "name": c.name, "kind": c.kind, "version": c.version, "hash": c.hash, "use_in_spec": use_as}))
        },
    )));
    v
}
