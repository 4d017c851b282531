//! A training set from the pipeline's own successes: the saved pipeline loops
//! ([`crate::saved`]) turned into chat records (`{"messages": [{"role", "content"}, …]}`, one
//! JSON object per line), for fine-tuning a model of our own (Gradients, SN56).
//!
//! What counts as a success worth learning from:
//! - the **planner**'s transcript of a loop that promoted a champion (a plan that led to it);
//! - the **codechecker**'s and **debugger**'s transcripts of a loop whose check stage succeeded
//!   (a check that caught a problem and the fix that passed it).
//!
//! Tool calls and results are kept as text (`<tool_call>{…}</tool_call>`, `[tool NAME result]
//! …`), so the records fit a plain chat template; consecutive turns of one role are merged, and
//! a record ends on an assistant turn. Pure: no file or network access.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Agents whose transcripts may be exported.
pub const EXPORTED_AGENTS: &[&str] = &["planner", "codechecker", "debugger"];

/// How records are cut.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportOptions {
    /// Agents to export (default [`EXPORTED_AGENTS`]).
    pub agents: Vec<String>,
    /// Longest message kept, in characters (longer ones are cut, marked `…`).
    pub max_chars: usize,
    /// Export planner transcripts only from loops that promoted a champion.
    pub planner_needs_promotion: bool,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            agents: EXPORTED_AGENTS.iter().map(|s| s.to_string()).collect(),
            max_chars: 8000,
            planner_needs_promotion: true,
        }
    }
}

/// One chat turn of a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatTurn {
    /// `system`, `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
}

/// One training record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// The turns, system first, ending on the assistant.
    pub messages: Vec<ChatTurn>,
}

/// Where a record came from (kept beside the set, not in it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordSource {
    /// Pipeline run id.
    pub run_id: String,
    /// Loop number.
    pub loop_n: u64,
    /// The agent.
    pub agent: String,
    /// Why it was selected.
    pub reason: &'static str,
}

/// Whether a saved loop promoted a champion: its final state names one, or a
/// `register_champion` result in a transcript says `promoted: true`.
pub fn promoted(record: &Value) -> bool {
    let report = &record["report"];
    let state = &report["state"];
    if state["champion"].is_object() && state["promoted"].as_bool() != Some(false) {
        return true;
    }
    report["transcripts"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|t| t["messages"].as_array().into_iter().flatten())
        .filter(|m| m["role"] == "tool" && m["name"] == "register_champion")
        .filter_map(|m| m["content"].as_str())
        .filter_map(|c| serde_json::from_str::<Value>(c).ok())
        .any(|v| v["promoted"].as_bool() == Some(true) && v["champion"].is_object())
}

fn stage_ok(record: &Value, agent: &str) -> bool {
    record["report"]["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["success"].as_bool() == Some(true)
                && (s["agent"] == agent
                    || s["name"] == agent
                    || (agent != "planner" && s["name"] == "check"))
        })
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

/// The turns of one transcript as plain chat, or `None` when it has no assistant answer.
pub fn chat_of(transcript: &Value, max_chars: usize) -> Option<TrainingRecord> {
    let mut out: Vec<ChatTurn> = Vec::new();
    for m in transcript["messages"].as_array()? {
        let role = m["role"].as_str().unwrap_or("");
        let text = m["content"].as_str().unwrap_or("").trim().to_string();
        let (role, content) = match role {
            "system" | "user" => (role, text),
            "assistant" => {
                let mut t = text;
                for c in m["tool_calls"].as_array().into_iter().flatten() {
                    let f = &c["function"];
                    let call = json!({"name": f["name"], "arguments": f["arguments"]});
                    if !t.is_empty() {
                        t.push('\n');
                    }
                    t.push_str(&format!("<tool_call>{call}</tool_call>"));
                }
                ("assistant", t)
            }
            "tool" => (
                "user",
                format!(
                    "[tool {} result]\n{text}",
                    m["name"].as_str().unwrap_or("?")
                ),
            ),
            _ => continue,
        };
        if content.is_empty() {
            continue;
        }
        let content = cut(&content, max_chars);
        match out.last_mut() {
            Some(last) if last.role == role => {
                last.content.push_str("\n\n");
                last.content.push_str(&content);
            }
            _ => out.push(ChatTurn {
                role: role.to_string(),
                content,
            }),
        }
    }
    while out.last().is_some_and(|t| t.role != "assistant") {
        out.pop();
    }
    let has_user = out.iter().any(|t| t.role == "user");
    (has_user && !out.is_empty()).then_some(TrainingRecord { messages: out })
}

