//! Agents, prompts and pipelines as data. An agent is a system prompt, a tool subset, a model
//! and a temperature ([`AgentDef`]); a prompt is a named fragment agents include; a pipeline is
//! a stage list ([`crate::PipelineDef`]). They live in the research registry's `definitions`
//! table (owner, version, content hash; every version kept), are validated before they are
//! stored, and are read again on every use, so a written agent is usable at once.
//!
//! The built-in roles ([`crate::roles`]) and the stored agents together form an [`AgentBook`],
//! which the orchestrator, pipeline validation and `synth-city agent --name` resolve names in.

use std::collections::BTreeSet;
use std::sync::Arc;

use research::registry::{DefinitionKind, StoredDefinition};
use research::{Archive, ResearchError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::pipeline::PipelineDef;
use crate::roles::{system_prompt, Role, ROLES};

/// The owner of what the CLI writes.
pub const LOCAL_OWNER: &str = "local";
/// Longest system prompt or prompt fragment (characters).
pub const MAX_PROMPT_CHARS: usize = 16_000;
/// Most tools one agent may have.
pub const MAX_AGENT_TOOLS: usize = 48;
/// Highest turn cap an agent may ask for.
pub const MAX_AGENT_TURNS: u32 = 60;

/// An agent as data (what `write_agent`, `/agents/write` and the AgentDesigner produce).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentDef {
    /// Name (1–64 of `[A-Za-z0-9_.-]`; not a built-in agent's).
    pub name: String,
    /// One line on what it does.
    #[serde(default)]
    pub purpose: String,
    /// Its role prompt (the shared synth-city preamble is put before it).
    pub system_prompt: String,
    /// Tools it may call (besides `finish`); every name must exist.
    #[serde(default)]
    pub tools: Vec<String>,
    /// Model id; the default model when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Base sampling temperature (0–2); the pipeline's when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Turn cap (1–60, default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// Stored prompt fragments appended to the system prompt, in order.
    #[serde(default)]
    pub prompts: Vec<String>,
    /// Task-state keys given to it as context.
    #[serde(default)]
    pub reads: Vec<String>,
    /// Task-state keys taken from its `finish` result.
    #[serde(default)]
    pub writes: Vec<String>,
    /// A built-in agent whose finish schema it keeps and whose built-in policy drives it when
    /// no LLM is configured (so it also runs offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub based_on: Option<String>,
    /// The task message when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_message: Option<String>,
}

/// A stored prompt fragment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PromptDef {
    /// Name.
    pub name: String,
    /// The text.
    pub text: String,
    /// One line on what it is for.
    #[serde(default)]
    pub description: String,
}

/// An agent ready to run: a built-in role or a resolved stored definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    /// Name.
    pub name: String,
    /// One line on what it does.
    pub purpose: String,
    /// The full system prompt.
    pub system_prompt: String,
    /// Tools it may call (besides `finish`).
    pub tools: Vec<String>,
    /// Task-state keys given to it.
    pub reads: Vec<String>,
    /// Task-state keys taken from its result.
    pub writes: Vec<String>,
    /// Task message when the stage gives none.
    pub default_message: String,
    /// Turn cap.
    pub max_turns: u32,
    /// Model id override.
    pub model: Option<String>,
    /// Base temperature override.
    pub temperature: Option<f64>,
    /// Schema of its `finish` result.
    pub result_schema: Value,
    /// The built-in policy that stands in for the LLM (a built-in agent's name).
    pub policy: Option<String>,
    /// Owner and version when stored; `None` for a built-in.
    pub stored: Option<(String, u32)>,
}

impl Agent {
    /// A built-in role.
    pub fn from_role(r: &Role) -> Self {
        let owned = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        Self {
            name: r.name.to_string(),
            purpose: r.purpose.to_string(),
            system_prompt: system_prompt(r),
            tools: owned(r.tools),
            reads: owned(r.reads),
            writes: owned(r.writes),
            default_message: r.default_message.to_string(),
            max_turns: r.max_turns,
            model: None,
            temperature: None,
            result_schema: r.result_schema(),
            policy: Some(r.name.to_string()),
            stored: None,
        }
    }

    /// True for a built-in role.
    pub fn is_builtin(&self) -> bool {
        self.stored.is_none()
    }
}

