//! The orchestrator: runs the stages of a [`PipelineDef`] over a shared task state, with retries
//! at escalating (capped) temperature, stall detection, a stop on environment errors, and a
//! check ⇄ fix loop; every step goes to the event bus.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::def::{PipelineDef, RetryStrategy, StageSpec};
use crate::agent::{run_agent, AgentResult, AgentRun, Transcript};
use crate::defs::{Agent, AgentBook};
use crate::events::{Event, EventBus};
use crate::llm::{ChatModel, UsageMeter, UsageTotals};
use crate::tools::{FinishTool, ToolRegistry};
use research::fingerprint::spec_fingerprint;

/// The shared task state: keys the agents read and write.
pub type TaskState = Map<String, Value>;

/// Gives each agent its model.
pub trait Brains: Send + Sync {
    /// The model for `agent` and the model id to send.
    fn model(&self, agent: &str) -> (Arc<dyn ChatModel>, String);
    /// The model for a resolved agent: for the built-in brains the policy it is based on
    /// (LLM brains also honour its own model id).
    fn model_for(&self, agent: &Agent) -> (Arc<dyn ChatModel>, String) {
        self.model(agent.policy.as_deref().unwrap_or(&agent.name))
    }
    /// `llm:<model>` or `builtin`, for events and summaries.
    fn label(&self) -> String;
}

/// Outcome of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// Stage name.
    pub name: String,
    /// Agent.
    pub agent: String,
    /// Whether it succeeded.
    pub success: bool,
    /// Attempts (or check ⇄ fix rounds) used.
    pub attempts: u32,
    /// Last agent summary or error.
    pub summary: String,
    /// Why retries stopped early, if they did (`environment`, `stalled`).
    pub stopped: Option<String>,
}

/// Outcome of a pipeline run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineReport {
    /// Run id.
    pub run_id: String,
    /// True when every required stage succeeded.
    pub success: bool,
    /// Stage outcomes in order.
    pub stages: Vec<StageReport>,
    /// The final task state.
    pub state: TaskState,
    /// Tokens and cost.
    pub usage: UsageTotals,
    /// Every agent run's transcript.
    pub transcripts: Vec<Transcript>,
}

impl PipelineReport {
    /// Best CRPS in the final state.
    pub fn best_crps(&self) -> Option<f64> {
        self.state.get("best_crps").and_then(Value::as_f64)
    }

    /// The search hits the agents saw (`web_search`), each url once: what the run's plan could
    /// rest on, cited in the report.
    pub fn sources_seen(&self) -> Vec<crate::tools::search::SourceSeen> {
        crate::tools::search::sources_seen(&self.transcripts)
    }
}

/// Runs pipelines.
pub struct Orchestrator {
    /// Stages.
    pub def: PipelineDef,
    /// Retry settings.
    pub strategy: RetryStrategy,
    /// Models per agent.
    pub brains: Arc<dyn Brains>,
    /// Every tool the agents may be given.
    pub tools: ToolRegistry,
    /// Event bus.
    pub bus: EventBus,
    /// The LLM meter, for token and cost totals (None for the built-in planner).
    pub meter: Option<UsageMeter>,
    /// The agents stages may name (built-in and stored).
    pub book: AgentBook,
}

struct Attempt {
    result: AgentResult,
}

