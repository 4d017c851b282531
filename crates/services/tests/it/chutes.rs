//! The Chutes model listing against an axum stub on 127.0.0.1 (`GET /v1/models`, Bearer key,
//! 429 with `Retry-After`, a refused key retried anonymously), and the OpenClaw provider entry
//! checked by OpenClaw's own `openclaw config validate` when the CLI is installed.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};
use services::chutes::{openclaw_provider, recommend, Chutes, PREFERRED_TOOLS};
use services::http::HttpSettings;
use services::{Secret, ServiceError};

/// Serves `app`; returns its OpenAI-style base (`…/v1`).
async fn serve(app: Router) -> String {
    format!("{}/v1", crate::stub::serve(app).await)
}

fn fast() -> HttpSettings {
    HttpSettings {
        max_backoff: Duration::from_secs(2),
        ..crate::stub::fast(HttpSettings::default())
    }
}

fn catalogue() -> Value {
    json!({"object": "list", "data": [
        {"id": "zai-org/GLM-5.2-TEE", "supported_features": ["tools", "reasoning"], "input_modalities": ["text"],
         "context_length": 202752, "max_output_length": 65536, "pricing": {"prompt": 0.4, "completion": "1.6"}},
        {"id": "deepseek-ai/DeepSeek-V3.2-TEE", "supported_features": ["reasoning", "tools"],
         "context_length": "163840", "pricing": {"prompt": 0.25, "completion": 0.38}},
        {"id": "chutesai/Mistral-Small-3.2-24B-Instruct-2506", "input_modalities": ["text", "image"]},
        {"no_id": true}
    ]})
}

/// Answers 429 first, then the catalogue to `good` or no key, 401 to any other key.
fn stub(auth_seen: Arc<Mutex<Vec<Option<String>>>>) -> Router {
    let hits = Arc::new(AtomicU32::new(0));
    Router::new().route(
        "/v1/models",
        get(move |headers: HeaderMap| {
            let hits = hits.clone();
            let seen = auth_seen.clone();
            async move {
                let auth = headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                seen.lock().unwrap().push(auth.clone());
                if hits.fetch_add(1, Ordering::SeqCst) == 0 {
                    let mut h = HeaderMap::new();
                    h.insert("retry-after", "0".parse().unwrap());
                    return (StatusCode::TOO_MANY_REQUESTS, h, "busy").into_response();
                }
                match auth.as_deref() {
                    None | Some("Bearer cpk_good") => Json(catalogue()).into_response(),
                    Some(_) => (StatusCode::UNAUTHORIZED, "bad key").into_response(),
                }
            }
        }),
    )
}

#[tokio::test]
async fn models_are_listed_with_prices_and_recommendations() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = serve(stub(seen.clone())).await;
    let c = Chutes::new(&base, Some(Secret::new("cpk_good")), fast()).unwrap();
    let models = c.models().await.unwrap();
    assert_eq!(models.len(), 3, "the entry without an id is skipped");
    assert_eq!(models[0].id, "chutesai/Mistral-Small-3.2-24B-Instruct-2506");
    let glm = models
        .iter()
        .find(|m| m.id == "zai-org/GLM-5.2-TEE")
        .unwrap();
    assert_eq!(glm.pricing.unwrap().completion, Some(1.6));
    assert_eq!(glm.context_length, Some(202_752));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "429 then the answer");
    assert_eq!(seen[1].as_deref(), Some("Bearer cpk_good"));
    let rec = recommend(&models);
    assert_eq!(rec.tools.as_deref(), Some("zai-org/GLM-5.2-TEE"));
    assert_eq!(
        rec.reasoning.as_deref(),
        Some("deepseek-ai/DeepSeek-V3.2-TEE")
    );
}

#[tokio::test]
async fn a_refused_key_is_retried_without_it_and_never_printed() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let base = serve(stub(seen.clone())).await;
    let c = Chutes::new(&base, Some(Secret::new("cpk_revoked_secret")), fast()).unwrap();
    let models = c.models().await.unwrap();
    assert_eq!(models.len(), 3);
    assert_eq!(seen.lock().unwrap().last().unwrap(), &None);

    // A dead server is a transport error naming the service, not a panic.
    let c = Chutes::new(
        "http://127.0.0.1:9/v1",
        None,
        HttpSettings {
            max_retries: 0,
            ..fast()
        },
    )
    .unwrap();
    let err = c.models().await.unwrap_err();
    assert!(matches!(err, ServiceError::Transport { .. }), "{err:?}");
    assert!(err.to_string().starts_with("Chutes"));
}

fn openclaw_bin() -> Option<std::path::PathBuf> {
    if let Some(b) = std::env::var_os("SYNTH_CITY_OPENCLAW_BIN").filter(|b| !b.is_empty()) {
        return Some(b.into());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("openclaw"))
        .find(|p| p.is_file())
}

#[test]
fn the_openclaw_provider_entry_holds_no_key_and_openclaw_accepts_it() {
    let served: Vec<services::chutes::ChutesModel> =
        serde_json::from_value(catalogue()["data"].as_array().unwrap()[..3].to_vec().into())
            .unwrap();
    let e = openclaw_provider(&served, None);
    assert_eq!(e.provider["baseUrl"], "https://llm.chutes.ai/v1");
    assert_eq!(e.provider["api"], "openai-completions");
    assert_eq!(
        e.provider["apiKey"],
        json!({"source": "env", "provider": "default", "id": "CHUTES_API_KEY"})
    );
    let ids: Vec<&str> = e.provider["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        vec!["zai-org/GLM-5.2-TEE", "deepseek-ai/DeepSeek-V3.2-TEE"]
    );
    assert_eq!(e.provider["models"][0]["cost"]["output"], 1.6);
    assert_eq!(e.primary.as_deref(), Some("chutes/zai-org/GLM-5.2-TEE"));
    // Offline (nothing served), the preferences stand in.
    let offline = openclaw_provider(&[], Some("http://127.0.0.1:1/v1"));
    assert_eq!(offline.provider["models"][0]["id"], PREFERRED_TOOLS[0]);

    let Some(bin) = openclaw_bin() else {
        println!("SKIP: openclaw CLI not on PATH (CI installs it: .ci/run); the entry was not validated by OpenClaw");
        return;
    };
    let dir = std::env::temp_dir().join(format!("sc-chutes-oc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cfg = json!({
        "models": {"providers": {"chutes": e.provider}},
        "agents": {"defaults": {"model": {"primary": e.primary}, "models": e.aliases}},
    });
    let path = dir.join("openclaw.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&cfg).unwrap()).unwrap();
    let out = std::process::Command::new(&bin)
        .args(["config", "validate", "--json"])
        .env("HOME", &dir)
        .env("OPENCLAW_CONFIG_PATH", &path)
        .env("OPENCLAW_STATE_DIR", dir.join("state"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "openclaw config validate: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(v["valid"], true, "{stdout}");
}
