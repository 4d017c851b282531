//! The agent loop: system prompt + context + user message, then turns of "model answers → run
//! every tool call it made → feed results back" until it calls `finish` (explicit finish), stops
//! calling tools twice in a row (implicit finish), or runs out of turns.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{Event, EventBus};
use crate::llm::{ChatModel, ChatRequest, Message, Role, Usage, UsageTotals};
use crate::tools::{Finish, FinishTool, ToolErrorKind, ToolRegistry, FINISH};

/// Tool results longer than this (bytes of JSON) are truncated before the model sees them.
pub const MAX_TOOL_RESULT_BYTES: usize = 16_000;

/// How an agent run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishHow {
    /// The model called `finish` with a valid result.
    Explicit,
    /// The model answered without tool calls even after a reminder.
    Implicit,
    /// The turn cap was reached.
    MaxTurns,
    /// The LLM could not be reached (after its retries).
    LlmError,
}

/// Everything an agent run needs.
pub struct AgentRun<'a> {
    /// Agent name (for events and the transcript).
    pub agent: String,
    /// Who answers.
    pub model: &'a dyn ChatModel,
    /// Model id sent in requests.
    pub model_id: String,
    /// System prompt.
    pub system_prompt: String,
    /// Extra user messages before the task message (the shared task state it reads).
    pub context: Vec<String>,
    /// The task message.
    pub user_message: String,
    /// Tools it may call (without `finish`).
    pub tools: ToolRegistry,
    /// Its finish tool.
    pub finish: FinishTool,
    /// Sampling temperature.
    pub temperature: f64,
    /// Turn cap.
    pub max_turns: u32,
    /// Where to emit events.
    pub bus: Option<EventBus>,
}

/// The messages of one agent run, kept with the run in the registry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// Agent name.
    pub agent: String,
    /// Model id.
    pub model: String,
    /// Temperature used.
    pub temperature: f64,
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// End, RFC 3339 UTC.
    pub ended_at: String,
    /// All messages, system prompt first.
    pub messages: Vec<Message>,
}

/// The outcome of an agent run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentResult {
    /// Agent name.
    pub agent: String,
    /// The agent's verdict (`finish.success`; true for an implicit finish; false otherwise).
    pub success: bool,
    /// How it ended.
    pub how: FinishHow,
    /// The finish call, when explicit (or parsed from an implicit answer).
    pub finish: Option<Finish>,
    /// The last assistant text, or the error.
    pub raw_text: String,
    /// Turns used.
    pub turns: u32,
    /// Tokens spent by this run.
    pub usage: UsageTotals,
    /// Set when a tool or the LLM reported an environment error (retrying cannot help).
    pub environment_error: Option<String>,
    /// The conversation.
    pub transcript: Transcript,
}

impl AgentResult {
    /// The structured result (`finish.result`), or null.
    pub fn result(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.finish.as_ref().map_or(&NULL, |f| &f.result)
    }
}

const NUDGE: &str =
    "You answered without calling a tool. If you are done, call `finish` with your structured \
                     result now; otherwise call the next tool you need.";

