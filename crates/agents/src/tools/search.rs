//! `web_search`: real-time search of X/Twitter, Reddit and the web through Desearch (SN22), so
//! that an agent can see what is moving an asset (news, listings, hacks) before it plans.
//! Needs `DESEARCH_API_KEY`; without it the tool answers with the variable to set.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use services::desearch::{parse_since, Desearch, SearchQuery, Source};
use services::ServiceError;

use super::tool::{fn_tool, object_schema, Tool, ToolError};
use crate::agent::Transcript;
use crate::llm::Role;

/// Most sources a report lists.
pub const MAX_SOURCES: usize = 40;

/// A search hit an agent saw during a run (what the research report cites).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceSeen {
    /// The agent that searched.
    pub agent: String,
    /// The hit's address.
    pub url: String,
    /// Title, when the hit had one.
    #[serde(default)]
    pub title: Option<String>,
    /// Where it was found (`twitter`, `web`, …).
    #[serde(default)]
    pub source: Option<String>,
    /// When it was posted, when known.
    #[serde(default)]
    pub time: Option<String>,
}

/// The hits `web_search` returned in `transcripts`, each url once, in the order seen, at most
/// [`MAX_SOURCES`].
pub fn sources_seen(transcripts: &[Transcript]) -> Vec<SourceSeen> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let text = |v: &Value| v.as_str().map(str::to_string);
    for t in transcripts {
        let answers = t
            .messages
            .iter()
            .filter(|m| m.role == Role::Tool && m.name.as_deref() == Some("web_search"));
        for m in answers {
            let Some(v) = m
                .content
                .as_deref()
                .and_then(|c| serde_json::from_str::<Value>(c).ok())
            else {
                continue;
            };
            for h in v["results"].as_array().into_iter().flatten() {
                let Some(url) = h["url"].as_str().filter(|u| !u.is_empty()) else {
                    continue;
                };
                if out.len() >= MAX_SOURCES || !seen.insert(url.to_string()) {
                    continue;
                }
                out.push(SourceSeen {
                    agent: t.agent.clone(),
                    url: url.to_string(),
                    title: text(&h["title"]),
                    source: text(&h["source"]),
                    time: text(&h["time"]),
                });
            }
        }
    }
    out
}

/// Most hits the tool gives the model (each costs context).
pub const MAX_TOOL_HITS: usize = 30;
/// Longest text per hit shown to the model.
const MAX_HIT_CHARS: usize = 400;

#[derive(Deserialize)]
struct SearchArgs {
    query: String,
    #[serde(default)]
    sources: Option<String>,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// A service failure as the model sees it: missing credentials and bad input are final,
/// rate limits and outages transient.
pub fn service_tool_error(e: ServiceError) -> ToolError {
    match e {
        ServiceError::Invalid(m) => ToolError::invalid(m),
        e if e.is_transient() => ToolError::transient(e.to_string()),
        // Not an environment error: the agent can go on without the service.
        e => ToolError::failed(e.to_string()),
    }
}

/// Runs `fut` to completion from a tool (tools are synchronous and run on blocking threads),
/// on a private current-thread runtime in a scoped thread, so it works inside or outside tokio.
pub fn run_async<T: Send>(
    fut: impl std::future::Future<Output = T> + Send,
) -> Result<T, ToolError> {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|rt| rt.block_on(fut))
                .map_err(|e| ToolError::failed(format!("starting the async runtime: {e}")))
        })
        .join()
        .unwrap_or_else(|_| Err(ToolError::failed("the service call panicked")))
    })
}

fn query_of(a: SearchArgs) -> Result<SearchQuery, ToolError> {
    let mut q = SearchQuery::new(a.query);
    if let Some(s) = a.sources.filter(|s| !s.trim().is_empty()) {
        q.sources = Source::parse_list(&s).map_err(service_tool_error)?;
    }
    if let Some(s) = a.since.filter(|s| !s.trim().is_empty()) {
        q.since = Some(parse_since(&s).map_err(service_tool_error)?);
    }
    q.limit = a.limit.unwrap_or(10).clamp(1, MAX_TOOL_HITS);
    q.check().map_err(service_tool_error)?;
    Ok(q)
}

