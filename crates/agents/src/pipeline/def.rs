//! The pipeline as data: a validated JSON list of stages, editable without code, and the retry
//! strategy.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::defs::AgentBook;

/// Where a stage sits; positions never decrease along the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Position {
    /// Planning.
    Plan,
    /// Training.
    Execute,
    /// Checking.
    Validate,
    /// Publishing (registering the champion; remote publishing with `--publish`).
    Publish,
    /// Anything after.
    Post,
}

/// One stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Unique name.
    pub name: String,
    /// Agent that runs it (a built-in role or a stored agent).
    pub agent: String,
    /// Position.
    pub position: Position,
    /// Retry on failure with temperature escalation.
    #[serde(default)]
    pub retry: bool,
    /// A failure does not stop the pipeline.
    #[serde(default)]
    pub optional: bool,
    /// Agent that repairs a failed check (makes this a check ⇄ fix loop).
    #[serde(default)]
    pub fixer: Option<String>,
    /// Task message; the agent's default when absent.
    #[serde(default)]
    pub user_message: Option<String>,
    /// Turn cap override.
    #[serde(default)]
    pub max_turns: Option<u32>,
}

/// The stage list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineDef {
    /// Stages in order.
    pub stages: Vec<StageSpec>,
}

/// Retry settings (the Python meta-strategy, with a temperature cap and a stall limit).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RetryStrategy {
    /// Attempts per retrying stage (and check ⇄ fix rounds), ≥ 1.
    pub max_attempts: u32,
    /// Temperature of the first attempt.
    pub base_temperature: f64,
    /// Added per retry.
    pub temperature_step: f64,
    /// Never exceeded.
    pub max_temperature: f64,
    /// Stop after this many repeats of the same failure (or the same config failing).
    pub stall_limit: u32,
}

impl Default for RetryStrategy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            base_temperature: 0.1,
            temperature_step: 0.1,
            max_temperature: 1.0,
            stall_limit: 2,
        }
    }
}

impl RetryStrategy {
    /// Temperature of 0-based attempt `attempt`: base + attempt × step, capped.
    pub fn temperature(&self, attempt: u32) -> f64 {
        (self.base_temperature + f64::from(attempt) * self.temperature_step)
            .clamp(0.0, self.max_temperature)
    }
}

impl Default for PipelineDef {
    fn default() -> Self {
        let stage =
            |name: &str, agent: &str, position, retry, optional, fixer: Option<&str>| StageSpec {
                name: name.into(),
                agent: agent.into(),
                position,
                retry,
                optional,
                fixer: fixer.map(str::to_string),
                user_message: None,
                max_turns: None,
            };
        Self {
            stages: vec![
                stage("planner", "planner", Position::Plan, true, false, None),
                stage("trainer", "trainer", Position::Execute, true, false, None),
                stage(
                    "check",
                    "codechecker",
                    Position::Validate,
                    false,
                    false,
                    Some("debugger"),
                ),
                stage(
                    "publisher",
                    "publisher",
                    Position::Publish,
                    true,
                    false,
                    None,
                ),
            ],
        }
    }
}