/// The agents a pipeline can use: the built-in roles and the stored agents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentBook {
    agents: Vec<Agent>,
}

impl Default for AgentBook {
    fn default() -> Self {
        Self::builtin()
    }
}

impl AgentBook {
    /// The built-in roles only.
    pub fn builtin() -> Self {
        Self {
            agents: ROLES.iter().map(Agent::from_role).collect(),
        }
    }

    /// The agent called `name`.
    pub fn get(&self, name: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.name == name)
    }

    /// Every agent, built-ins first.
    pub fn agents(&self) -> &[Agent] {
        &self.agents
    }

    /// Every name, built-ins first.
    pub fn names(&self) -> Vec<String> {
        self.agents.iter().map(|a| a.name.clone()).collect()
    }

    /// Adds (or replaces) an agent.
    pub fn insert(&mut self, agent: Agent) {
        match self.agents.iter_mut().find(|a| a.name == agent.name) {
            Some(slot) => *slot = agent,
            None => self.agents.push(agent),
        }
    }
}

/// True for the name of a built-in agent.
pub fn is_builtin(name: &str) -> bool {
    ROLES.iter().any(|r| r.name == name)
}

fn check_key(what: &str, k: &str) -> Result<(), String> {
    let ok = !k.is_empty()
        && k.len() <= 40
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what}: task-state key {k:?} must be 1-40 of [a-z0-9_]"
        ))
    }
}

impl AgentDef {
    /// Parses JSON (unknown fields refused, naming them).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        serde_json::from_value(v.clone()).map_err(|e| format!("agent definition: {e}"))
    }

    /// Checks everything that can be checked without running it: the name (not a built-in),
    /// the prompt size, every tool in `known_tools`, every prompt in `known_prompts`, the
    /// temperature, the turn cap, the task-state keys and `based_on`.
    pub fn validate(
        &self,
        known_tools: &BTreeSet<String>,
        known_prompts: &BTreeSet<String>,
    ) -> Result<(), String> {
        research::registry::check_definition_name(&self.name).map_err(|e| e.message)?;
        if is_builtin(&self.name) {
            return Err(format!(
                "name: `{}` is a built-in agent; choose another name",
                self.name
            ));
        }
        if self.system_prompt.trim().is_empty() {
            return Err("system_prompt: required".into());
        }
        if self.system_prompt.chars().count() > MAX_PROMPT_CHARS {
            return Err(format!(
                "system_prompt: longer than {MAX_PROMPT_CHARS} characters"
            ));
        }
        if self.tools.len() > MAX_AGENT_TOOLS {
            return Err(format!("tools: at most {MAX_AGENT_TOOLS}"));
        }
        let unknown: Vec<&str> = self
            .tools
            .iter()
            .filter(|t| !known_tools.contains(*t) || *t == crate::tools::FINISH)
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "tools: unknown {} (list_available_tools names them all)",
                unknown.join(", ")
            ));
        }
        let missing: Vec<&str> = self
            .prompts
            .iter()
            .filter(|p| !known_prompts.contains(*p))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "prompts: no stored prompt {} (write it first)",
                missing.join(", ")
            ));
        }
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) || !t.is_finite() {
                return Err(format!("temperature: {t} is outside 0-2"));
            }
        }
        if let Some(m) = self.max_turns {
            if m == 0 || m > MAX_AGENT_TURNS {
                return Err(format!("max_turns: {m} is outside 1-{MAX_AGENT_TURNS}"));
            }
        }
        if let Some(m) = &self.model {
            if m.trim().is_empty() || m.len() > 200 || m.chars().any(char::is_control) {
                return Err("model: 1-200 printable characters".into());
            }
        }
        if self.reads.len() > 32 || self.writes.len() > 32 {
            return Err("reads/writes: at most 32 keys each".into());
        }
        for k in &self.reads {
            check_key("reads", k)?;
        }
        for k in &self.writes {
            check_key("writes", k)?;
        }
        if let Some(b) = &self.based_on {
            if !is_builtin(b) {
                return Err(format!(
                    "based_on: `{b}` is not a built-in agent ({})",
                    ROLES.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if self
            .default_message
            .as_ref()
            .is_some_and(|m| m.chars().count() > MAX_PROMPT_CHARS)
        {
            return Err("default_message: too long".into());
        }
        Ok(())
    }

    /// The runnable agent, with `prompts` (name → text) appended to its system prompt.
    pub fn resolve(&self, prompts: &[(String, String)], stored: Option<(String, u32)>) -> Agent {
        let base = self.based_on.as_deref().and_then(crate::roles::role);
        let mut system = format!("{}\n\n{}", crate::roles::COMMON, self.system_prompt);
        for name in &self.prompts {
            if let Some((_, text)) = prompts.iter().find(|(n, _)| n == name) {
                system.push_str(&format!("\n\n## {name}\n{text}"));
            }
        }
        let result_schema = match base {
            Some(r) => r.result_schema(),
            None if !self.writes.is_empty() => {
                let props: serde_json::Map<String, Value> =
                    self.writes.iter().map(|k| (k.clone(), json!({}))).collect();
                json!({"type": "object", "properties": props})
            }
            None => json!({"type": "object"}),
        };
        let or_base = |own: &Vec<String>, f: fn(&Role) -> &'static [&'static str]| {
            if own.is_empty() {
                base.map(|r| f(r).iter().map(|s| s.to_string()).collect())
                    .unwrap_or_default()
            } else {
                own.clone()
            }
        };
        Agent {
            name: self.name.clone(),
            purpose: self.purpose.clone(),
            system_prompt: system,
            tools: self.tools.clone(),
            reads: or_base(&self.reads, |r| r.reads),
            writes: or_base(&self.writes, |r| r.writes),
            default_message: self
                .default_message
                .clone()
                .or_else(|| base.map(|r| r.default_message.to_string()))
                .unwrap_or_else(|| "Begin the task.".into()),
            max_turns: self.max_turns.unwrap_or(20),
            model: self.model.clone(),
            temperature: self.temperature,
            result_schema,
            policy: self.based_on.clone(),
            stored,
        }
    }
}

/// Where definitions are stored, and who is writing: the CLI writes as [`LOCAL_OWNER`], the
/// bridge as the bot. Everyone may read every definition; only its owner may change one.
#[derive(Clone)]
pub struct DefStore {
    archive: Arc<Archive>,
    owner: String,
}

impl std::fmt::Debug for DefStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DefStore")
            .field("owner", &self.owner)
            .finish_non_exhaustive()
    }
}