impl Orchestrator {
    /// Runs every stage over `state`.
    pub async fn run(&self, mut state: TaskState) -> PipelineReport {
        let start_usage = self.meter.as_ref().map(UsageMeter::totals);
        let stages = self.def.stages.clone();
        self.bus.emit(Event::PipelineStart {
            stages: stages.iter().map(|s| s.name.clone()).collect(),
            brain: self.brains.label(),
        });
        let mut reports = Vec::new();
        let mut transcripts = Vec::new();
        let mut agent_usage = UsageTotals::default();
        let mut success = true;
        for (i, stage) in stages.iter().enumerate() {
            self.bus.emit(Event::StageStart {
                stage: stage.name.clone(),
                index: i + 1,
                total: stages.len(),
            });
            let mut results = Vec::new();
            let report = if let Some(fixer) = &stage.fixer {
                self.check_fix_loop(stage, fixer, &mut state, &mut results)
                    .await
            } else {
                self.retry_loop(stage, &mut state, &mut results).await
            };
            for r in &results {
                agent_usage.calls += r.usage.calls;
                agent_usage.prompt_tokens += r.usage.prompt_tokens;
                agent_usage.completion_tokens += r.usage.completion_tokens;
                transcripts.push(r.transcript.clone());
            }
            self.bus.emit(Event::StageEnd {
                stage: stage.name.clone(),
                success: report.success,
                attempts: report.attempts,
            });
            let failed_required = !report.success && !stage.optional;
            reports.push(report);
            if failed_required {
                success = false;
                break;
            }
        }
        let usage = match (&self.meter, start_usage) {
            (Some(m), Some(s)) => m.totals().since(&s),
            _ => agent_usage,
        };
        let report = PipelineReport {
            run_id: self.bus.run_id().to_string(),
            success,
            stages: reports,
            state,
            usage,
            transcripts,
        };
        let summary = json!({
            "stages": report.stages,
            "best_crps": report.best_crps(),
            "best_run_id": report.state.get("best_run_id"),
            "champion": report.state.get("champion"),
            "usage": report.usage,
            "sources": report.sources_seen(),
        });
        self.bus.emit(Event::PipelineComplete {
            success,
            best_crps: report.best_crps(),
            summary,
        });
        report
    }

    async fn run_role(
        &self,
        role: &Agent,
        stage: &StageSpec,
        state: &TaskState,
        message: String,
        temperature: f64,
    ) -> Result<AgentResult, String> {
        let tools = self.tools.subset(&role.tools)?;
        let (model, model_id) = self.brains.model_for(role);
        let context = context_message(role, state).into_iter().collect();
        // An agent's own temperature replaces the base; retries still add their step.
        let temperature = match role.temperature {
            Some(t) => (t + temperature - self.strategy.base_temperature)
                .clamp(0.0, self.strategy.max_temperature.max(t)),
            None => temperature,
        };
        let run = AgentRun {
            agent: role.name.to_string(),
            model: model.as_ref(),
            model_id,
            system_prompt: role.system_prompt.clone(),
            context,
            user_message: message,
            tools,
            finish: FinishTool::new(role.result_schema.clone()),
            temperature,
            max_turns: stage.max_turns.unwrap_or(role.max_turns),
            bus: Some(self.bus.clone()),
        };
        Ok(run_agent(run).await)
    }

    async fn attempt(
        &self,
        role: &Agent,
        stage: &StageSpec,
        state: &TaskState,
        message: String,
        temperature: f64,
    ) -> Attempt {
        let result = match self
            .run_role(role, stage, state, message, temperature)
            .await
        {
            Ok(r) => r,
            Err(e) => failed_result(&role.name, format!("configuration error: {e}"), true),
        };
        Attempt { result }
    }

    async fn retry_loop(
        &self,
        stage: &StageSpec,
        state: &mut TaskState,
        results: &mut Vec<AgentResult>,
    ) -> StageReport {
        let Some(role) = self.book.get(&stage.agent) else {
            return unknown_agent(stage, &stage.agent);
        };
        let base_message = stage
            .user_message
            .clone()
            .unwrap_or_else(|| role.default_message.clone());
        let max = if stage.retry {
            self.strategy.max_attempts.max(1)
        } else {
            1
        };
        let mut history: Vec<String> = Vec::new();
        let mut last_sig: Option<String> = None;
        let mut stalls = 0;
        let mut stopped = None;
        let mut attempts = 0;
        let mut summary = String::new();
        for attempt in 0..max {
            attempts = attempt + 1;
            let temperature = self.strategy.temperature(attempt);
            if max > 1 {
                self.bus.emit(Event::RetryAttempt {
                    stage: stage.name.clone(),
                    attempt: attempts,
                    max_attempts: max,
                    temperature,
                });
            }
            let message = if history.is_empty() {
                base_message.clone()
            } else {
                retry_message(&base_message, &history, stalls > 0, attempts, max)
            };
            let a = self.attempt(role, stage, state, message, temperature).await;
            let r = a.result;
            summary = short(&r.raw_text, 300);
            results.push(r.clone());
            if r.success {
                apply_writes(role, &r, state);
                return StageReport {
                    name: stage.name.clone(),
                    agent: stage.agent.clone(),
                    success: true,
                    attempts,
                    summary,
                    stopped: None,
                };
            }
            if let Some(env) = r
                .environment_error
                .clone()
                .or_else(|| environment_error_in(&r))
            {
                self.bus.emit(Event::NonRecoverable {
                    stage: stage.name.clone(),
                    error: env.clone(),
                });
                stopped = Some(format!("environment: {env}"));
                summary = env;
                break;
            }
            let sig = failure_signature(&r);
            if last_sig.as_deref() == Some(sig.as_str()) {
                stalls += 1;
                self.bus.emit(Event::StallDetected {
                    stage: stage.name.clone(),
                    attempt: attempts,
                    signature: sig.clone(),
                });
                if stalls >= self.strategy.stall_limit.max(1) {
                    stopped = Some(format!(
                        "stalled: the same failure repeated {} times",
                        stalls + 1
                    ));
                    break;
                }
            } else {
                stalls = 0;
            }
            last_sig = Some(sig);
            history.push(format!(
                "attempt {attempts} (temperature {temperature:.2}): {}",
                short(&r.raw_text, 200)
            ));
        }
        StageReport {
            name: stage.name.clone(),
            agent: stage.agent.clone(),
            success: false,
            attempts,
            summary,
            stopped,
        }
    }

