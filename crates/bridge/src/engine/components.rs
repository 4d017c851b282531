//! `/registry/read` and `/registry/write` on the research registry's component store: a bot
//! writes as `bot:<id>`, reads its own and public components and the built-ins.

use research::{ComponentDraft, ComponentKind, Registry, Requester, StoredComponent};

use crate::backend::RegistryRead;
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::types::{ComponentCatalogue, ComponentView, RegistryWriteRequest};

use super::api_err;

fn owner(bot_id: &str) -> String {
    Requester::Bot(bot_id.to_string()).component_reader()
}

fn user_view(c: StoredComponent, with_definition: bool) -> ComponentView {
    ComponentView {
        name: c.name,
        kind: c.kind.as_str().to_string(),
        builtin: false,
        owner: Some(c.owner),
        version: Some(c.version),
        hash: Some(c.hash),
        public: Some(c.public),
        description: c.description,
        definition: with_definition.then_some(c.definition),
        schema: None,
        created_at: Some(c.created_at),
    }
}

fn builtin_view(info: &models::registry::ComponentInfo) -> ComponentView {
    ComponentView {
        name: info.name.to_string(),
        kind: info.kind.as_str().to_string(),
        builtin: true,
        owner: None,
        version: None,
        hash: None,
        public: Some(true),
        description: info.summary.to_string(),
        definition: None,
        schema: Some(info.schema()),
        created_at: None,
    }
}

/// The catalogue `bot_id` sees.
pub(super) fn catalogue(reg: &Registry, bot_id: &str, note: &str) -> ApiResult<ComponentCatalogue> {
    let mut components: Vec<ComponentView> = models::registry::blocks()
        .into_iter()
        .chain(models::registry::heads())
        .map(builtin_view)
        .collect();
    let user = reg.components(&owner(bot_id)).map_err(api_err)?;
    components.extend(user.into_iter().map(|c| user_view(c, false)));
    Ok(ComponentCatalogue {
        components,
        note: note.to_string(),
    })
}

/// `GET /registry/read[?name]`.
pub(super) fn read(reg: &Registry, bot_id: &str, name: Option<&str>) -> ApiResult<RegistryRead> {
    let Some(name) = name else {
        return Ok(RegistryRead::All(catalogue(
            reg,
            bot_id,
            "built-ins (with their parameter schemas), your components and the public ones",
        )?));
    };
    if let Some(info) = models::registry::block(name).or_else(|| models::registry::head(name)) {
        return Ok(RegistryRead::One(Box::new(builtin_view(info))));
    }
    match reg.component(&owner(bot_id), name).map_err(api_err)? {
        Some(c) => Ok(RegistryRead::One(Box::new(user_view(c, true)))),
        // Another bot's private component is indistinguishable from none.
        None => Err(ApiError::not_found(format!("no component {name:?}"))),
    }
}

/// `POST /registry/write`.
pub(super) fn write(
    reg: &Registry,
    bot_id: &str,
    req: &RegistryWriteRequest,
) -> ApiResult<ComponentView> {
    let kind = ComponentKind::parse(&req.kind).ok_or_else(|| {
        ApiError::bad_request(format!(
            "kind must be block, head or script, got {:?}",
            req.kind
        ))
    })?;
    let me = owner(bot_id);
    // Ownership first: another owner's name is a 403 (whatever its visibility).
    if let Some(o) = reg.component_owner(&req.name).map_err(api_err)? {
        if o != me {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!(
                    "component {} belongs to another owner; choose another name",
                    req.name
                ),
            ));
        }
    }
    let stored = reg
        .put_component(
            &me,
            ComponentDraft {
                name: req.name.clone(),
                kind,
                definition: req.definition.clone(),
                description: req.description.clone(),
                public: req.public,
            },
        )
        .map_err(api_err)?;
    Ok(user_view(stored, true))
}