/// One stored definition as lists show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DefSummary {
    /// Name.
    pub name: String,
    /// Owner.
    pub owner: String,
    /// Latest version.
    pub version: u32,
    /// SHA-256 of the latest body.
    pub hash: String,
    /// When the latest version was stored.
    pub created_at: String,
    /// Its purpose or description, when it has one.
    pub about: String,
}

fn summary(d: &StoredDefinition) -> DefSummary {
    let v: Value = serde_json::from_str(&d.body).unwrap_or(Value::Null);
    let about = ["purpose", "description"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .unwrap_or("")
        .chars()
        .take(200)
        .collect();
    DefSummary {
        name: d.name.clone(),
        owner: d.owner.clone(),
        version: d.version,
        hash: d.hash.clone(),
        created_at: d.created_at.clone(),
        about,
    }
}

impl DefStore {
    /// Definitions in `archive`'s registry, written as `owner`.
    pub fn new(archive: Arc<Archive>, owner: &str) -> Self {
        Self {
            archive,
            owner: owner.to_string(),
        }
    }

    /// Who writes.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// The archive.
    pub fn archive(&self) -> &Arc<Archive> {
        &self.archive
    }

    /// The same store written as `owner`.
    pub fn as_owner(&self, owner: &str) -> Self {
        Self::new(self.archive.clone(), owner)
    }

    fn reg(&self) -> &research::Registry {
        &self.archive.registry
    }

    /// Refuses a write to a name someone else owns (checked before validation, so the answer is
    /// "not yours" rather than a validation error).
    pub fn check_owner(&self, kind: DefinitionKind, name: &str) -> Result<(), ResearchError> {
        if let Some(d) = self.reg().definition(kind, name, None)? {
            if d.owner != self.owner {
                return Err(ResearchError::invalid(format!(
                    "{} {name} belongs to {}; a bot can only change its own",
                    kind.as_str(),
                    d.owner
                )));
            }
        }
        Ok(())
    }

    /// Names of the stored prompts.
    pub fn prompt_names(&self) -> Result<BTreeSet<String>, ResearchError> {
        Ok(self
            .reg()
            .definitions(DefinitionKind::Prompt)?
            .into_iter()
            .map(|d| d.name)
            .collect())
    }

    /// Validates and stores an agent (the next version when it exists).
    pub fn put_agent(&self, def: &AgentDef) -> Result<StoredDefinition, ResearchError> {
        self.check_owner(DefinitionKind::Agent, &def.name)?;
        def.validate(&crate::tools::catalogue_names(), &self.prompt_names()?)
            .map_err(ResearchError::invalid)?;
        let body =
            serde_json::to_string_pretty(def).map_err(|e| ResearchError::env(e.to_string()))?;
        self.reg()
            .put_definition(&self.owner, DefinitionKind::Agent, &def.name, &body)
    }

    /// Validates and stores a prompt fragment.
    pub fn put_prompt(&self, def: &PromptDef) -> Result<StoredDefinition, ResearchError> {
        self.check_owner(DefinitionKind::Prompt, &def.name)?;
        if def.text.trim().is_empty() {
            return Err(ResearchError::invalid("text: required"));
        }
        if def.text.chars().count() > MAX_PROMPT_CHARS {
            return Err(ResearchError::invalid(format!(
                "text: longer than {MAX_PROMPT_CHARS} characters"
            )));
        }
        let body =
            serde_json::to_string_pretty(def).map_err(|e| ResearchError::env(e.to_string()))?;
        self.reg()
            .put_definition(&self.owner, DefinitionKind::Prompt, &def.name, &body)
    }

    /// Validates a pipeline against the agents known now (built-in and stored) and stores it.
    pub fn put_pipeline(
        &self,
        name: &str,
        def: &PipelineDef,
    ) -> Result<StoredDefinition, ResearchError> {
        self.check_owner(DefinitionKind::Pipeline, name)?;
        def.validate_with(&self.book()?)
            .map_err(ResearchError::invalid)?;
        let body =
            serde_json::to_string_pretty(def).map_err(|e| ResearchError::env(e.to_string()))?;
        self.reg()
            .put_definition(&self.owner, DefinitionKind::Pipeline, name, &body)
    }

    /// The latest (or a given) version of a stored definition.
    pub fn get(
        &self,
        kind: DefinitionKind,
        name: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredDefinition>, ResearchError> {
        self.reg().definition(kind, name, version)
    }

    /// Latest versions of every definition of `kind`.
    pub fn list(&self, kind: DefinitionKind) -> Result<Vec<DefSummary>, ResearchError> {
        Ok(self.reg().definitions(kind)?.iter().map(summary).collect())
    }

    /// A stored pipeline by name.
    pub fn pipeline(&self, name: &str) -> Result<Option<PipelineDef>, ResearchError> {
        match self.get(DefinitionKind::Pipeline, name, None)? {
            None => Ok(None),
            Some(d) => serde_json::from_str(&d.body)
                .map(Some)
                .map_err(|e| ResearchError::invalid(format!("stored pipeline {name}: {e}"))),
        }
    }

    /// The built-in roles plus every stored agent (latest versions, prompts resolved), read
    /// now: a definition written a moment ago is in it. A stored agent whose body no longer
    /// parses is left out (and logged).
    pub fn book(&self) -> Result<AgentBook, ResearchError> {
        let prompts: Vec<(String, String)> = self
            .reg()
            .definitions(DefinitionKind::Prompt)?
            .into_iter()
            .filter_map(|d| {
                let p: PromptDef = serde_json::from_str(&d.body).ok()?;
                Some((d.name, p.text))
            })
            .collect();
        let mut book = AgentBook::builtin();
        for d in self.reg().definitions(DefinitionKind::Agent)? {
            match serde_json::from_str::<AgentDef>(&d.body) {
                Ok(def) if !is_builtin(&def.name) => {
                    book.insert(def.resolve(&prompts, Some((d.owner.clone(), d.version))));
                }
                Ok(_) => {}
                Err(e) => tracing::warn!("stored agent {} v{} skipped: {e}", d.name, d.version),
            }
        }
        Ok(book)
    }
}
