//! The OpenAPI 3.1 document served at `/openapi.json`, built from one table of routes; the
//! request and answer bodies' schemas are generated from the typed bodies of the engine seam
//! ([`crate::types`]) with `schemars`.

use schemars::generate::{SchemaGenerator, SchemaSettings};
use schemars::JsonSchema;
use serde_json::{json, Map, Value};

use crate::types as t;

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
    ("GET", "/agents/stored", Access::Bot, "Every stored agent, prompt fragment and pipeline (latest versions; everyone may read them)"),
    ("POST", "/agents/write", Access::Bot, "Check and store an agent as data {name, system_prompt, tools, model, temperature, prompts, based_on, ...} as yours (next version; 403 for another owner's name)"),
    ("POST", "/agents/prompts/write", Access::Bot, "Check and store a prompt fragment {name, text, description} as yours (next version; 403 for another owner's name)"),
    ("GET", "/registry/read", Access::Bot, "A component ?name: a built-in's parameter schema, or a user component's definition (yours or public); without name the list"),
    ("POST", "/registry/write", Access::Bot, "Check and store a component {name, kind: block|head|script, definition, description, public} as yours (next version; 403 for another owner's name)"),
    ("POST", "/registry/reload", Access::Bot, "The components you may use now (they are read on every use; nothing is cached)"),
    ("GET", "/workspace/files", Access::Bot, "Files of this bot's workspace"),
    ("GET", "/workspace/file", Access::Bot, "Read ?path= (relative, inside the workspace)"),
    ("PUT", "/workspace/file", Access::Bot, "Write ?path= with body {content}"),
    ("DELETE", "/workspace/file", Access::Bot, "Delete ?path="),
    ("GET", "/events", Access::Bot, "Server-sent events of this bot ?after=SEQ"),
    ("GET", "/events/recent", Access::Bot, "Kept events of this bot as JSON ?after=SEQ"),
    ("POST", "/services/search", Access::Bot, "Real-time search (Desearch, SN22) {query, sources, since, limit}: normalised hits and cost; 503 without DESEARCH_API_KEY"),
    ("GET", "/services/models", Access::Bot, "Models Chutes (SN64) serves, with price and features, and the recommended ones ?feature"),
    ("GET", "/services/social", Access::Bot, "Social data tasks recorded here and the Parquet files collected (Data Universe, SN13)"),
    ("POST", "/services/social/tasks", Access::Bot, "Collect social data: on-demand {platform, keywords, usernames, from, to, limit, any} or Gravity {gravity: true, platform, topic, name}; 503 without MC_API"),
    ("GET", "/services/social/tasks/{id}", Access::Bot, "One social data task: the record and the service's live state"),
    ("GET", "/services/gradients/jobs", Access::Bot, "Fine-tuning jobs submitted from this machine (CLI, agents, bots), kept in the data folder, with the last status seen"),
    ("POST", "/services/gradients/jobs", Access::Bot, "Submit a fine-tuning job (Gradients, SN56; paid) {base_model, dataset, hours, output_name}; 503 without GRADIENTS_API_KEY"),
    ("GET", "/services/gradients/jobs/{id}", Access::Bot, "A fine-tuning job's status; trained_model_repository once done"),
    ("DELETE", "/services/gradients/jobs/{id}", Access::Bot, "Cancel a fine-tuning job"),
    ("POST", "/admin/bots", Access::Admin, "Create a bot key {bot_id}: 201 with the key, shown once"),
    ("GET", "/admin/bots", Access::Admin, "List bots (never keys)"),
    ("DELETE", "/admin/bots/{id}", Access::Admin, "Revoke a bot's key"),
    ("GET", "/admin/sessions", Access::Admin, "Sessions in memory"),
    ("GET", "/admin/sessions/{id}", Access::Admin, "One session"),
    ("DELETE", "/admin/sessions/{id}", Access::Admin, "Unload a session from memory (409 while its pipeline runs)"),
    ("GET", "/admin/events", Access::Admin, "Server-sent events of every bot ?after=SEQ"),
    ("GET", "/admin/events/recent", Access::Admin, "Kept events of every bot as JSON"),
];

