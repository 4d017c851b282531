//! `/agents/stored`, `/agents/write` and `/agents/prompts/write` on the registry's definition
//! store (`agents::DefStore`): a bot writes as `bot:<id>`, everyone reads. Definitions are
//! data — checked against the tools and prompts that exist, never compiled or run as code.

use std::sync::Arc;

use agents::{AgentDef, DefStore, PromptDef};
use research::registry::{DefinitionKind, StoredDefinition};
use research::{Archive, Requester};
use serde_json::Value;

use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::types::{AgentWriteRequest, DefinitionList, DefinitionView, PromptWriteRequest};

use super::api_err;

/// The definition store as `bot_id` writes it (the owner its components have too).
pub(super) fn store(archive: &Arc<Archive>, bot_id: &str) -> DefStore {
    DefStore::new(
        archive.clone(),
        &Requester::Bot(bot_id.to_string()).component_reader(),
    )
}

fn view(d: StoredDefinition) -> DefinitionView {
    DefinitionView {
        kind: d.kind.as_str().to_string(),
        body: serde_json::from_str(&d.body).unwrap_or(Value::String(d.body)),
        name: d.name,
        owner: d.owner,
        version: d.version,
        hash: d.hash,
        created_at: d.created_at,
    }
}

/// Another owner's name is a 403, before anything is checked or stored.
fn check_owner(s: &DefStore, kind: DefinitionKind, name: &str) -> ApiResult<()> {
    match s.get(kind, name, None).map_err(api_err)? {
        Some(d) if d.owner != s.owner() => Err(ApiError::new(
            ErrorKind::Forbidden,
            format!(
                "{} {name} belongs to another owner; choose another name",
                kind.as_str()
            ),
        )),
        _ => Ok(()),
    }
}

pub(super) fn list(archive: &Arc<Archive>) -> ApiResult<DefinitionList> {
    // The registry's own listing already holds each latest body: one query per kind.
    let all = |kind| -> ApiResult<Vec<DefinitionView>> {
        Ok(archive
            .registry
            .definitions(kind)
            .map_err(api_err)?
            .into_iter()
            .map(view)
            .collect())
    };
    Ok(DefinitionList {
        agents: all(DefinitionKind::Agent)?,
        prompts: all(DefinitionKind::Prompt)?,
        pipelines: all(DefinitionKind::Pipeline)?,
    })
}

pub(super) fn write_agent(
    archive: &Arc<Archive>,
    bot_id: &str,
    req: &AgentWriteRequest,
) -> ApiResult<DefinitionView> {
    let def = AgentDef::from_json(&req.0).map_err(ApiError::bad_request)?;
    let s = store(archive, bot_id);
    check_owner(&s, DefinitionKind::Agent, &def.name)?;
    s.put_agent(&def).map(view).map_err(api_err)
}

pub(super) fn write_prompt(
    archive: &Arc<Archive>,
    bot_id: &str,
    req: &PromptWriteRequest,
) -> ApiResult<DefinitionView> {
    let s = store(archive, bot_id);
    check_owner(&s, DefinitionKind::Prompt, &req.name)?;
    let def = PromptDef {
        name: req.name.clone(),
        text: req.text.clone(),
        description: req.description.clone(),
    };
    s.put_prompt(&def).map(view).map_err(api_err)
}