/// Runs the loop. Never panics and never returns an error: failures are in the result.
pub async fn run_agent(run: AgentRun<'_>) -> AgentResult {
    let started_at = chrono::Utc::now().to_rfc3339();
    let emit = |e: Event| {
        if let Some(b) = &run.bus {
            b.emit(e);
        }
    };
    let mut specs = run.tools.specs();
    specs.push(run.finish.spec());
    let tool_names: Vec<String> = specs.iter().map(|s| s.function.name.clone()).collect();
    emit(Event::AgentStart {
        agent: run.agent.clone(),
        model: run.model_id.clone(),
        tools: tool_names,
        max_turns: run.max_turns,
    });

    let mut messages = vec![Message::system(run.system_prompt.clone())];
    messages.extend(run.context.iter().map(|c| Message::user(c.clone())));
    messages.push(Message::user(run.user_message.clone()));

    let mut usage = UsageTotals::default();
    let mut nudged = false;
    let mut env_error: Option<String> = None;
    let mut turns = 0u32;
    let mut last_text = String::new();

    let outcome: (bool, FinishHow, Option<Finish>, String) = loop {
        if turns >= run.max_turns {
            break (
                false,
                FinishHow::MaxTurns,
                None,
                format!("max turns ({}) exhausted without `finish`", run.max_turns),
            );
        }
        turns += 1;
        emit(Event::AgentTurn {
            agent: run.agent.clone(),
            turn: turns,
        });
        let req = ChatRequest {
            model: run.model_id.clone(),
            messages: messages.clone(),
            tools: specs.clone(),
            temperature: Some(run.temperature),
            max_tokens: None,
        };
        let resp = match run.model.complete(&req).await {
            Ok(r) => r,
            Err(e) => {
                if e.is_environment() {
                    env_error = Some(e.to_string());
                }
                break (
                    false,
                    FinishHow::LlmError,
                    None,
                    format!("LLM call failed: {e}"),
                );
            }
        };
        usage.add(&resp.usage.unwrap_or(Usage::default()), None);
        let Some(choice) = resp.choices.into_iter().next() else {
            break (
                false,
                FinishHow::LlmError,
                None,
                "LLM returned no choices".into(),
            );
        };
        let mut msg = choice.message;
        msg.role = Role::Assistant;
        if let Some(t) = msg.content.as_ref().filter(|t| !t.trim().is_empty()) {
            last_text = t.clone();
        }
        let calls = msg.tool_calls.clone();
        messages.push(msg);

        if calls.is_empty() {
            if !nudged {
                nudged = true;
                messages.push(Message::user(NUDGE));
                continue;
            }
            // Implicit finish: take a JSON object in the text as the result when there is one.
            let parsed = crate::json::parse_lenient::<Value>(&last_text)
                .ok()
                .filter(Value::is_object);
            let finish = parsed.map(|v| {
                let success = v.get("success").and_then(Value::as_bool).unwrap_or(true);
                let result = v.get("result").cloned().unwrap_or_else(|| v.clone());
                Finish {
                    success,
                    summary: String::new(),
                    result,
                }
            });
            let success = finish.as_ref().is_none_or(|f| f.success);
            break (success, FinishHow::Implicit, finish, last_text.clone());
        }

        // Run every call of the turn, in order, before honouring `finish`.
        let mut finished: Option<Finish> = None;
        for call in &calls {
            let name = call.function.name.clone();
            emit(Event::ToolCall {
                agent: run.agent.clone(),
                tool: name.clone(),
            });
            let (content, error) = if name == FINISH {
                match run.finish.parse(&call.function.arguments) {
                    Ok(f) => {
                        let content = serde_json::to_value(&f).unwrap_or(Value::Null);
                        if finished.is_none() {
                            finished = Some(f);
                        }
                        (content, None)
                    }
                    Err(e) => (e.to_json(), Some(e)),
                }
            } else {
                let tools = run.tools.clone();
                let args = call.function.arguments.clone();
                let n = name.clone();
                let outcome = match tokio::task::spawn_blocking(move || tools.execute(&n, &args))
                    .await
                {
                    Ok(o) => o,
                    Err(e) => {
                        let err = crate::tools::ToolError::failed(format!("tool task failed: {e}"));
                        crate::tools::ToolOutcome {
                            content: err.to_json(),
                            error: Some(err),
                            args: None,
                        }
                    }
                };
                (outcome.content, outcome.error)
            };
            if let Some(e) = error
                .as_ref()
                .filter(|e| e.kind == ToolErrorKind::Environment)
            {
                env_error.get_or_insert_with(|| format!("{name}: {}", e.message));
            }
            let text = truncate_json(&content);
            emit(Event::ToolResult {
                agent: run.agent.clone(),
                tool: name.clone(),
                size: text.len(),
                error: error.map(|e| e.message),
            });
            messages.push(Message::tool_result(call.id.clone(), name, text));
        }
        if let Some(f) = finished {
            let text = if f.summary.is_empty() {
                last_text.clone()
            } else {
                f.summary.clone()
            };
            break (f.success, FinishHow::Explicit, Some(f), text);
        }
    };

    let (success, how, finish, raw_text) = outcome;
    emit(Event::AgentFinish {
        agent: run.agent.clone(),
        success,
        turns,
        how: format!("{how:?}").to_lowercase(),
    });
    AgentResult {
        agent: run.agent.clone(),
        success,
        how,
        finish,
        raw_text,
        turns,
        usage,
        environment_error: env_error,
        transcript: Transcript {
            agent: run.agent,
            model: run.model_id,
            temperature: run.temperature,
            started_at,
            ended_at: chrono::Utc::now().to_rfc3339(),
            messages,
        },
    }
}

fn truncate_json(v: &Value) -> String {
    let s = v.to_string();
    if s.len() <= MAX_TOOL_RESULT_BYTES {
        return s;
    }
    let mut end = MAX_TOOL_RESULT_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!(
        "{}… [truncated: {} of {} bytes shown]",
        &s[..end],
        end,
        s.len()
    )
}