/// Query parameters: (path, name, JSON type, description). Unknown parameters get 400.
#[rustfmt::skip]
pub const QUERY: &[(&str, &str, &str, &str)] = &[
    ("/history", "limit", "integer", "At most this many runs (1-1000, default 50)"),
    ("/history", "order", "string", "best, recent (default) or worst"),
    ("/history", "asset", "string", "Only this asset"),
    ("/history", "timeframe", "string", "5m or 1m"),
    ("/history", "bot", "string", "Only runs this bot produced"),
    ("/ranking", "limit", "integer", "At most this many runs (1-1000, default 50)"),
    ("/ranking", "asset", "string", "Only this asset"),
    ("/ranking", "timeframe", "string", "5m or 1m"),
    ("/ranking", "bot", "string", "Only runs this bot produced"),
    ("/history/{id}/fan", "asset", "string", "Asset of a multi-asset run (default: its only asset)"),
    ("/champion", "asset", "string", "Only this asset"),
    ("/champion", "timeframe", "string", "5m or 1m"),
    ("/market/history/{asset}", "days", "integer", "Days of daily candles (1-365, default 30)"),
    ("/workspace/file", "path", "string", "Relative path inside the bot's workspace"),
    ("/registry/read", "name", "string", "Component name (omit for the list)"),
    ("/services/models", "feature", "string", "Only models that list this feature (tools, reasoning)"),
    ("/events", "after", "integer", "Replay kept events with a larger sequence number first"),
    ("/events/recent", "after", "integer", "Only events with a larger sequence number"),
    ("/admin/events", "after", "integer", "Replay kept events with a larger sequence number first"),
    ("/admin/events/recent", "after", "integer", "Only events with a larger sequence number"),
];

/// The documented query parameters of `path` (`/experiments/compare/all` is `/ranking`).
fn query_of(path: &str) -> impl Iterator<Item = Value> + '_ {
    let key = if path == "/experiments/compare/all" {
        "/ranking"
    } else {
        path
    };
    QUERY.iter().filter(move |q| q.0 == key).map(|(_, name, ty, doc)| {
        json!({"name": name, "in": "query", "required": false, "description": doc, "schema": {"type": ty}})
    })
}

/// Names the typed body schemas of the routes (generated from [`crate::types`] and the request
/// types of [`crate::backend`] with `schemars`, so the document follows the code).
struct Schemas {
    generator: SchemaGenerator,
}

impl Schemas {
    fn new() -> Self {
        let mut settings = SchemaSettings::draft2020_12();
        settings.definitions_path = "/components/schemas".into();
        settings.meta_schema = None;
        Self {
            generator: settings.into_generator(),
        }
    }

    fn of<T: JsonSchema>(&mut self) -> Value {
        self.generator.subschema_for::<T>().to_value()
    }

