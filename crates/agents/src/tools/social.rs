//! `social_data`: what the social data collected from Data Universe (SN13) says — the Parquet
//! files in the data folder (`synth-city social create|download`), each summarised (rows, time
//! span, sources, most used #hashtags/$cashtags, most liked posts). Reads local files only: no
//! key, no network, no cost.
//!
//! `social_collect`: one on-demand query to Data Universe (what `synth-city social create`
//! does), kept as a Parquet file and a task record in the same folder and summarised. Needs
//! `MC_API`; without it the tool answers with the variable to set, as the CLI does.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use services::data_universe::{
    parse_date, summarize, DataUniverse, OnDemandQuery, Platform, SocialStore,
};

use super::search::{run_async, service_tool_error};
use super::tool::{fn_tool, object_schema, Tool, ToolError};

/// Most files summarised in one call.
const MAX_FILES: usize = 10;

#[derive(Deserialize)]
struct Args {
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    contains: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

fn social(dir: Option<&PathBuf>, a: Args) -> Result<Value, ToolError> {
    let store = match dir {
        Some(d) => SocialStore::new(d.clone()),
        None => SocialStore::open_default(),
    };
    if let Some(f) = a.file.filter(|f| !f.trim().is_empty()) {
        let path = store.file(f.trim()).map_err(service_tool_error)?;
        let s = summarize(&path).map_err(|e| ToolError::failed(e.to_string()))?;
        return Ok(json!({"file": f.trim(), "summary": s}));
    }
    let mut files = store
        .files()
        .map_err(|e| ToolError::failed(e.to_string()))?;
    if let Some(c) = a.contains.filter(|c| !c.trim().is_empty()) {
        let c = c.trim().to_ascii_lowercase();
        files.retain(|f| f.name.to_ascii_lowercase().contains(&c));
    }
    let total = files.len();
    // Newest task folders sort last (ids carry their date): show those first.
    files.reverse();
    files.truncate(a.limit.unwrap_or(5).clamp(1, MAX_FILES));
    let summaries: Vec<Value> = files
        .iter()
        .map(|f| match summarize(&f.path) {
            Ok(s) => json!({"file": f.name, "rows": s.rows, "first": s.first, "last": s.last,
                            "sources": s.sources, "top_tags": s.top_tags,
                            "top_posts": s.top_posts.iter().take(3).collect::<Vec<_>>()}),
            Err(e) => json!({"file": f.name, "error": e.to_string()}),
        })
        .collect();
    let hint = (total == 0).then_some(
        "no social data collected yet: `synth-city social create --keywords ...` (needs MC_API)",
    );
    Ok(json!({"files_total": total, "files": summaries, "hint": hint}))
}

fn tool(dir: Option<PathBuf>) -> Arc<dyn Tool> {
    Arc::new(fn_tool(
        "social_data",
        "Bulk social data collected from X/Reddit through Data Universe (SN13), read from the local \
         Parquet files: per file its rows, time span, sources, most used #hashtags/$cashtags and \
         most liked posts. No arguments: the newest files; contains: filter by file name (task \
         id); file: one file (<task>/<file>.parquet) in full. Local, free; quote what it shows.",
        object_schema(
            &[
                ("file", json!({"type": "string"})),
                ("contains", json!({"type": "string"})),
                ("limit", json!({"type": "integer", "minimum": 1, "maximum": MAX_FILES})),
            ],
            &[],
        ),
        move |a: Args| social(dir.as_ref(), a),
    ))
}

/// Most posts one `social_collect` call asks for (each call is paid and slow).
const MAX_COLLECT: u32 = 500;

#[derive(Deserialize)]
struct CollectArgs {
    keywords: String,
    #[serde(default)]
    users: Option<String>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    to: Option<String>,
    #[serde(default)]
    limit: Option<u32>,
    #[serde(default)]
    any: Option<bool>,
}

fn split(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

fn collect(
    dir: Option<&PathBuf>,
    client: Option<&DataUniverse>,
    a: CollectArgs,
) -> Result<Value, ToolError> {
    let date = |s: &Option<String>| {
        s.as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(parse_date)
            .transpose()
            .map_err(service_tool_error)
    };
    let query = OnDemandQuery {
        platform: Platform::parse(a.platform.as_deref().unwrap_or("x"))
            .map_err(service_tool_error)?,
        keywords: split(&a.keywords),
        usernames: a.users.as_deref().map(split).unwrap_or_default(),
        start: date(&a.from)?,
        end: date(&a.to)?,
        limit: a.limit.unwrap_or(100).clamp(1, MAX_COLLECT),
        match_all: !a.any.unwrap_or(false),
    };
    query.check().map_err(service_tool_error)?;
    let owned;
    let client = match client {
        Some(c) => c,
        None => {
            owned = DataUniverse::from_env().map_err(service_tool_error)?;
            &owned
        }
    };
    let posts = run_async(client.on_demand(&query))?.map_err(service_tool_error)?;
    let store = match dir {
        Some(d) => SocialStore::new(d.clone()),
        None => SocialStore::open_default(),
    };
    let rec = store
        .save_on_demand(query, &posts)
        .map_err(|e| ToolError::failed(e.to_string()))?;
    let file = rec.files.first().cloned().unwrap_or_default();
    let summary = store
        .file(&file)
        .and_then(|p| summarize(&p))
        .map_err(|e| ToolError::failed(e.to_string()))?;
    Ok(
        json!({"task_id": rec.id, "posts": posts.len(), "file": file,
              "first": summary.first, "last": summary.last, "top_tags": summary.top_tags,
              "top_posts": summary.top_posts.iter().take(5).collect::<Vec<_>>()}),
    )
}

fn collect_tool(dir: Option<PathBuf>, client: Option<DataUniverse>) -> Arc<dyn Tool> {
    Arc::new(fn_tool(
        "social_collect",
        "Collect recent posts from X, Reddit or YouTube through Data Universe (SN13): one \
         on-demand query (10-60 s, paid), kept as a Parquet file in the data folder (then \
         readable with social_data) and summarised (span, top #hashtags/$cashtags, most liked \
         posts). keywords: comma list, at most 5 (e.g. \"$SOL,listing\"; for Reddit the first \
         may be r/<subreddit>); users: comma list of X authors; platform: x (default), reddit, \
         youtube; from/to: 2026-12-01 or RFC 3339 (default the last 24 h); limit 1-500 \
         (default 100); any=true matches any keyword instead of all. Once per task, not per step.",
        object_schema(
            &[
                ("keywords", json!({"type": "string"})),
                ("users", json!({"type": "string"})),
                (
                    "platform",
                    json!({"type": "string", "enum": ["x", "reddit", "youtube"]}),
                ),
                ("from", json!({"type": "string"})),
                ("to", json!({"type": "string"})),
                (
                    "limit",
                    json!({"type": "integer", "minimum": 1, "maximum": MAX_COLLECT}),
                ),
                ("any", json!({"type": "boolean"})),
            ],
            &["keywords"],
        ),
        move |a: CollectArgs| collect(dir.as_ref(), client.as_ref(), a),
    ))
}

/// The social data tools over the data folder (`$SYNTH_CITY_HOME/social`), Data Universe
/// configured from the environment at each call (`MC_API`, `MACROCOSMOS_BASE_URL`).
pub fn social_tools() -> Vec<Arc<dyn Tool>> {
    vec![tool(None), collect_tool(None, None)]
}

/// The social data tools over the store at `dir` (tests).
pub fn social_tools_at(dir: PathBuf) -> Vec<Arc<dyn Tool>> {
    vec![tool(Some(dir.clone())), collect_tool(Some(dir), None)]
}

/// The social data tools over the store at `dir` and a given Data Universe client (tests).
pub fn social_tools_with(client: DataUniverse, dir: PathBuf) -> Vec<Arc<dyn Tool>> {
    vec![
        tool(Some(dir.clone())),
        collect_tool(Some(dir), Some(client)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use services::data_universe::{posts_to_parquet, SocialPost};

    #[test]
    fn files_are_summarised_and_names_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = SocialStore::new(dir.path());
        let run = |a: Value| {
            social(
                Some(&dir.path().to_path_buf()),
                serde_json::from_value(a).unwrap(),
            )
        };
        let empty = run(json!({})).unwrap();
        assert_eq!(empty["files_total"], 0);
        assert!(empty["hint"].as_str().unwrap().contains("social create"));
        let posts: Vec<SocialPost> = (0..3)
            .map(|i| SocialPost {
                datetime: Some(format!("2026-12-0{}T00:00:00Z", i + 1)),
                source: "x".into(),
                text: format!("$ETH news {i}"),
                likes: Some(i),
                ..SocialPost::default()
            })
            .collect();
        let bytes = posts_to_parquet(&posts).unwrap();
        store.write_parquet("ondemand-1", "posts", &bytes).unwrap();
        let v = run(json!({})).unwrap();
        assert_eq!(v["files"][0]["rows"], 3);
        assert_eq!(v["files"][0]["top_tags"][0][0], "$ETH");
        let v = run(json!({"file": "ondemand-1/posts.parquet"})).unwrap();
        assert_eq!(v["summary"]["last"], "2026-12-03T00:00:00Z");
        assert!(run(json!({"file": "../../etc/passwd"})).is_err());
        assert_eq!(
            run(json!({"contains": "gravity"})).unwrap()["files_total"],
            0
        );
    }
}
