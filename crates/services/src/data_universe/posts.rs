//! One post in one shape whatever the platform: the rows of our Parquet files.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::wire::count;

/// Longest text kept per post.
const MAX_TEXT_CHARS: usize = 4000;

/// A post, normalised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SocialPost {
    /// When it was posted (RFC 3339 UTC), when the platform says.
    pub datetime: Option<String>,
    /// `x`, `reddit`, `youtube`.
    pub source: String,
    /// Author's handle.
    pub username: Option<String>,
    /// The text.
    pub text: String,
    /// Link to it.
    pub uri: Option<String>,
    /// Likes (upvotes on Reddit).
    pub likes: Option<u64>,
    /// Reposts.
    pub reposts: Option<u64>,
    /// Replies (comments).
    pub replies: Option<u64>,
    /// Views.
    pub views: Option<u64>,
    /// Hashtags, space-separated.
    pub hashtags: Option<String>,
    /// Language code.
    pub language: Option<String>,
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| x.chars().take(MAX_TEXT_CHARS).collect())
}

fn time(v: &Value) -> Option<String> {
    let raw = s(v, "datetime").or_else(|| s(v, "created_at"))?;
    let dt = chrono::DateTime::parse_from_rfc3339(&raw).ok()?;
    Some(
        dt.with_timezone(&chrono::Utc)
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}

impl SocialPost {
    /// Reads one on-demand `data` entry; `None` when it has no text.
    pub(crate) fn from_on_demand(v: &Value, fallback_source: &str) -> Option<SocialPost> {
        let text = s(v, "text").or_else(|| s(v, "title"))?;
        let user = v.get("user").unwrap_or(&Value::Null);
        let tweet = v.get("tweet").unwrap_or(&Value::Null);
        let n = |k: &str| tweet.get(k).or_else(|| v.get(k)).and_then(count);
        let hashtags = tweet.get("hashtags").and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ")
        });
        Some(SocialPost {
            datetime: time(v),
            source: s(v, "source")
                .map(|x| x.to_ascii_lowercase())
                .unwrap_or_else(|| fallback_source.to_string()),
            username: s(user, "username").or_else(|| s(v, "username")),
            text,
            uri: s(v, "uri").or_else(|| s(v, "url")),
            likes: n("like_count").or_else(|| n("score")),
            reposts: n("retweet_count"),
            replies: n("reply_count").or_else(|| n("num_comments")),
            views: n("view_count"),
            hashtags: hashtags.filter(|h| !h.is_empty()),
            language: s(tweet, "language"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn on_demand_entries_normalise() {
        let p = SocialPost::from_on_demand(
            &json!({"datetime": "2026-12-05T10:00:00+01:00", "source": "X", "text": "BTC to the moon",
                    "uri": "https://x.com/a/status/1", "user": {"username": "a"},
                    "tweet": {"like_count": "5", "retweet_count": 2, "reply_count": 1, "view_count": 100,
                              "hashtags": ["#btc", "#crypto"], "language": "en"}}),
            "x",
        )
        .unwrap();
        assert_eq!(p.datetime.as_deref(), Some("2026-12-05T09:00:00Z"));
        assert_eq!(p.source, "x");
        assert_eq!(p.likes, Some(5));
        assert_eq!(p.hashtags.as_deref(), Some("#btc #crypto"));
        assert!(SocialPost::from_on_demand(&json!({"uri": "x"}), "x").is_none());
        let r = SocialPost::from_on_demand(
            &json!({"text": "hi", "datetime": "garbage", "score": -3}),
            "reddit",
        )
        .unwrap();
        assert_eq!(
            (r.source.as_str(), r.datetime, r.likes),
            ("reddit", None, None)
        );
    }
}