    /// The success body of a route, when it has a typed one.
    fn response(&mut self, method: &str, path: &str) -> Option<Value> {
        Some(match (method, path) {
            ("GET", "/components/blocks") => self.of::<t::BlockList>(),
            ("GET", "/components/heads") => self.of::<t::HeadList>(),
            ("GET", "/components/presets") => self.of::<t::PresetList>(),
            ("POST", "/experiments/create") => self.of::<t::CreatedExperiment>(),
            ("POST", "/experiments/validate") => self.of::<t::ValidationReport>(),
            ("POST", "/experiments/run") | ("GET", "/history/{id}") => self.of::<t::RunView>(),
            ("POST", "/experiments/sweep") => self.of::<t::SweepOutcome>(),
            ("GET", "/history") => self.of::<t::RunList>(),
            ("GET", "/history/{id}/fan") => self.of::<t::Fan>(),
            ("GET", "/champion") => self.of::<t::ChampionList>(),
            ("GET", "/ranking") | ("GET", "/experiments/compare/all") => self.of::<t::Ranking>(),
            ("GET", "/market/price/{asset}") => self.of::<t::Price>(),
            ("GET", "/market/history/{asset}") => self.of::<t::DailyHistory>(),
            ("POST", "/publish") => self.of::<t::Published>(),
            ("GET", "/agents") => self.of::<t::AgentCatalogue>(),
            ("POST", "/registry/write") => self.of::<t::ComponentView>(),
            ("GET", "/agents/stored") => self.of::<t::DefinitionList>(),
            ("POST", "/agents/write") | ("POST", "/agents/prompts/write") => {
                self.of::<t::DefinitionView>()
            }
            ("POST", "/registry/reload") => self.of::<t::ComponentCatalogue>(),
            _ => return None,
        })
    }

    /// The request body of a route, when it has a typed one.
    fn request(&mut self, method: &str, path: &str) -> Option<Value> {
        Some(match (method, path) {
            ("POST", "/experiments/create") => self.of::<t::CreateRequest>(),
            ("POST", "/experiments/validate") | ("POST", "/experiments/run") => {
                self.of::<t::ExperimentRequest>()
            }
            ("POST", "/experiments/sweep") => self.of::<t::SweepRequest>(),
            ("POST", "/pipeline/run") => self.of::<crate::backend::PipelineRequest>(),
            ("POST", "/publish") => self.of::<t::PublishRequest>(),
            ("POST", "/registry/write") => self.of::<t::RegistryWriteRequest>(),
            ("POST", "/agents/write") => self.of::<t::AgentWriteRequest>(),
            ("POST", "/agents/prompts/write") => self.of::<t::PromptWriteRequest>(),
            _ => return None,
        })
    }

    /// Every schema named so far.
    fn definitions(mut self) -> Map<String, Value> {
        self.generator.take_definitions(true)
    }
}

/// `operationId` of a route: the method and the path in camel case (`GET /history/{id}/fan`
/// → `getHistoryByIdFan`, `GET /` → `getDashboard`).
pub fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_ascii_lowercase();
    if path == "/" {
        id.push_str("Dashboard");
    }
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        let (prefix, word) = match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(p) => ("By", p),
            None => ("", seg),
        };
        id.push_str(prefix);
        for part in word.split(['-', '_', '.']).filter(|p| !p.is_empty()) {
            let mut c = part.chars();
            if let Some(f) = c.next() {
                id.extend(f.to_uppercase());
                id.push_str(c.as_str());
            }
        }
    }
    id
}

/// The success status of a route.
fn success_status(method: &str, path: &str) -> &'static str {
    match (method, path) {
        ("POST", "/admin/bots") => "201",
        ("POST", "/pipeline/run") | ("POST", "/pipeline/stop") => "202",
        _ => "200",
    }
}

/// The error answers a route can give (each `{"error": {kind, message}}`).
fn error_statuses(method: &str, path: &str, access: Access) -> Vec<(&'static str, &'static str)> {
    let mut out = vec![(
        "400",
        "Malformed request: bad JSON, an unknown or out-of-range field",
    )];
    if access != Access::Public {
        out.push(("401", "No key, or an unknown or revoked key"));
        out.push(("403", "A valid key that may not do this"));
    }
    if path.contains('{')
        || matches!(
            path,
            "/workspace/file" | "/publish" | "/experiments/create" | "/registry/read"
        )
    {
        out.push(("404", "Not found"));
    }
    if method == "POST" || method == "PUT" {
        out.push((
            "408",
            "The request body was not received within the body deadline",
        ));
        out.push(("413", "Request body over the size limit"));
    }
    if path.starts_with("/experiments/") && method == "POST" {
        out.push((
            "422",
            "Invalid experiment, or its model over the memory cap (model_too_large)",
        ));
    }
    if matches!(
        path,
        "/pipeline/run" | "/publish" | "/admin/bots" | "/admin/sessions/{id}"
    ) && method != "GET"
    {
        out.push((
            "409",
            "Conflicts with the current state (a pipeline running, a run already published)",
        ));
    }
    if matches!(
        path,
        "/pipeline/run" | "/experiments/run" | "/experiments/sweep"
    ) {
        out.push((
            "429",
            "Every compute slot and queue place is taken; retry after Retry-After",
        ));
    }
    if path == "/workspace/file" && method == "PUT" {
        out.push((
            "507",
            "The bot's workspace quota (bytes or files) would be exceeded",
        ));
    }
    out
}