    async fn check_fix_loop(
        &self,
        stage: &StageSpec,
        fixer: &str,
        state: &mut TaskState,
        results: &mut Vec<AgentResult>,
    ) -> StageReport {
        let Some(checker) = self.book.get(&stage.agent) else {
            return unknown_agent(stage, &stage.agent);
        };
        let Some(fixer) = self.book.get(fixer) else {
            return unknown_agent(stage, fixer);
        };
        let check_message = stage
            .user_message
            .clone()
            .unwrap_or_else(|| checker.default_message.clone());
        let max = self.strategy.max_attempts.max(1);
        let mut last_fp: Option<String> = None;
        let mut stalls = 0;
        let mut summary = String::new();
        for attempt in 0..max {
            let rounds = attempt + 1;
            let c = self
                .attempt(
                    checker,
                    stage,
                    state,
                    check_message.clone(),
                    self.strategy.base_temperature,
                )
                .await
                .result;
            results.push(c.clone());
            let passed = c.success
                && c.how == crate::agent::FinishHow::Explicit
                && c.result()
                    .get("passed")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
            if c.success {
                apply_writes(checker, &c, state);
            }
            if passed {
                return StageReport {
                    name: stage.name.clone(),
                    agent: stage.agent.clone(),
                    success: true,
                    attempts: rounds,
                    summary: short(&c.raw_text, 300),
                    stopped: None,
                };
            }
            if let Some(env) = c.environment_error.clone() {
                self.bus.emit(Event::NonRecoverable {
                    stage: stage.name.clone(),
                    error: env.clone(),
                });
                return StageReport {
                    name: stage.name.clone(),
                    agent: stage.agent.clone(),
                    success: false,
                    attempts: rounds,
                    summary: env.clone(),
                    stopped: Some(format!("environment: {env}")),
                };
            }
            let report = match c.result().get("issues") {
                Some(Value::Array(issues)) if !issues.is_empty() => issues
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => short(&c.raw_text, 10_000),
            };
            state.insert("error_report".into(), Value::String(report.clone()));
            let fp = state.get("best_experiment").map(spec_fingerprint);
            let mut message = format!("Fix the experiment. Error report:\n{report}");
            if fp.is_some() && fp == last_fp {
                stalls += 1;
                self.bus.emit(Event::StallDetected {
                    stage: stage.name.clone(),
                    attempt: rounds,
                    signature: fp.clone().unwrap_or_default(),
                });
                if stalls >= self.strategy.stall_limit.max(1) {
                    summary = format!(
                        "stalled: the same config failed the check {} times",
                        stalls + 1
                    );
                    return StageReport {
                        name: stage.name.clone(),
                        agent: stage.agent.clone(),
                        success: false,
                        attempts: rounds,
                        summary: summary.clone(),
                        stopped: Some(summary),
                    };
                }
                message = format!(
                    "CRITICAL WARNING: the experiment config has NOT changed since the last failed check. You MUST take a \
                     DIFFERENT approach — change blocks, head, d_model or learning rate.\n\nError report:\n{report}"
                );
            } else {
                stalls = 0;
            }
            last_fp = fp;
            let temperature = self.strategy.temperature(attempt);
            self.bus.emit(Event::RetryAttempt {
                stage: stage.name.clone(),
                attempt: rounds,
                max_attempts: max,
                temperature,
            });
            let f = self
                .attempt(fixer, stage, state, message, temperature)
                .await
                .result;
            results.push(f.clone());
            summary = short(&f.raw_text, 300);
            if f.success {
                apply_writes(fixer, &f, state);
            } else if let Some(env) = f.environment_error.clone() {
                self.bus.emit(Event::NonRecoverable {
                    stage: stage.name.clone(),
                    error: env.clone(),
                });
                return StageReport {
                    name: stage.name.clone(),
                    agent: stage.agent.clone(),
                    success: false,
                    attempts: rounds,
                    summary: env.clone(),
                    stopped: Some(format!("environment: {env}")),
                };
            }
        }
        StageReport {
            name: stage.name.clone(),
            agent: stage.agent.clone(),
            success: false,
            attempts: max,
            summary,
            stopped: None,
        }
    }
}

