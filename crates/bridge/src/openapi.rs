//! The OpenAPI 3.1 document served at `/openapi.json`, built from one table of routes.

use serde_json::{json, Map, Value};

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, dashboard, this document).
    Public,
    /// A bot key (acts in that bot's session).
    Bot,
    /// The admin key.
    Admin,
}

/// One route: method, path (axum syntax), access, summary.
pub type Route = (&'static str, &'static str, Access, &'static str);

/// Every route of the bridge.
pub const ROUTES: &[Route] = &[
    ("GET", "/", Access::Public, "Web dashboard (HTML)"),
    ("GET", "/health", Access::Public, "Liveness, auth mode, compute-slot use"),
    ("GET", "/openapi.json", Access::Public, "This document"),
    ("GET", "/me", Access::Bot, "The caller's bot id and session"),
    ("GET", "/components/blocks", Access::Bot, "Model building blocks"),
    ("GET", "/components/heads", Access::Bot, "Output heads (models)"),
    ("GET", "/components/presets", Access::Bot, "Ready-made experiment specs"),
    ("POST", "/experiments/create", Access::Bot, "Build a full spec from partial parameters"),
    ("POST", "/experiments/validate", Access::Bot, "Validate {experiment}: {valid, errors, warnings, param_count}"),
    ("POST", "/experiments/run", Access::Bot, "Run {experiment} (takes a compute slot); recorded in the registry"),
    ("POST", "/experiments/sweep", Access::Bot, "Run a grid {base, grid: {field: [values]}}"),
    ("GET", "/experiments/compare", Access::Bot, "This session's results, best CRPS first"),
    ("GET", "/experiments/compare/all", Access::Bot, "Alias of /ranking"),
    ("GET", "/ranking", Access::Bot, "Cross-bot ranking from the registry; each entry names its bot"),
    ("GET", "/session", Access::Bot, "This bot's session"),
    ("GET", "/session/summary", Access::Bot, "{num_experiments, results} of this session"),
    ("POST", "/session/clear", Access::Bot, "Forget this session's results (the registry keeps them)"),
    ("POST", "/pipeline/run", Access::Bot, "Start the pipeline {retries, temperature, publish, asset, timeframe, max_experiments}: 202, 409 if active, 429 if full"),
    ("GET", "/pipeline/status", Access::Bot, "Pipeline state: status, stage, times, result or error"),
    ("POST", "/pipeline/stop", Access::Bot, "Ask the running or queued pipeline to stop"),
    ("GET", "/history", Access::Bot, "Registry runs ?limit&order=best|recent|worst&asset&timeframe&bot"),
    ("GET", "/history/{id}", Access::Bot, "One registry run"),
    ("GET", "/history/{id}/fan", Access::Bot, "Fan chart of a run's stored held-out sample ?asset: 5/25/50/75/95 % bands per step, realised path, start time"),
    ("GET", "/champion", Access::Bot, "Best run per asset and timeframe ?asset&timeframe"),
    ("GET", "/market/price/{asset}", Access::Bot, "Latest price of an SN50 asset"),
    ("GET", "/market/history/{asset}", Access::Bot, "Daily OHLC ?days=30"),
    ("POST", "/publish", Access::Bot, "Publish {run_id}, a run this bot produced"),
    ("GET", "/agents", Access::Bot, "Pipeline stages and tools (read-only)"),
    ("GET", "/workspace/files", Access::Bot, "Files of this bot's workspace"),
    ("GET", "/workspace/file", Access::Bot, "Read ?path= (relative, inside the workspace)"),
    ("PUT", "/workspace/file", Access::Bot, "Write ?path= with body {content}"),
    ("DELETE", "/workspace/file", Access::Bot, "Delete ?path="),
    ("GET", "/events", Access::Bot, "Server-sent events of this bot ?after=SEQ"),
    ("GET", "/events/recent", Access::Bot, "Kept events of this bot as JSON ?after=SEQ"),
    ("POST", "/admin/bots", Access::Admin, "Create a bot key {bot_id}: 201 with the key, shown once"),
    ("GET", "/admin/bots", Access::Admin, "List bots (never keys)"),
    ("DELETE", "/admin/bots/{id}", Access::Admin, "Revoke a bot's key"),
    ("GET", "/admin/sessions", Access::Admin, "Sessions in memory"),
    ("GET", "/admin/sessions/{id}", Access::Admin, "One session"),
    ("DELETE", "/admin/sessions/{id}", Access::Admin, "Unload a session from memory (409 while its pipeline runs)"),
    ("GET", "/admin/events", Access::Admin, "Server-sent events of every bot ?after=SEQ"),
    ("GET", "/admin/events/recent", Access::Admin, "Kept events of every bot as JSON"),
];

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for (method, path, access, summary) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut op = json!({
            "summary": summary,
            "parameters": params,
            "responses": {
                "200": {"description": "JSON result"},
                "default": {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
            }
        });
        match access {
            Access::Public => op["security"] = json!([]),
            Access::Bot => op["security"] = json!([{"bearer": []}, {"apiKey": []}]),
            Access::Admin => {
                op["security"] = json!([{"bearer": []}, {"apiKey": []}]);
                op["description"] = json!("Admin key (BRIDGE_ADMIN_KEY) only.");
            }
        }
        if *method == "POST" || *method == "PUT" {
            op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "synth-city bridge", "version": env!("CARGO_PKG_VERSION"),
                 "description": "HTTP API through which OpenClaw bots steer synth-city research. Errors are {\"error\": {\"kind\", \"message\"}} with a matching status; tool failures are never 200."},
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            },
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {"error": {
                "type": "object", "required": ["kind", "message"],
                "properties": {"kind": {"type": "string"}, "message": {"type": "string"}}}}}}
        },
        "paths": paths
    })
}