/// The generated schemas plus `Error`, the body of every error answer.
fn component_schemas(schemas: Schemas) -> Map<String, Value> {
    let mut all = schemas.definitions();
    all.insert(
        "Error".into(),
        json!({"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["kind", "message"],
            "properties": {"kind": {"type": "string"}, "message": {"type": "string"}}}}}),
    );
    all
}

/// The document.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    let mut schemas = Schemas::new();
    let error = json!({"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}});
    for (method, path, access, summary) in ROUTES {
        let params: Vec<Value> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
            .chain(query_of(path))
            .collect();
        let mut responses = Map::new();
        let ok = if *path == "/" {
            json!({"description": "The dashboard", "content": {"text/html": {"schema": {"type": "string"}}}})
        } else if let Some(schema) = schemas.response(method, path) {
            let what = if *path == "/history/{id}/fan" {
                "Fan chart data"
            } else {
                "JSON result"
            };
            json!({"description": what, "content": {"application/json": {"schema": schema}}})
        } else if path.ends_with("events") {
            json!({"description": "Server-sent events", "content": {"text/event-stream": {"schema": {"type": "string"}}}})
        } else {
            json!({"description": "JSON result", "content": {"application/json": {"schema": {"type": "object"}}}})
        };
        responses.insert(success_status(method, path).into(), ok);
        for (code, why) in error_statuses(method, path, *access) {
            responses.insert(code.into(), json!({"description": why, "content": error}));
        }
        responses.insert(
            "default".into(),
            json!({"description": "Other errors (500 failed, 503 unavailable, 504 timeout)", "content": error}),
        );
        let mut op = json!({
            "operationId": operation_id(method, path),
            "summary": summary,
            "parameters": params,
            "responses": responses,
        });
        match access {
            Access::Public => op["security"] = json!([]),
            Access::Bot => op["security"] = json!([{"bearer": []}, {"apiKey": []}]),
            Access::Admin => {
                op["security"] = json!([{"bearer": []}, {"apiKey": []}]);
                op["description"] = json!("Admin key (BRIDGE_ADMIN_KEY) only.");
            }
        }
        if let Some(schema) = schemas.request(method, path) {
            op["requestBody"] =
                json!({"required": false, "content": {"application/json": {"schema": schema}}});
        } else if *method == "POST" || *method == "PUT" {
            op["requestBody"] = json!({"required": false, "content": {"application/json": {"schema": {"type": "object"}}}});
        }
        let entry = paths.entry(path.to_string()).or_insert_with(|| json!({}));
        entry[method.to_ascii_lowercase()] = op;
    }
    json!({
        "openapi": "3.1.0",
        "info": {"title": "synth-city bridge", "version": env!("CARGO_PKG_VERSION"),
                 "license": {"name": "MIT", "identifier": "MIT"},
                 "description": "HTTP API through which OpenClaw bots steer synth-city research. Errors are {\"error\": {\"kind\", \"message\"}} with a matching status; tool failures are never 200."},
        "servers": [{"url": "http://127.0.0.1:8377", "description": "A bridge on this machine (synth-city bridge; --host/--port change it)"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
            },
            "schemas": component_schemas(schemas)
        },
        "paths": paths
    })
}
