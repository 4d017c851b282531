//! Desearch (Bittensor SN22): real-time search over X/Twitter, Reddit, the web, Hacker News,
//! YouTube, Wikipedia and arXiv, with every hit normalised to one shape ([`SearchHit`]: source,
//! author, time, text, URL, score) and the per-call cost the service reports in its
//! `X-Desearch-Cost-Usd` header recorded ([`Cost`], [`Spend`]).
//!
//! Protocol (`shared/research/services.md` §5): `POST {base}/desearch/ai/search` with the raw key
//! in `Authorization` (no `Bearer`), body `{prompt, tools, start_date, end_date, count,
//! streaming: false, result_type: "ONLY_LINKS"}`.

mod client;
mod query;
mod results;
mod wire;

pub use client::{Desearch, Spend};
pub use query::{parse_since, SearchQuery, Source, DEFAULT_SOURCES, MAX_LIMIT};
pub use results::{Cost, SearchHit, SearchResults};

/// The variable holding the API key (from console.desearch.ai).
pub const KEY_ENV: &str = "DESEARCH_API_KEY";
/// The variable that overrides the base URL (self-hosted proxies, tests).
pub const URL_ENV: &str = "DESEARCH_BASE_URL";
/// The service's base URL.
pub const DEFAULT_URL: &str = "https://api.desearch.ai";
/// The service's name in messages.
pub const SERVICE: &str = "Desearch";
