//! The OpenClaw model-provider entry for Chutes: `models.providers.chutes` (OpenAI-compatible
//! base URL, `api: openai-completions`, the key as an env SecretRef to `CHUTES_API_KEY`, the
//! recommended models with context, output limit and price) and the aliases under
//! `agents.defaults.models`. The shape is the one `openclaw config validate` accepts.

use serde_json::{json, Map, Value};

use super::models::ChutesModel;
use super::recommend::{recommend, Recommended};
use super::{DEFAULT_URL, KEY_ENV};

/// The provider's id in OpenClaw (model refs are `chutes/<model id>`).
pub const PROVIDER_ID: &str = "chutes";

/// What to merge into OpenClaw's config.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenClawChutes {
    /// `models.providers.chutes`.
    pub provider: Value,
    /// Entries for `agents.defaults.models` (`chutes/<id>` → `{alias}`).
    pub aliases: Map<String, Value>,
    /// The model ref to make the default when none is set (`chutes/<tool-use model>`).
    pub primary: Option<String>,
    /// The recommendations it was built from.
    pub recommended: Recommended,
}

fn model_entry(id: &str, served: Option<&ChutesModel>, reasoning: bool) -> Value {
    let mut e = json!({"id": id, "name": format!("{id} (Chutes)"), "reasoning": reasoning, "input": ["text"]});
    if let Some(m) = served {
        if m.input_modalities.iter().any(|x| x == "image") {
            e["input"] = json!(["text", "image"]);
        }
        if let Some(c) = m.context_length.filter(|c| *c > 0) {
            e["contextWindow"] = json!(c);
        }
        if let Some(c) = m.max_output_length.filter(|c| *c > 0) {
            e["maxTokens"] = json!(c);
        }
        if let Some(p) = m.pricing {
            if let (Some(i), Some(o)) = (p.prompt, p.completion) {
                e["cost"] = json!({"input": i, "output": o, "cacheRead": 0, "cacheWrite": 0});
            }
        }
    }
    e
}

/// The entry for `served` (the `/models` answer; empty when offline) at `base_url` (default
/// the public one). The key is a SecretRef `{source: env, id: CHUTES_API_KEY}`: OpenClaw
/// reads the variable when it calls Chutes, and the config file never holds the key.
pub fn openclaw_provider(served: &[ChutesModel], base_url: Option<&str>) -> OpenClawChutes {
    let rec = recommend(served);
    let mut ids: Vec<(String, bool)> = Vec::new();
    if let Some(t) = &rec.tools {
        ids.push((t.clone(), rec.reasoning.as_deref() == Some(t.as_str())));
    }
    if let Some(r) = &rec.reasoning {
        if !ids.iter().any(|(i, _)| i == r) {
            ids.push((r.clone(), true));
        }
    }
    let find = |id: &str| served.iter().find(|m| m.id == id);
    let models: Vec<Value> = ids
        .iter()
        .map(|(id, reasoning)| {
            let r = *reasoning || find(id).is_some_and(|m| m.has("reasoning"));
            model_entry(id, find(id), r)
        })
        .collect();
    let mut aliases = Map::new();
    if let Some(t) = &rec.tools {
        aliases.insert(
            format!("{PROVIDER_ID}/{t}"),
            json!({"alias": "Chutes (tool use)"}),
        );
    }
    if let Some(r) = rec
        .reasoning
        .as_ref()
        .filter(|r| rec.tools.as_ref() != Some(*r))
    {
        aliases.insert(
            format!("{PROVIDER_ID}/{r}"),
            json!({"alias": "Chutes (reasoning)"}),
        );
    }
    OpenClawChutes {
        provider: json!({
            "baseUrl": base_url.unwrap_or(DEFAULT_URL),
            "api": "openai-completions",
            "apiKey": {"source": "env", "provider": "default", "id": KEY_ENV},
            "models": models,
        }),
        aliases,
        primary: rec.tools.as_ref().map(|t| format!("{PROVIDER_ID}/{t}")),
        recommended: rec,
    }
}