fn search(client: Option<&Desearch>, a: SearchArgs) -> Result<Value, ToolError> {
    let q = query_of(a)?;
    let owned;
    let client = match client {
        Some(c) => c,
        None => {
            owned = Desearch::from_env().map_err(service_tool_error)?;
            &owned
        }
    };
    let r = run_async(client.search(&q))?.map_err(service_tool_error)?;
    let hits: Vec<Value> = r
        .results
        .iter()
        .map(|h| {
            json!({"source": h.source, "author": h.author, "time": h.time, "title": h.title,
                   "text": h.text.chars().take(MAX_HIT_CHARS).collect::<String>(),
                   "url": h.url, "score": h.score, "engagement": h.engagement})
        })
        .collect();
    Ok(json!({
        "query": r.query,
        "sources": r.sources,
        "since": r.since,
        "count": hits.len(),
        "results": hits,
        "cost_usd": r.cost.usd,
    }))
}

fn tool(client: Option<Desearch>) -> Arc<dyn Tool> {
    Arc::new(fn_tool(
        "web_search",
        "Real-time search of X/Twitter, Reddit and the web (Desearch, SN22): what is moving an \
         asset now (news, listings, hacks, macro). Returns hits {source, author, time, title, text, \
         url, score}; cite the urls you rely on. sources: comma list of twitter, reddit, web, \
         hackernews, youtube, wikipedia, arxiv (default twitter,reddit,web); since: look-back \
         such as 6h, 24h, 7d (default 24h); limit: 1-30 hits (default 10). Each call costs money: \
         search once or twice, not per step.",
        object_schema(
            &[
                ("query", json!({"type": "string"})),
                ("sources", json!({"type": "string"})),
                ("since", json!({"type": "string"})),
                ("limit", json!({"type": "integer", "minimum": 1, "maximum": MAX_TOOL_HITS})),
            ],
            &["query"],
        ),
        move |a: SearchArgs| search(client.as_ref(), a),
    ))
}

/// The search tools, configured from the environment at each call (`DESEARCH_API_KEY`,
/// `DESEARCH_BASE_URL`).
pub fn search_tools() -> Vec<Arc<dyn Tool>> {
    vec![tool(None)]
}

/// The search tools over a given client (tests, or a caller that meters one client).
pub fn search_tools_with(client: Desearch) -> Vec<Arc<dyn Tool>> {
    vec![tool(Some(client))]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::Message;

    #[test]
    fn the_hits_an_agent_saw_are_listed_once() {
        let answer = Message::tool_result(
            "c1",
            "web_search",
            json!({"results": [{"url": "https://n.example/a", "title": "A", "source": "web"},
                               {"url": "https://n.example/a"}, {"url": null},
                               {"url": "https://x.com/b", "source": "twitter", "time": "2026-12-06T08:00:00Z"}]})
            .to_string(),
        );
        let other = Message::tool_result(
            "c2",
            "social_data",
            json!({"results": [{"url": "https://no"}]}).to_string(),
        );
        let broken = Message::tool_result("c3", "web_search", "not json");
        let t = Transcript {
            agent: "planner".into(),
            model: "m".into(),
            temperature: 0.2,
            started_at: String::new(),
            ended_at: String::new(),
            messages: vec![Message::system("s"), answer, other, broken],
        };
        let s = sources_seen(&[t]);
        assert_eq!(s.len(), 2, "{s:?}");
        assert_eq!(s[0].url, "https://n.example/a");
        assert_eq!(s[0].title.as_deref(), Some("A"));
        assert_eq!(s[1].source.as_deref(), Some("twitter"));
        assert_eq!(s[1].agent, "planner");
    }

    #[test]
    fn arguments_are_checked_before_any_call() {
        let bad = |a: Value| {
            let a: SearchArgs = serde_json::from_value(a).unwrap();
            search(None, a).unwrap_err()
        };
        let e = bad(json!({"query": "btc", "sources": "myspace"}));
        assert_eq!(e.kind, super::super::ToolErrorKind::InvalidArguments);
        let e = bad(json!({"query": "btc", "since": "forever"}));
        assert_eq!(e.kind, super::super::ToolErrorKind::InvalidArguments);
        let e = bad(json!({"query": " "}));
        assert_eq!(e.kind, super::super::ToolErrorKind::InvalidArguments);
    }
}
