//! Agents that write agents: definitions stored as data and used at once, the AgentDesigner,
//! PipelineArchitect and Author driven by a scripted LLM over HTTP, guidance, the evolution,
//! and the Publisher's Moltbook announcement against a stub.

use std::sync::{Arc, Mutex};

use agents::agent::{run_agent, AgentRun};
use agents::defs::{AgentDef, DefStore, PromptDef};
use agents::evolve::{run_evolution, EvolveOptions};
use agents::pipeline::{PipelineDef, Position, StageSpec};
use agents::planner::BuiltinBrains;
use agents::tools::announce::Announcer;
use agents::tools::{toolbox, Budget, FinishTool, Session};
use agents::{run_pipeline, Event, EventBus, LlmClient, PipelineOptions, UsageMeter};
use research::Archive;
use serde_json::{json, Value};

use crate::fake_backend::FakeBackend;
use crate::llm_server::{config, tool_call, Server};

fn store(dir: &tempfile::TempDir, owner: &str) -> DefStore {
    let archive = Archive::open(dir.path(), None).unwrap();
    DefStore::new(Arc::new(archive), owner)
}

fn scout(name: &str, tools: &[&str]) -> AgentDef {
    AgentDef {
        name: name.into(),
        purpose: "plans only recurrent models".into(),
        system_prompt: "ROLE: Scout. Propose recurrent models only.".into(),
        tools: tools.iter().map(|t| t.to_string()).collect(),
        model: Some("scout-model".into()),
        temperature: Some(0.4),
        max_turns: Some(8),
        prompts: vec!["sn50-notes".into()],
        reads: vec![],
        writes: vec![],
        based_on: Some("planner".into()),
        default_message: None,
    }
}

#[test]
fn definitions_are_validated_versioned_owned_and_resolved_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let a = store(&dir, "bot-a");
    // A prompt it names must exist first; an unknown tool is refused, naming it.
    let e = a
        .put_agent(&scout("scout", &["propose_experiments"]))
        .unwrap_err();
    assert!(e.message.contains("sn50-notes"), "{}", e.message);
    a.put_prompt(&PromptDef {
        name: "sn50-notes".into(),
        text: "CRPS is the only metric.".into(),
        description: String::new(),
    })
    .unwrap();
    let e = a.put_agent(&scout("scout", &["rm_rf"])).unwrap_err();
    assert!(e.message.contains("unknown rm_rf"), "{}", e.message);
    let e = a.put_agent(&scout("planner", &[])).unwrap_err();
    assert!(e.message.contains("built-in"), "{}", e.message);
    let v1 = a
        .put_agent(&scout("scout", &["propose_experiments"]))
        .unwrap();
    let v2 = a
        .put_agent(&scout("scout", &["propose_experiments", "list_heads"]))
        .unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_ne!(v1.hash, v2.hash);
    // Another bot can read it but not change it.
    let b = a.as_owner("bot-b");
    let e = b.put_agent(&scout("scout", &[])).unwrap_err();
    assert!(e.message.contains("belongs to bot-a"), "{}", e.message);
    let book = b.book().unwrap();
    let s = book.get("scout").unwrap();
    assert_eq!(s.tools, ["propose_experiments", "list_heads"]);
    assert!(s.system_prompt.contains("CRPS is the only metric."));
    assert_eq!(s.writes, ["plan"], "based_on planner: writes the plan");
    assert_eq!(s.stored, Some(("bot-a".into(), 2)));
    // A pipeline naming it validates now; one naming a missing agent does not.
    let mut def = PipelineDef::default();
    def.stages[0].agent = "scout".into();
    a.put_pipeline("scouted", &def).unwrap();
    def.stages[0].agent = "ghost".into();
    let e = a.put_pipeline("ghostly", &def).unwrap_err();
    assert!(e.message.contains("unknown agent `ghost`"), "{}", e.message);
    assert!(a.pipeline("scouted").unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_agent_runs_as_a_pipeline_stage_offline() {
    let dir = tempfile::tempdir().unwrap();
    let defs = store(&dir, "local");
    defs.put_prompt(&PromptDef {
        name: "sn50-notes".into(),
        text: "Lower CRPS wins.".into(),
        description: String::new(),
    })
    .unwrap();
    defs.put_agent(&scout("scout", &["propose_experiments"]))
        .unwrap();
    let mut def = PipelineDef::default();
    def.stages[0] = StageSpec {
        name: "scouting".into(),
        agent: "scout".into(),
        position: Position::Plan,
        retry: false,
        optional: false,
        fixer: None,
        user_message: None,
        max_turns: None,
    };
    let backend = Arc::new(FakeBackend::default());
    let bus = EventBus::new("t", 4096);
    let opts = PipelineOptions {
        pipeline: Some(def),
        defs: Some(defs),
        max_experiments: Some(2),
        ..PipelineOptions::default()
    };
    let reports = run_pipeline(backend.clone(), Arc::new(BuiltinBrains), None, &opts, &bus)
        .await
        .unwrap();
    let r = &reports[0];
    assert!(r.success, "{:#?}", r.stages);
    assert_eq!(r.stages[0].name, "scouting");
    assert_eq!(r.transcripts[0].agent, "scout");
    // Its own system prompt and prompt fragment, and only its tools (+ finish).
    let sys = r.transcripts[0].messages[0].content.clone().unwrap();
    assert!(sys.contains("ROLE: Scout") && sys.contains("Lower CRPS wins."));
    assert_eq!(backend.runs.lock().unwrap().len(), 2);
}

fn tool_results(req: &Value) -> Vec<(String, Value)> {
    req["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                serde_json::from_str(m["content"].as_str().unwrap_or("null"))
                    .unwrap_or(Value::Null),
            )
        })
        .collect()
}

