//! The agent loop against scripted conversations: coercion, malformed arguments, unknown tools,
//! implicit finish, turn cap, finish validation.

use agents::agent::{run_agent, AgentRun, FinishHow};
use agents::tools::{fn_tool, object_schema, FinishTool};
use agents::{LlmClient, ToolRegistry, UsageMeter};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::llm_server::{config, text, tool_call, Server};

#[derive(Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

fn tools() -> ToolRegistry {
    let mut r = ToolRegistry::new();
    r.register(fn_tool(
        "add",
        "Adds a and b.",
        object_schema(
            &[
                ("a", json!({"type":"integer"})),
                ("b", json!({"type":"integer"})),
            ],
            &["a", "b"],
        ),
        |x: Add| Ok(json!({"sum": x.a + x.b})),
    ));
    r
}

fn run<'a>(client: &'a LlmClient, max_turns: u32) -> AgentRun<'a> {
    AgentRun {
        agent: "tester".into(),
        model: client,
        model_id: "scripted-model".into(),
        system_prompt: "You add numbers.".into(),
        context: vec!["## Task state\n```json\n{\"x\":1}\n```".into()],
        user_message: "Add 2 and 3.".into(),
        tools: tools(),
        finish: FinishTool::new(
            json!({"type":"object","required":["sum"],"properties":{"sum":{"type":"integer"}}}),
        ),
        temperature: 0.3,
        max_turns,
        bus: None,
    }
}

/// The tool-result messages of a request body, as (name, parsed content).
fn tool_messages(req: &Value) -> Vec<(String, Value)> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                serde_json::from_str(m["content"].as_str().unwrap()).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn string_typed_malformed_and_unknown_calls_get_json_answers() {
    let server = Server::start(
        vec![
            tool_call("c1", "add", r#"{"a":"2","b":"3"}"#),
            tool_call("c2", "add", r#"{"a": 2, "b": "#),
            tool_call("c3", "multiply", r#"{"a":2}"#),
            // A finish that misses the schema is rejected, then repaired.
            tool_call("c4", "finish", r#"{"success":true,"result":{"total":5}}"#),
            tool_call(
                "c5",
                "finish",
                r#"{"success":"true","summary":"2+3","result":"{\"sum\": 5}"}"#,
            ),
        ],
        None,
    )
    .await;
    let client = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(run(&client, 10)).await;
    assert!(r.success);
    assert_eq!(r.how, FinishHow::Explicit);
    assert_eq!(r.result(), &json!({"sum": 5}));
    assert_eq!(r.turns, 5);
    assert_eq!(r.usage.calls, 5);
    assert_eq!(r.usage.prompt_tokens, 50);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 5);
    // Every request offers the tool and `finish`, and carries the context message.
    let names: Vec<&str> = reqs[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["add", "finish"]);
    assert_eq!(
        reqs[0]["messages"][1]["content"],
        "## Task state\n```json\n{\"x\":1}\n```"
    );
    let last = tool_messages(&reqs[4]);
    assert_eq!(last[0], ("add".to_string(), json!({"sum": 5})));
    assert_eq!(last[1].1["error_type"], "invalid_arguments");
    assert!(last[1].1["error"]
        .as_str()
        .unwrap()
        .contains("not a JSON object"));
    assert!(last[2].1["error"]
        .as_str()
        .unwrap()
        .starts_with("Unknown tool: multiply"));
    assert_eq!(last[3].1["error"], "finish: `result.sum` is required");
    // The transcript keeps the whole conversation: system, context, task, 5 assistant turns, 5 tool results.
    assert_eq!(r.transcript.messages.len(), 13);
    let t: agents::Transcript =
        serde_json::from_value(serde_json::to_value(&r.transcript).unwrap()).unwrap();
    assert_eq!(t, r.transcript);
}

#[tokio::test]
async fn a_model_that_only_chats_finishes_implicitly_after_one_reminder() {
    let server = Server::start(
        vec![text("I think the answer is 5."), text("{\"sum\": 5}")],
        None,
    )
    .await;
    let client = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(run(&client, 10)).await;
    assert_eq!(r.how, FinishHow::Implicit);
    assert!(r.success);
    assert_eq!(r.result(), &json!({"sum": 5}));
    assert_eq!(r.turns, 2);
    let second = &server.requests()[1];
    let msgs = second["messages"].as_array().unwrap();
    assert!(msgs.last().unwrap()["content"]
        .as_str()
        .unwrap()
        .contains("call `finish`"));
}

#[tokio::test]
async fn a_model_that_never_calls_finish_hits_the_turn_cap() {
    let server = Server::start(vec![], Some(tool_call("c", "add", r#"{"a":1,"b":1}"#))).await;
    let client = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(run(&client, 3)).await;
    assert_eq!(r.how, FinishHow::MaxTurns);
    assert!(!r.success);
    assert_eq!(r.turns, 3);
    assert_eq!(server.requests().len(), 3);
    assert!(r.raw_text.contains("max turns (3)"));
}

#[tokio::test]
async fn all_calls_of_a_turn_run_before_finish_is_honoured() {
    let both = crate::llm_server::Reply::Message(
        json!({"role":"assistant","content":"done","tool_calls":[
        {"id":"a","type":"function","function":{"name":"finish","arguments":"{\"success\":true,\"result\":{\"sum\":7}}"}},
        {"id":"b","type":"function","function":{"name":"add","arguments":"{\"a\":3,\"b\":4}"}}]}),
    );
    let server = Server::start(vec![both], None).await;
    let client = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(run(&client, 3)).await;
    assert_eq!(r.how, FinishHow::Explicit);
    let tool_results: Vec<&agents::llm::Message> = r
        .transcript
        .messages
        .iter()
        .filter(|m| m.role == agents::llm::Role::Tool)
        .collect();
    assert_eq!(tool_results.len(), 2);
    assert_eq!(tool_results[1].content.as_deref(), Some(r#"{"sum":7}"#));
}