/// The records of one saved loop (`{"loop", "report": {run_id, stages, state, transcripts}}`),
/// with where each came from. For each selected agent the loop's last transcript is taken (the
/// attempt that ended the stage).
pub fn records_of_loop(
    record: &Value,
    opts: &ExportOptions,
) -> Vec<(TrainingRecord, RecordSource)> {
    let report = &record["report"];
    let run_id = report["run_id"].as_str().unwrap_or("").to_string();
    let loop_n = record["loop"].as_u64().unwrap_or(1);
    let is_promoted = promoted(record);
    let mut out = Vec::new();
    let transcripts: Vec<&Value> = report["transcripts"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for agent in &opts.agents {
        let reason = match agent.as_str() {
            "planner" if is_promoted => "plan that led to a promoted champion",
            "planner" if !opts.planner_needs_promotion && stage_ok(record, agent) => {
                "successful plan"
            }
            "planner" => continue,
            a if stage_ok(record, a) => "check or fix that passed",
            _ => continue,
        };
        let Some(t) = transcripts
            .iter()
            .rev()
            .find(|t| t["agent"] == agent.as_str())
        else {
            continue;
        };
        if let Some(r) = chat_of(t, opts.max_chars) {
            out.push((
                r,
                RecordSource {
                    run_id: run_id.clone(),
                    loop_n,
                    agent: agent.clone(),
                    reason,
                },
            ));
        }
    }
    out
}

/// The records as JSONL (one `{"messages": …}` per line).
pub fn to_jsonl(records: &[TrainingRecord]) -> String {
    let mut s = String::new();
    for r in records {
        if let Ok(line) = serde_json::to_string(r) {
            s.push_str(&line);
            s.push('\n');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript(agent: &str) -> Value {
        json!({"agent": agent, "model": "m", "messages": [
            {"role": "system", "content": "ROLE: X"},
            {"role": "user", "content": "Plan for BTC 5m"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "1", "type": "function", "function": {"name": "list_blocks", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "1", "name": "list_blocks", "content": "{\"blocks\":[\"gru\"]}"},
            {"role": "assistant", "content": "Done."},
            {"role": "user", "content": "dangling"}
        ]})
    }

    fn record(promoted_champion: bool, check_ok: bool) -> Value {
        json!({"loop": 2, "report": {
            "run_id": "20261206-1", "success": true,
            "stages": [{"name": "planner", "agent": "planner", "success": true},
                       {"name": "check", "agent": "codechecker", "success": check_ok}],
            "state": if promoted_champion { json!({"champion": {"run_id": "r1"}}) } else { json!({}) },
            "transcripts": [transcript("planner"), transcript("codechecker"), transcript("debugger")]
        }})
    }

    #[test]
    fn only_successes_are_exported_as_plain_chat() {
        let o = ExportOptions::default();
        let recs = records_of_loop(&record(true, true), &o);
        let agents: Vec<&str> = recs.iter().map(|(_, s)| s.agent.as_str()).collect();
        assert_eq!(agents, ["planner", "codechecker", "debugger"]);
        let m = &recs[0].0.messages;
        let roles: Vec<&str> = m.iter().map(|t| t.role.as_str()).collect();
        assert_eq!(roles, ["system", "user", "assistant", "user", "assistant"]);
        assert!(m[2].content.contains("<tool_call>"));
        assert!(m[3].content.starts_with("[tool list_blocks result]"));
        assert_eq!(
            m.last().unwrap().content,
            "Done.",
            "the dangling user turn is dropped"
        );

        assert!(records_of_loop(&record(false, false), &o).is_empty());
        let only_checks = records_of_loop(&record(false, true), &o);
        assert_eq!(only_checks.len(), 2, "no promotion: no planner record");

        let jsonl = to_jsonl(&recs.iter().map(|(r, _)| r.clone()).collect::<Vec<_>>());
        assert_eq!(jsonl.lines().count(), 3);
        let back: TrainingRecord = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
        assert_eq!(back, recs[0].0);
    }

    #[test]
    fn promotion_is_read_from_register_champion_results_too() {
        let mut r = record(false, true);
        r["report"]["transcripts"][0]["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "tool", "name": "register_champion",
                         "content": "{\"promoted\":true,\"champion\":{\"run_id\":\"r9\"}}"}));
        assert!(promoted(&r));
        assert!(!promoted(&record(false, true)));
        let long = json!({"messages": [{"role": "user", "content": "x".repeat(50)},
                                       {"role": "assistant", "content": "y".repeat(50)}]});
        let c = chat_of(&long, 10).unwrap();
        assert_eq!(c.messages[1].content.chars().count(), 11);
        assert!(chat_of(
            &json!({"messages": [{"role": "user", "content": "hi"}]}),
            10
        )
        .is_none());
    }
}