async fn run_role(
    server: &Server,
    role: &agents::roles::Role,
    defs: DefStore,
    backend: Arc<FakeBackend>,
) -> agents::AgentResult {
    let agent = agents::Agent::from_role(role);
    let session = Session::new(backend, None, Budget::default());
    let tools = toolbox(session, Some(defs)).subset(&agent.tools).unwrap();
    let client = LlmClient::new(config(server), UsageMeter::default()).unwrap();
    run_agent(AgentRun {
        agent: agent.name.clone(),
        model: &client,
        model_id: "scripted".into(),
        system_prompt: agent.system_prompt.clone(),
        context: vec![],
        user_message: "go".into(),
        tools,
        finish: FinishTool::new(agent.result_schema.clone()),
        temperature: 0.1,
        max_turns: 10,
        bus: None,
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_designer_repairs_a_refused_agent_and_stores_it() {
    let dir = tempfile::tempdir().unwrap();
    let defs = store(&dir, "bot-x");
    let bad = json!({"agent": {"name": "vol_scout", "system_prompt": "Watch volatility.", "tools": ["market_summary", "teleport"]}});
    let good = json!({"agent": {"name": "vol_scout", "purpose": "volatility", "system_prompt": "Watch volatility.", "tools": ["market_summary", "data_coverage"], "temperature": 0.2}});
    let server = Server::start(
        vec![
            tool_call("c1", "list_available_tools", "{}"),
            tool_call("c2", "write_agent", &bad.to_string()),
            tool_call("c3", "write_agent", &good.to_string()),
            tool_call(
                "c4",
                "finish",
                r#"{"success":true,"result":{"agent":"vol_scout","version":1}}"#,
            ),
        ],
        None,
    )
    .await;
    let r = run_role(
        &server,
        &agents::roles::AGENT_DESIGNER,
        defs.clone(),
        Arc::default(),
    )
    .await;
    assert!(r.success, "{}", r.raw_text);
    let last = tool_results(&server.requests()[3]);
    assert!(
        last[0].1["tool_count"].as_u64().unwrap() >= 30,
        "{}",
        last[0].1["tool_count"]
    );
    assert!(last[1].1["error"].as_str().unwrap().contains("teleport"));
    assert_eq!(last[2].1["stored"], true);
    let a = defs.book().unwrap();
    assert_eq!(a.get("vol_scout").unwrap().temperature, Some(0.2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pipeline_architect_composes_a_validated_stage_list() {
    let dir = tempfile::tempdir().unwrap();
    let defs = store(&dir, "bot-x");
    let bad = json!({"name": "lean", "pipeline": {"stages": [{"name": "p", "agent": "planner", "position": "plan"}, {"name": "t", "agent": "trainer", "position": "execute"}]}});
    let good = json!({"name": "lean", "pipeline": {"stages": [{"name": "p", "agent": "planner", "position": "plan"}, {"name": "t", "agent": "trainer", "position": "execute"}, {"name": "c", "agent": "codechecker", "position": "validate", "fixer": "debugger"}]}});
    let server = Server::start(
        vec![
            tool_call("c1", "get_pipeline", "{}"),
            tool_call("c2", "validate_pipeline", &bad.to_string()),
            tool_call("c3", "write_pipeline", &good.to_string()),
            tool_call(
                "c4",
                "finish",
                r#"{"success":true,"result":{"pipeline":"lean","stages":["p","t","c"]}}"#,
            ),
        ],
        None,
    )
    .await;
    let r = run_role(
        &server,
        &agents::roles::PIPELINE_ARCHITECT,
        defs.clone(),
        Arc::default(),
    )
    .await;
    assert!(r.success, "{}", r.raw_text);
    let last = tool_results(&server.requests()[3]);
    assert_eq!(last[0].1["pipeline"]["stages"].as_array().unwrap().len(), 4);
    assert_eq!(last[1].1["valid"], false);
    assert!(last[1].1["error"].as_str().unwrap().contains("Validate"));
    assert_eq!(last[2].1["version"], 1);
    assert_eq!(defs.pipeline("lean").unwrap().unwrap().stages.len(), 3);
}

const BLOCK: &str = r#"{"kind":"block","summary":"gated dilated conv","layers":[{"op":"residual","layers":[{"op":"conv1d","kernel":2,"dilation":2,"mult":2},{"op":"gate","kind":"tanh_sigmoid"}]},{"op":"norm"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_author_repairs_a_component_stores_it_and_tries_it() {
    let dir = tempfile::tempdir().unwrap();
    let defs = store(&dir, "bot-x");
    let broken = json!({"kind": "block", "definition": "{\"kind\":\"block\",\"layers\":[{\"op\":\"warp_drive\"}]}"});
    let write = json!({"name": "gated_dil", "kind": "block", "definition": BLOCK, "description": "gated dilated conv"});
    let spec = json!({"asset": "BTC", "timeframe": "5m", "blocks": ["revin", "gated_dil"], "head": "gbm", "epochs": 1, "max_windows": 256});
    let server = Server::start(
        vec![
            tool_call("c1", "check_component", &broken.to_string()),
            tool_call("c2", "check_component", &json!({"kind": "block", "definition": BLOCK}).to_string()),
            tool_call("c3", "write_component", &write.to_string()),
            tool_call("c4", "run_experiment", &json!({"experiment": spec}).to_string()),
            tool_call("c5", "finish", &json!({"success": true, "result": {"experiment": spec, "component": {"name": "gated_dil", "kind": "block"}}}).to_string()),
        ],
        None,
    )
    .await;
    let backend = Arc::new(FakeBackend::default());
    let r = run_role(
        &server,
        &agents::roles::AUTHOR,
        defs.clone(),
        backend.clone(),
    )
    .await;
    assert!(r.success, "{}", r.raw_text);
    let last = tool_results(&server.requests()[4]);
    assert_eq!(last[0].1["valid"], false, "{}", last[0].1);
    assert!(
        last[0].1["error"].as_str().unwrap().contains("warp_drive"),
        "{}",
        last[0].1
    );
    assert_eq!(last[1].1["valid"], true, "{}", last[1].1);
    assert_eq!(last[2].1["stored"], true, "{}", last[2].1);
    assert_eq!(last[2].1["use_in_spec"]["blocks"][0], "gated_dil");
    assert!(last[3].1["run"]["crps"].is_number());
    let c = defs
        .archive()
        .registry
        .component("bot-x", "gated_dil")
        .unwrap()
        .unwrap();
    assert_eq!(c.owner, "bot-x");
    // Another bot cannot overwrite it.
    let other = defs.as_owner("bot-y");
    let tools = toolbox(
        Session::new(Arc::new(FakeBackend::default()), None, Budget::default()),
        Some(other),
    );
    let out = tools.execute("write_component", &write.to_string());
    assert!(out.error.is_some(), "{}", out.content);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guidance_steers_the_builtin_planner_and_is_logged() {
    let backend = Arc::new(FakeBackend::default());
    let bus = EventBus::new("t", 4096);
    let mut rx = bus.subscribe();
    let opts = PipelineOptions {
        guidance: Some("Focus on the student-t head; avoid gru and mlp".into()),
        max_experiments: Some(4),
        ..PipelineOptions::default()
    };
    let reports = run_pipeline(backend.clone(), Arc::new(BuiltinBrains), None, &opts, &bus)
        .await
        .unwrap();
    assert!(reports[0].success, "{:#?}", reports[0].stages);
    let runs = backend.runs.lock().unwrap().clone();
    assert!(!runs.is_empty());
    for r in &runs {
        assert_eq!(r.spec.head, "student_t");
        assert!(
            !r.spec.blocks.iter().any(|b| b == "gru" || b == "mlp"),
            "{:?}",
            r.spec.blocks
        );
    }
    let mut logged = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::Log { message, .. } = e.event {
            logged.push(message);
        }
    }
    assert!(
        logged.iter().any(|m| m.contains("guidance understood")
            && m.contains("focus on student_t")
            && m.contains("avoid gru, mlp")),
        "{logged:?}"
    );
    let plan = &reports[0].state["plan"]["rationale"];
    assert!(plan.as_str().unwrap().contains("Guidance"), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evolution_without_an_llm_mutates_parameters_and_records_lineage() {
    let backend = Arc::new(FakeBackend::default());
    let bus = EventBus::new("evo", 4096);
    let mut rx = bus.subscribe();
    let opts = EvolveOptions {
        generations: 2,
        population: 4,
        ..EvolveOptions::default()
    };
    let rep = run_evolution(backend.clone(), Arc::new(BuiltinBrains), &opts, &bus)
        .await
        .unwrap();
    assert!(rep.mutator.contains("parameters only"), "{}", rep.mutator);
    // 4 initial + 2 children per later generation (the best 2 survive).
    assert_eq!(rep.candidates.len(), 8);
    assert_eq!(rep.survivors.len(), 3);
    for c in rep.candidates.iter().filter(|c| c.generation > 0) {
        let p = rep
            .candidates
            .iter()
            .find(|x| Some(&x.id) == c.parent.as_ref())
            .expect("parent recorded");
        assert_eq!(
            (&c.spec.blocks, &c.spec.head),
            (&p.spec.blocks, &p.spec.head),
            "parameters only"
        );
        assert!(!c.mutation.is_empty());
    }
    let best = rep.best.clone().unwrap();
    let min = rep
        .candidates
        .iter()
        .filter_map(|c| c.crps)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(best.crps, Some(min));
    assert_eq!(rep.promotion.as_ref().unwrap()["promoted"], true);
    assert_eq!(backend.saved_pipelines.lock().unwrap().len(), 1);
    let mut said = false;
    while let Ok(e) = rx.try_recv() {
        if let Event::Log { message, .. } = e.event {
            said |= message.contains("parameters only");
        }
    }
    assert!(said, "the log says parameter mutations only");
}

/// A Moltbook stub: POST /api/v1/posts with a bearer key, recording the bodies.
async fn moltbook_stub(posts: Arc<Mutex<Vec<Value>>>) -> String {
    use axum::routing::post;
    use axum::{http::HeaderMap, Json, Router};
    let app = Router::new().route(
        "/api/v1/posts",
        post(move |h: HeaderMap, Json(b): Json<Value>| {
            let posts = posts.clone();
            async move {
                assert_eq!(h.get("authorization").unwrap(), "Bearer mk-test");
                let mut p = posts.lock().unwrap();
                p.push(b.clone());
                Json(json!({"success": true, "post": {"id": format!("post{}", p.len()), "title": b["title"], "content": b["content"]}}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/api/v1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_publisher_announces_only_a_promotion_and_only_when_configured() {
    use services::moltbook::{AnnounceConfig, Limits, MoltbookClient};
    let posts = Arc::new(Mutex::new(Vec::new()));
    let base = moltbook_stub(posts.clone()).await;
    let client = MoltbookClient::new(
        &base,
        Some(services::Secret::new("mk-test")),
        Limits::default(),
    )
    .unwrap();
    let announcer = Announcer::new(
        client,
        AnnounceConfig {
            submolt: "sn50".into(),
        },
    );
    let backend = Arc::new(FakeBackend::default());
    let spec = |lr: f64| agents::backend::PlannerSpec {
        asset: Some("BTC".into()),
        timeframe: Some("5m".into()),
        blocks: vec!["gru".into()],
        head: "student_t".into(),
        lr: Some(lr),
        ..Default::default()
    };
    // Not configured: a promotion sends nothing.
    let quiet = Session::new(backend.clone(), None, Budget::default());
    let r1 = tokio::task::block_in_place(|| quiet.run_experiment("a", &spec(3e-3), false)).unwrap();
    let id1 = r1["run"]["run_id"].as_str().unwrap().to_string();
    let tools = toolbox(quiet, None);
    let out = tokio::task::block_in_place(|| {
        tools.execute("register_champion", &json!({"run_id": id1}).to_string())
    });
    assert_eq!(out.content["promoted"], true);
    assert!(posts.lock().unwrap().is_empty());
    // Configured: a better run is promoted and announced once.
    let loud = Session::with_announcer(backend.clone(), None, Budget::default(), Some(announcer));
    let r2 = tokio::task::block_in_place(|| loud.run_experiment("b", &spec(1e-3), false)).unwrap();
    let id2 = r2["run"]["run_id"].as_str().unwrap().to_string();
    let tools = toolbox(loud, None);
    let out = tokio::task::block_in_place(|| {
        tools.execute("register_champion", &json!({"run_id": id2}).to_string())
    });
    assert_eq!(out.content["promoted"], true, "{}", out.content);
    assert_eq!(
        out.content["announced"]["moltbook_post"], "post1",
        "{}",
        out.content
    );
    // Configured, but nothing promoted (the worse run): nothing sent.
    let out = tokio::task::block_in_place(|| {
        tools.execute("register_champion", &json!({"run_id": id1}).to_string())
    });
    assert_eq!(out.content["promoted"], false);
    let p = posts.lock().unwrap();
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["submolt"], "sn50");
    assert!(p[0]["content"].as_str().unwrap().contains(&id2));
}

#[test]
fn new_tools_answer_bounded_json_and_typed_errors() {
    let backend = Arc::new(FakeBackend::default());
    let tools = toolbox(Session::new(backend, None, Budget::default()), None);
    let names = tools.names();
    for t in [
        "get_run",
        "data_coverage",
        "paired_compare",
        "publish_run",
        "diagnose_error",
        "list_agents",
        "write_agent",
        "write_prompt",
        "write_pipeline",
        "validate_pipeline",
        "list_components",
        "check_component",
        "write_component",
        "list_available_tools",
    ] {
        assert!(names.iter().any(|n| n == t), "missing {t}");
    }
    let d = tools.execute(
        "diagnose_error",
        r#"{"error":"loss is NaN","experiment":{"lr":0.003}}"#,
    );
    assert_eq!(d.content["class"], "divergence");
    let g = tools.execute("get_run", r#"{"run_id":"nope"}"#);
    assert_eq!(g.content["error_type"], "invalid_arguments");
    let p = tools.execute(
        "paired_compare",
        r#"{"candidate":"x","asset":"BTC","timeframe":"15m"}"#,
    );
    assert_eq!(
        p.content["error_type"], "invalid_arguments",
        "{}",
        p.content
    );
    let p = tools.execute(
        "paired_compare",
        r#"{"candidate":"x","asset":"BTC","timeframe":"5m"}"#,
    );
    assert_eq!(p.content["error_type"], "environment");
    // Without a definition store the definition tools say so (environment, not a crash).
    let w = tools.execute(
        "write_agent",
        r#"{"agent":{"name":"a","system_prompt":"x"}}"#,
    );
    assert_eq!(w.content["error_type"], "environment");
    let l = tools.execute("list_available_tools", "{}");
    // The whole catalogue fits one tool result the engine passes on untruncated.
    let size = l.content.to_string().len();
    assert!(size < agents::agent::MAX_TOOL_RESULT_BYTES, "{size} bytes");
    let one = tools.execute("list_available_tools", r#"{"name":"gradients_submit"}"#);
    assert_eq!(
        one.content["parameters"]["required"][0], "base_model",
        "{}",
        one.content
    );
    let c = tools.execute(
        "check_component",
        r#"{"kind":"script","definition":"loop { }"}"#,
    );
    assert_eq!(c.content["valid"], false, "{}", c.content);
}
