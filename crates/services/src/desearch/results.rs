//! What a search returns: hits in one shape whatever their source, and what the call cost.

use serde::{Deserialize, Serialize};

use crate::http::Response;

/// One hit, normalised across sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// Where it was found (`twitter`, `reddit`, `web`, …).
    pub source: String,
    /// Who posted it (the X handle), when the source says.
    #[serde(default)]
    pub author: Option<String>,
    /// When it was posted (RFC 3339, UTC), when the source says.
    #[serde(default)]
    pub time: Option<String>,
    /// Title of a page or post, when there is one.
    #[serde(default)]
    pub title: Option<String>,
    /// The post's text, or the page's snippet.
    pub text: String,
    /// Link to it.
    pub url: String,
    /// Relevance in [0, 1] as the service's scorers rated the link, when rated.
    #[serde(default)]
    pub score: Option<f64>,
    /// Likes + reposts + replies + quotes (X posts only).
    #[serde(default)]
    pub engagement: Option<u64>,
}

/// What one call cost, from the `X-Desearch-*` response headers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    /// `X-Desearch-Cost-Usd`.
    pub usd: Option<f64>,
    /// `X-Desearch-Usage-Count`.
    pub usage_count: Option<u64>,
    /// `X-Desearch-Service`.
    pub service: Option<String>,
    /// `X-Desearch-Currency`.
    pub currency: Option<String>,
}

impl Cost {
    /// Reads the cost headers of a response; absent or garbled ones stay `None` (a negative or
    /// non-finite cost is ignored).
    pub fn from_response(r: &Response) -> Cost {
        let text = |n: &str| {
            r.header(n)
                .map(|v| v.trim().chars().take(64).collect::<String>())
                .filter(|v| !v.is_empty())
        };
        Cost {
            usd: text("x-desearch-cost-usd")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0),
            usage_count: text("x-desearch-usage-count").and_then(|v| v.parse().ok()),
            service: text("x-desearch-service"),
            currency: text("x-desearch-currency"),
        }
    }
}

/// The answer to one search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The query as sent.
    pub query: String,
    /// Sources searched.
    pub sources: Vec<String>,
    /// Start of the time window (RFC 3339), when one was given.
    #[serde(default)]
    pub since: Option<String>,
    /// Hits, best rated first (unrated keep the service's order after the rated ones).
    pub results: Vec<SearchHit>,
    /// What the call cost.
    pub cost: Cost,
}
