//! The service tools run by the agent engine: a scripted model calls `web_search`, which asks a
//! Desearch stub on 127.0.0.1 (the production client), and the hits reach the model.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use agents::agent::{run_agent, AgentRun};
use agents::tools::{search_tools_with, FinishTool};
use agents::{LlmClient, ToolRegistry, UsageMeter};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use services::desearch::Desearch;
use services::http::HttpSettings;
use services::Secret;

use crate::llm_server::{config, tool_call, Server};

async fn desearch_stub(seen: Arc<Mutex<Vec<Value>>>) -> String {
    let app = Router::new().route(
        "/desearch/ai/search",
        post(move |headers: HeaderMap, Json(body): Json<Value>| {
            let seen = seen.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("ds-key") {
                    return (StatusCode::UNAUTHORIZED, "bad key").into_response();
                }
                seen.lock().unwrap().push(body);
                let mut h = HeaderMap::new();
                h.insert("x-desearch-cost-usd", "0.004".parse().unwrap());
                (h, Json(json!({
                    "tweets": [{"id": "7", "text": "SOL perps listed on a major exchange", "created_at": "2026-12-06T08:00:00Z",
                                "like_count": 1, "retweet_count": 0, "reply_count": 0, "quote_count": 0, "bookmark_count": 0,
                                "user": {"id": "1", "username": "newsbot"}}],
                    "search": [{"title": "Listing", "snippet": "Exchange lists SOL", "link": "https://news.example/sol"}]
                })))
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

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
async fn the_planner_sees_search_hits_and_bad_arguments_come_back_as_json() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = desearch_stub(seen.clone()).await;
    let settings = HttpSettings {
        timeout: Duration::from_secs(5),
        ..Desearch::default_settings()
    };
    let client = Desearch::new(&base, Secret::new("ds-key"), settings).unwrap();
    let mut tools = ToolRegistry::new();
    for t in search_tools_with(client.clone()) {
        tools.register_arc(t);
    }
    let server = Server::start(
        vec![
            tool_call("c1", "web_search", r#"{"query":"SOL news","sources":"twitter,web","since":"12h","limit":"5"}"#),
            tool_call("c2", "web_search", r#"{"query":"SOL news","sources":"myspace"}"#),
            tool_call(
                "c3",
                "finish",
                r#"{"success":true,"summary":"saw a listing","result":{"cited":["https://news.example/sol"]}}"#,
            ),
        ],
        None,
    )
    .await;
    let llm = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(AgentRun {
        agent: "planner".into(),
        model: &llm,
        model_id: "scripted-model".into(),
        system_prompt: "You plan.".into(),
        context: vec![],
        user_message: "What is moving SOL?".into(),
        tools,
        finish: FinishTool::new(json!({"type":"object","required":["cited"]})),
        temperature: 0.2,
        max_turns: 5,
        bus: None,
    })
    .await;
    assert!(r.success, "{:?}", r.raw_text);
    assert_eq!(r.environment_error, None);

    // The tool's arguments were coerced ("5" → 5) and reached the service as documented.
    let sent = seen.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "the bad call never reached the service");
    assert_eq!(sent[0]["tools"], json!(["twitter", "web"]));
    assert_eq!(sent[0]["prompt"], "SOL news");

    let reqs = server.requests();
    let msgs = tool_messages(&reqs[2]);
    let (name, hits) = &msgs[0];
    assert_eq!(name, "web_search");
    assert_eq!(hits["count"], 2);
    assert_eq!(hits["cost_usd"], 0.004);
    let urls: Vec<&str> = hits["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["url"].as_str().unwrap())
        .collect();
    assert!(urls.contains(&"https://news.example/sol"));
    let tweet = hits["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["source"] == "twitter")
        .unwrap();
    assert_eq!(tweet["author"], "newsbot");
    assert_eq!(tweet["time"], "2026-12-06T08:00:00Z");
    assert_eq!(msgs[1].1["error_type"], "invalid_arguments");
    assert!(msgs[1].1["error"].as_str().unwrap().contains("myspace"));
    assert_eq!(client.spent().calls, 1);
}

#[tokio::test]
async fn the_planner_reads_the_social_data_summaries() {
    use agents::tools::social::social_tools_at;
    use services::data_universe::{posts_to_parquet, SocialPost, SocialStore};

    let dir = tempfile::tempdir().unwrap();
    let posts: Vec<SocialPost> = (0..4)
        .map(|i| SocialPost {
            datetime: Some(format!("2026-12-0{}T12:00:00Z", i + 1)),
            source: "x".into(),
            username: Some(format!("u{i}")),
            text: format!("$SOL listing rumour {i} #solana"),
            likes: Some(10 * i),
            ..SocialPost::default()
        })
        .collect();
    SocialStore::new(dir.path())
        .write_parquet(
            "ondemand-20261206",
            "posts",
            &posts_to_parquet(&posts).unwrap(),
        )
        .unwrap();
    let mut tools = ToolRegistry::new();
    for t in social_tools_at(dir.path().to_path_buf()) {
        tools.register_arc(t);
    }
    let server = Server::start(
        vec![
            tool_call("c1", "social_data", r#"{"limit":"3"}"#),
            tool_call("c2", "social_data", r#"{"file":"../../etc/passwd"}"#),
            tool_call(
                "c3",
                "finish",
                r#"{"success":true,"summary":"read it","result":{"cited":[]}}"#,
            ),
        ],
        None,
    )
    .await;
    let llm = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(AgentRun {
        agent: "planner".into(),
        model: &llm,
        model_id: "scripted-model".into(),
        system_prompt: "You plan.".into(),
        context: vec![],
        user_message: "What does social data say about SOL?".into(),
        tools,
        finish: FinishTool::new(json!({"type":"object","required":["cited"]})),
        temperature: 0.2,
        max_turns: 5,
        bus: None,
    })
    .await;
    assert!(r.success, "{:?}", r.raw_text);
    let msgs = tool_messages(&server.requests()[2]);
    let (name, v) = &msgs[0];
    assert_eq!(name, "social_data");
    assert_eq!(v["files_total"], 1);
    let f = &v["files"][0];
    assert_eq!(f["file"], "ondemand-20261206/posts.parquet");
    assert_eq!(f["rows"], 4);
    assert_eq!(f["top_tags"][0][0], "#solana");
    assert_eq!(f["top_posts"][0]["likes"], 30);
    assert!(
        msgs[1].1["error"].as_str().unwrap().contains("not a safe"),
        "{:?}",
        msgs[1].1
    );
}