impl PipelineDef {
    /// Parses and validates JSON.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let def: PipelineDef =
            serde_json::from_str(text).map_err(|e| format!("pipeline definition: {e}"))?;
        def.validate()?;
        Ok(def)
    }

    /// Reads, parses and validates a JSON file.
    pub fn load(path: &Path) -> Result<Self, String> {
        Self::load_with(path, &AgentBook::builtin())
    }

    /// Parses JSON and validates it against `book`'s agents.
    pub fn from_json_with(text: &str, book: &AgentBook) -> Result<Self, String> {
        let def: PipelineDef =
            serde_json::from_str(text).map_err(|e| format!("pipeline definition: {e}"))?;
        def.validate_with(book)?;
        Ok(def)
    }

    /// [`PipelineDef::load`] validated against `book` (stored agents allowed). Files over
    /// 1 MiB are refused.
    pub fn load_with(path: &Path, book: &AgentBook) -> Result<Self, String> {
        let len = std::fs::metadata(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?
            .len();
        if len > 1 << 20 {
            return Err(format!("{}: larger than 1 MiB", path.display()));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        Self::from_json_with(&text, book).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Checks: non-empty; unique names; known agents and fixers; positions non-decreasing;
    /// at least one plan, execute and validate stage; fixers only on validate stages.
    pub fn validate(&self) -> Result<(), String> {
        self.validate_with(&AgentBook::builtin())
    }

    /// [`PipelineDef::validate`] against `book`'s agents (built-in and stored). At most 32
    /// stages.
    pub fn validate_with(&self, book: &AgentBook) -> Result<(), String> {
        if self.stages.len() > 32 {
            return Err("the pipeline has more than 32 stages".into());
        }
        if self.stages.is_empty() {
            return Err("the pipeline has no stages".into());
        }
        let mut names = std::collections::HashSet::new();
        let mut last = Position::Plan;
        for (i, s) in self.stages.iter().enumerate() {
            let at = format!("stage {} ({})", i + 1, s.name);
            if s.name.trim().is_empty() {
                return Err(format!("stage {}: empty name", i + 1));
            }
            if !names.insert(s.name.as_str()) {
                return Err(format!("{at}: duplicate stage name"));
            }
            if book.get(&s.agent).is_none() {
                return Err(format!(
                    "{at}: unknown agent `{}` (known: {})",
                    s.agent,
                    book.names().join(", ")
                ));
            }
            if let Some(f) = &s.fixer {
                if book.get(f).is_none() {
                    return Err(format!("{at}: unknown fixer agent `{f}`"));
                }
                if s.position != Position::Validate {
                    return Err(format!("{at}: only validate stages may have a fixer"));
                }
            }
            if s.max_turns == Some(0) {
                return Err(format!("{at}: max_turns must be at least 1"));
            }
            if s.position < last {
                return Err(format!(
                    "{at}: position {:?} comes after {:?}; positions must not decrease",
                    s.position, last
                ));
            }
            last = s.position;
        }
        for p in [Position::Plan, Position::Execute, Position::Validate] {
            if !self.stages.iter().any(|s| s.position == p) {
                return Err(format!("the pipeline needs a {p:?} stage"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid_and_round_trips() {
        let d = PipelineDef::default();
        d.validate().unwrap();
        let text = serde_json::to_string_pretty(&d).unwrap();
        assert_eq!(PipelineDef::from_json(&text).unwrap(), d);
    }

    #[test]
    fn rejects_bad_definitions_with_reasons() {
        let bad = |j: &str| PipelineDef::from_json(j).unwrap_err();
        assert!(bad(r#"{"stages":[]}"#).contains("no stages"));
        assert!(
            bad(r#"{"stages":[{"name":"a","agent":"wizard","position":"plan"}]}"#)
                .contains("unknown agent `wizard`")
        );
        let order = r#"{"stages":[{"name":"t","agent":"trainer","position":"execute"},{"name":"p","agent":"planner","position":"plan"}]}"#;
        assert!(bad(order).contains("must not decrease"));
        let missing = r#"{"stages":[{"name":"p","agent":"planner","position":"plan"},{"name":"t","agent":"trainer","position":"execute"}]}"#;
        assert!(bad(missing).contains("Validate"));
        assert!(
            bad(r#"{"stages":[{"name":"p","agent":"planner","position":"plan","colour":1}]}"#)
                .contains("unknown field")
        );
    }

    #[test]
    fn temperature_escalates_and_is_capped() {
        let s = RetryStrategy {
            max_attempts: 20,
            base_temperature: 0.1,
            temperature_step: 0.5,
            max_temperature: 1.0,
            stall_limit: 2,
        };
        assert!((s.temperature(0) - 0.1).abs() < 1e-12);
        assert!((s.temperature(1) - 0.6).abs() < 1e-12);
        assert_eq!(s.temperature(19), 1.0);
    }
}