fn unknown_agent(stage: &StageSpec, name: &str) -> StageReport {
    StageReport {
        name: stage.name.clone(),
        agent: stage.agent.clone(),
        success: false,
        attempts: 0,
        summary: format!("unknown agent `{name}`"),
        stopped: Some(format!("configuration: unknown agent `{name}`")),
    }
}

/// The context message: the keys an agent reads, as a JSON block.
pub fn context_message(role: &Agent, state: &TaskState) -> Option<String> {
    let picked: Map<String, Value> = role
        .reads
        .iter()
        .filter_map(|k| state.get(k).map(|v| (k.clone(), v.clone())))
        .collect();
    if picked.is_empty() {
        return None;
    }
    let text = serde_json::to_string_pretty(&Value::Object(picked)).unwrap_or_default();
    Some(format!("## Task state\n```json\n{text}\n```"))
}

/// Reads the task-state block back out of messages (what the built-in policies see).
pub fn read_context(text: &str) -> Option<TaskState> {
    let body = text.strip_prefix("## Task state\n")?;
    match crate::json::parse_lenient::<Value>(body).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

fn apply_writes(role: &Agent, r: &AgentResult, state: &mut TaskState) {
    let result = r.result();
    for k in &role.writes {
        if let Some(v) = result.get(k).filter(|v| !v.is_null()) {
            state.insert(k.to_string(), v.clone());
        }
    }
}

fn environment_error_in(r: &AgentResult) -> Option<String> {
    let res = r.result();
    let env = res.get("error_type").and_then(Value::as_str) == Some("environment")
        || res.get("recoverable").and_then(Value::as_bool) == Some(false);
    env.then(|| {
        res.get("error")
            .and_then(Value::as_str)
            .unwrap_or(&r.raw_text)
            .to_string()
    })
}

/// What a failed attempt "was": the fingerprint of the config it reported, else its error text
/// with digits removed (so timings and counters do not hide a repeat).
fn failure_signature(r: &AgentResult) -> String {
    if let Some(spec) = r.result().get("best_experiment").filter(|v| v.is_object()) {
        return format!("config:{}", spec_fingerprint(spec));
    }
    let text: String = r
        .raw_text
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .take(300)
        .collect();
    format!("error:{}", text.trim())
}

fn retry_message(base: &str, history: &[String], stalled: bool, attempt: u32, max: u32) -> String {
    let mut m = format!("{base}\n\n## Previous attempts (all failed)\n");
    for h in history {
        m.push_str(&format!("- {h}\n"));
    }
    if stalled {
        m.push_str("\nCRITICAL WARNING: the last attempts failed in exactly the same way. Change your approach.\n");
    }
    m.push_str(&format!("\nYou MUST try a DIFFERENT approach; do not repeat the experiments above. Attempt {attempt}/{max}."));
    m
}

fn failed_result(agent: &str, message: String, environment: bool) -> AgentResult {
    let now = chrono::Utc::now().to_rfc3339();
    AgentResult {
        agent: agent.to_string(),
        success: false,
        how: crate::agent::FinishHow::LlmError,
        finish: None,
        raw_text: message.clone(),
        turns: 0,
        usage: UsageTotals::default(),
        environment_error: environment.then_some(message),
        transcript: Transcript {
            agent: agent.to_string(),
            model: String::new(),
            temperature: 0.0,
            started_at: now.clone(),
            ended_at: now,
            messages: Vec::new(),
        },
    }
}

fn short(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}
