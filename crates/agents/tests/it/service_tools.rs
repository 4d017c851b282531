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
    // The report cites what the agent saw: the hits, from its transcript.
    let seen = agents::tools::search::sources_seen(std::slice::from_ref(&r.transcript));
    let urls: Vec<&str> = seen.iter().map(|s| s.url.as_str()).collect();
    assert!(urls.contains(&"https://news.example/sol"), "{urls:?}");
    assert!(seen.iter().all(|s| s.agent == "planner"));
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

/// A Gradients stub (Bearer key, submit → id, a task that has succeeded, delete) and the Chutes
/// model list under `/v1/models`, on one loopback port.
async fn gradients_and_chutes_stub(seen: Arc<Mutex<Vec<String>>>) -> String {
    use axum::extract::Path;
    use axum::routing::{delete, get};
    let authed = |h: &HeaderMap| {
        h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer grad-key")
    };
    let (s1, s2, s3) = (seen.clone(), seen.clone(), seen);
    let app = Router::new()
        .route(
            "/v1/tasks/{kind}",
            post(
                move |Path(kind): Path<String>, h: HeaderMap, Json(b): Json<Value>| {
                    let seen = s1.clone();
                    async move {
                        if !authed(&h) {
                            return (
                                StatusCode::UNAUTHORIZED,
                                Json(json!({"detail": "Invalid API key"})),
                            )
                                .into_response();
                        }
                        seen.lock()
                            .unwrap()
                            .push(format!("submit {kind} {}", b["model_repo"]));
                        Json(json!({"success": true, "task_id": "gt-9"})).into_response()
                    }
                },
            )
            .get(move |Path(id): Path<String>, h: HeaderMap| {
                let seen = s2.clone();
                async move {
                    if !authed(&h) {
                        return StatusCode::UNAUTHORIZED.into_response();
                    }
                    seen.lock().unwrap().push(format!("status {id}"));
                    Json(json!({"id": id, "status": "success",
                                "trained_model_repository": "gradients-io/planner-v3"}))
                    .into_response()
                }
            }),
        )
        .route(
            "/v1/tasks/delete/{id}",
            delete(move |Path(id): Path<String>| {
                let seen = s3.clone();
                async move {
                    seen.lock().unwrap().push(format!("delete {id}"));
                    Json(json!({"success": true}))
                }
            }),
        )
        .route(
            "/v1/models",
            get(|| async {
                Json(json!({"data": [
                    {"id": "zai-org/GLM-5.2-TEE", "supported_features": ["tools", "reasoning"],
                     "context_length": 202752, "pricing": {"prompt": 0.4, "completion": 1.6}},
                    {"id": "small/plain", "context_length": "8192"}]}))
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test]
async fn an_agent_lists_chutes_models_and_submits_follows_and_cancels_a_gradients_job() {
    use agents::tools::chutes::chutes_tools_with;
    use agents::tools::gradients::gradients_tools_with;
    use services::chutes::Chutes;
    use services::gradients::{Gradients, JobStore};

    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = gradients_and_chutes_stub(seen.clone()).await;
    let settings = HttpSettings {
        timeout: Duration::from_secs(5),
        ..HttpSettings::default()
    };
    let grad = Gradients::new(&base, Secret::new("grad-key"), settings.clone()).unwrap();
    let chutes = Chutes::new(format!("{base}/v1"), None, settings).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tools = ToolRegistry::new();
    for t in gradients_tools_with(grad, dir.path().to_path_buf())
        .into_iter()
        .chain(chutes_tools_with(chutes))
    {
        tools.register_arc(t);
    }
    let server = Server::start(
        vec![
            tool_call("c1", "chutes_models", r#"{"feature":"tools"}"#),
            tool_call(
                "c2",
                "gradients_submit",
                r#"{"base_model":"Qwen/Qwen2.5-7B-Instruct","dataset":"me/plans","hours":"2"}"#,
            ),
            tool_call("c3", "gradients_status", r#"{}"#),
            tool_call("c4", "gradients_cancel", r#"{"task_id":"gt-9"}"#),
            tool_call(
                "c5",
                "gradients_submit",
                r#"{"base_model":"x","dataset":"me/plans"}"#,
            ),
            tool_call(
                "c6",
                "finish",
                r#"{"success":true,"summary":"tuned","result":{"cited":[]}}"#,
            ),
        ],
        None,
    )
    .await;
    let llm = LlmClient::new(config(&server), UsageMeter::default()).unwrap();
    let r = run_agent(AgentRun {
        agent: "agentdesigner".into(),
        model: &llm,
        model_id: "scripted-model".into(),
        system_prompt: "You design agents.".into(),
        context: vec![],
        user_message: "Fine-tune a planner and pick its model.".into(),
        tools,
        finish: FinishTool::new(json!({"type":"object","required":["cited"]})),
        temperature: 0.2,
        max_turns: 8,
        bus: None,
    })
    .await;
    assert!(r.success, "{:?}", r.raw_text);
    assert_eq!(r.environment_error, None);
    let msgs = tool_messages(&server.requests()[5]);
    let by_name = |n: &str| -> Vec<Value> {
        msgs.iter()
            .filter(|(name, _)| name == n)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let models = &by_name("chutes_models")[0];
    assert_eq!(models["count"], 1, "{models}");
    assert_eq!(models["models"][0]["id"], "zai-org/GLM-5.2-TEE");
    assert_eq!(models["models"][0]["usd_per_1m_out"], 1.6);
    assert_eq!(models["recommended"]["tools"], "zai-org/GLM-5.2-TEE");
    let submits = by_name("gradients_submit");
    assert_eq!(submits[0]["task_id"], "gt-9");
    assert_eq!(submits[0]["kept"], true);
    assert_eq!(
        submits[1]["error_type"], "invalid_arguments",
        "{}",
        submits[1]
    );
    let status = &by_name("gradients_status")[0];
    assert_eq!(status["task"]["task_id"], "gt-9", "the job submitted last");
    assert_eq!(status["done"], true);
    assert!(status["use_it"]
        .as_str()
        .unwrap()
        .contains("gradients-io/planner-v3"));
    assert_eq!(by_name("gradients_cancel")[0]["cancelled"], "gt-9");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![
            "submit create_chat \"Qwen/Qwen2.5-7B-Instruct\"".to_string(),
            "status gt-9".into(),
            "delete gt-9".into(),
        ],
        "the bad submit never reached the service"
    );
    // The job is kept: a new store (a restart, the CLI) sees it and its last state.
    let jobs = JobStore::new(dir.path()).jobs().unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].by.as_deref(), Some("agent"));
    assert_eq!(jobs[0].status.as_deref(), Some("cancelled"));
    assert_eq!(
        jobs[0].trained_model.as_deref(),
        Some("gradients-io/planner-v3")
    );
}

#[test]
fn without_a_key_the_gradients_tools_say_what_to_set() {
    if std::env::var_os("GRADIENTS_API_KEY").is_some() {
        println!("SKIP: GRADIENTS_API_KEY is set in this environment");
        return;
    }
    let t = agents::tools::gradients::gradients_tools()
        .into_iter()
        .find(|t| t.name() == "gradients_cancel")
        .unwrap();
    let e = t.call(json!({"task_id": "t-1"})).unwrap_err();
    assert_eq!(
        e.message,
        "Gradients is not configured: set GRADIENTS_API_KEY (in the environment or .env)",
        "the CLI's words"
    );
    // Every service tool is in the catalogue agent definitions may list.
    let names = agents::tools::catalogue_names();
    for n in [
        "gradients_submit",
        "gradients_status",
        "gradients_cancel",
        "chutes_models",
    ] {
        assert!(names.contains(n), "{n}");
    }
}

#[tokio::test]
async fn an_agent_collects_social_data_on_demand_and_reads_it_back() {
    use agents::tools::social::social_tools_with;
    use services::data_universe::{DataUniverse, SocialStore};

    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let app = Router::new().route(
        "/sn13.v1.Sn13Service/OnDemandData",
        post(move |h: HeaderMap, Json(b): Json<Value>| {
            let seen = s.clone();
            async move {
                if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer mc-key") {
                    return (StatusCode::UNAUTHORIZED, "bad key").into_response();
                }
                seen.lock().unwrap().push(b);
                Json(json!({"status": "success", "data": [
                    {"datetime": "2026-12-06T09:00:00Z", "source": "X", "text": "$SOL listed #solana",
                     "uri": "https://x.com/a/status/1", "user": {"username": "a"}, "tweet": {"like_count": 9}},
                    {"datetime": "2026-12-06T10:00:00Z", "source": "X", "text": "$SOL pumps",
                     "user": {"username": "b"}, "tweet": {"like_count": 2}}]}))
                .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let settings = HttpSettings {
        timeout: Duration::from_secs(5),
        ..HttpSettings::default()
    };
    let client = DataUniverse::new(&base, Secret::new("mc-key"), settings).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut tools = ToolRegistry::new();
    for t in social_tools_with(client, dir.path().to_path_buf()) {
        tools.register_arc(t);
    }
    let server = Server::start(
        vec![
            tool_call(
                "c1",
                "social_collect",
                r#"{"keywords":"$SOL, listing","limit":"50"}"#,
            ),
            tool_call("c2", "social_collect", r#"{"keywords":"a,b,c,d,e,f"}"#),
            tool_call("c3", "social_data", r#"{}"#),
            tool_call(
                "c4",
                "finish",
                r#"{"success":true,"summary":"collected","result":{"cited":[]}}"#,
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
        user_message: "What do people say about SOL?".into(),
        tools,
        finish: FinishTool::new(json!({"type":"object","required":["cited"]})),
        temperature: 0.2,
        max_turns: 6,
        bus: None,
    })
    .await;
    assert!(r.success, "{:?}", r.raw_text);
    let msgs = tool_messages(&server.requests()[3]);
    let got = &msgs[0].1;
    assert_eq!(msgs[0].0, "social_collect");
    assert_eq!(got["posts"], 2, "{got}");
    assert_eq!(got["top_tags"][0][0], "$SOL");
    assert_eq!(got["top_posts"][0]["likes"], 9);
    assert_eq!(
        msgs[1].1["error_type"], "invalid_arguments",
        "{}",
        msgs[1].1
    );
    let sent = seen.lock().unwrap().clone();
    assert_eq!(sent.len(), 1, "the bad query never reached the service");
    assert_eq!(sent[0]["keywords"], json!(["$SOL", "listing"]));
    assert_eq!(sent[0]["limit"], 50);
    // Kept: the task record and its Parquet file, which social_data then reads.
    let store = SocialStore::new(dir.path());
    let tasks = store.tasks().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        tasks[0].files,
        vec![got["file"].as_str().unwrap().to_string()]
    );
    assert_eq!(msgs[2].1["files"][0]["rows"], 2);
}
