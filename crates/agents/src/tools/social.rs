//! `social_data`: what the social data collected from Data Universe (SN13) says — the Parquet
//! files in the data folder (`synth-city social create|download`), each summarised (rows, time
//! span, sources, most used #hashtags/$cashtags, most liked posts). Reads local files only: no
//! key, no network, no cost.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use services::data_universe::{summarize, SocialStore};

use super::search::service_tool_error;
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

/// The social data tools over the data folder (`$SYNTH_CITY_HOME/social`).
pub fn social_tools() -> Vec<Arc<dyn Tool>> {
    vec![tool(None)]
}

/// The social data tools over the store at `dir` (tests).
pub fn social_tools_at(dir: PathBuf) -> Vec<Arc<dyn Tool>> {
    vec![tool(Some(dir))]
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
