//! The service's JSON as it arrives (tolerant: every field optional, unknown fields ignored)
//! and its normalisation into [`SearchHit`]s.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use super::results::SearchHit;

/// `POST /desearch/ai/search` with `result_type: ONLY_LINKS`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AiSearchResponse {
    #[serde(default)]
    tweets: Option<Vec<Value>>,
    #[serde(default)]
    reddit_search: Option<Vec<Value>>,
    #[serde(default)]
    search: Option<Vec<Value>>,
    #[serde(default)]
    hacker_news_search: Option<Vec<Value>>,
    #[serde(default)]
    youtube_search: Option<Vec<Value>>,
    #[serde(default)]
    wikipedia_search: Option<Vec<Value>>,
    #[serde(default)]
    arxiv_search: Option<Vec<Value>>,
    #[serde(default)]
    miner_link_scores: Option<HashMap<String, Value>>,
}

/// Longest text kept per hit.
const MAX_TEXT_CHARS: usize = 2000;

fn cut(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn count_at(v: &Value, key: &str) -> u64 {
    match v.get(key) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// A post time as RFC 3339 UTC: ISO 8601 or X's `Wed Oct 10 20:19:24 +0000 2018`.
pub(crate) fn normalise_time(s: &str) -> Option<String> {
    let s = s.trim();
    let dt = chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%a %b %d %H:%M:%S %z %Y"))
        .ok()?;
    Some(
        dt.with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

/// A scorer's rating as a number in [0, 1]: `HIGH`/`MEDIUM`/`LOW`, or a number (0–1, or 0–100).
fn rating(v: &Value) -> Option<f64> {
    let x = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => match s.trim().to_ascii_uppercase().as_str() {
            "HIGH" => 1.0,
            "MEDIUM" => 0.6,
            "LOW" => 0.3,
            t => t.parse().ok()?,
        },
        _ => return None,
    };
    if !x.is_finite() || x < 0.0 {
        return None;
    }
    Some(if x > 1.0 { (x / 100.0).min(1.0) } else { x })
}

fn tweet(v: &Value) -> Option<SearchHit> {
    let text = str_at(v, "text")?;
    let user = v.get("user").unwrap_or(&Value::Null);
    let author = str_at(user, "username").map(str::to_string);
    let url = str_at(v, "url").map(str::to_string).or_else(|| {
        let id = str_at(v, "id")?;
        Some(match &author {
            Some(a) => format!("https://x.com/{a}/status/{id}"),
            None => format!("https://x.com/i/status/{id}"),
        })
    })?;
    let engagement = ["like_count", "retweet_count", "reply_count", "quote_count"]
        .iter()
        .map(|k| count_at(v, k))
        .fold(0u64, u64::saturating_add);
    Some(SearchHit {
        source: "twitter".into(),
        author,
        time: str_at(v, "created_at").and_then(normalise_time),
        title: None,
        text: cut(text, MAX_TEXT_CHARS),
        url,
        score: None,
        engagement: Some(engagement),
    })
}

fn link(source: &str, v: &Value) -> Option<SearchHit> {
    let url = str_at(v, "link").or_else(|| str_at(v, "url"))?;
    let title = str_at(v, "title").map(|t| cut(t, 300));
    let text = str_at(v, "snippet")
        .or_else(|| str_at(v, "summary_description"))
        .or_else(|| str_at(v, "description"))
        .map(|t| cut(t, MAX_TEXT_CHARS))
        .or_else(|| title.clone())
        .unwrap_or_default();
    let time = ["date", "created_at", "published", "time"]
        .iter()
        .find_map(|k| str_at(v, k).and_then(normalise_time));
    let author = str_at(v, "author").map(|a| cut(a, 100));
    Some(SearchHit {
        source: source.into(),
        author,
        time,
        title,
        text,
        url: url.to_string(),
        score: None,
        engagement: None,
    })
}

impl AiSearchResponse {
    /// Every hit, normalised, rated from `miner_link_scores`, best rated first (stable
    /// otherwise), at most `limit`.
    pub(crate) fn hits(self, limit: usize) -> Vec<SearchHit> {
        let mut out: Vec<SearchHit> = Vec::new();
        out.extend(self.tweets.unwrap_or_default().iter().filter_map(tweet));
        let lists = [
            ("reddit", self.reddit_search),
            ("web", self.search),
            ("hackernews", self.hacker_news_search),
            ("youtube", self.youtube_search),
            ("wikipedia", self.wikipedia_search),
            ("arxiv", self.arxiv_search),
        ];
        for (source, list) in lists {
            out.extend(
                list.unwrap_or_default()
                    .iter()
                    .filter_map(|v| link(source, v)),
            );
        }
        let scores = self.miner_link_scores.unwrap_or_default();
        for h in &mut out {
            h.score = scores.get(&h.url).and_then(rating);
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|h| seen.insert(h.url.clone()));
        out.sort_by(|a, b| {
            b.score
                .unwrap_or(-1.0)
                .partial_cmp(&a.score.unwrap_or(-1.0))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        out.truncate(limit);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_source_normalises_and_ratings_order_the_hits() {
        let r: AiSearchResponse = serde_json::from_value(json!({
            "tweets": [{"id": "1", "text": "BTC ETF approved", "created_at": "Wed Oct 10 20:19:24 +0000 2018",
                        "like_count": 5, "retweet_count": "2", "reply_count": 1, "quote_count": 0,
                        "user": {"username": "alice"}},
                       {"id": "2"}],
            "search": [{"title": "News", "snippet": "A hack", "link": "https://ex.com/a"}],
            "reddit_search": [{"title": "r/btc", "snippet": "", "link": "https://reddit.com/r/btc/1"},
                              {"title": "dup", "snippet": "x", "link": "https://ex.com/a"}],
            "miner_link_scores": {"https://ex.com/a": "HIGH", "https://x.com/alice/status/1": "LOW"},
            "completion": "ignored", "extra": 1
        }))
        .unwrap();
        let hits = r.hits(10);
        assert_eq!(hits.len(), 3, "{hits:?}");
        assert_eq!(hits[0].url, "https://ex.com/a");
        assert_eq!(hits[0].score, Some(1.0));
        assert_eq!(hits[1].source, "twitter");
        assert_eq!(hits[1].author.as_deref(), Some("alice"));
        assert_eq!(hits[1].time.as_deref(), Some("2018-10-10T20:19:24Z"));
        assert_eq!(hits[1].engagement, Some(8));
        assert_eq!(hits[1].score, Some(0.3));
        assert_eq!(
            hits[2].text, "r/btc",
            "empty snippet falls back to the title"
        );
        assert_eq!(AiSearchResponse::default().hits(5), vec![]);
    }

    #[test]
    fn odd_ratings_and_times() {
        assert_eq!(rating(&json!("85")), Some(0.85));
        assert_eq!(rating(&json!(-1)), None);
        assert_eq!(rating(&json!("NaN")), None);
        assert_eq!(
            normalise_time("2026-12-01T10:00:00+01:00").as_deref(),
            Some("2026-12-01T09:00:00Z")
        );
        assert_eq!(normalise_time("yesterday"), None);
    }
}
