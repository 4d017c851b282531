//! What to collect: an on-demand query or a Gravity task, checked before anything is sent.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// Most keywords (and usernames) of one on-demand query, as the service allows.
pub const MAX_KEYWORDS: usize = 5;
/// Most posts one on-demand query returns.
pub const MAX_LIMIT: u32 = 1000;
/// Longest keyword, topic or name accepted.
const MAX_TERM_CHARS: usize = 200;

/// A platform Data Universe collects from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// X (Twitter).
    X,
    /// Reddit.
    Reddit,
    /// YouTube (on-demand only).
    Youtube,
}

impl Platform {
    /// Our name (`x`, `reddit`, `youtube`); Gravity's `platform` too.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::Reddit => "reddit",
            Platform::Youtube => "youtube",
        }
    }

    /// The on-demand `source` value (`X`, `REDDIT`, `YOUTUBE`).
    pub fn source(self) -> &'static str {
        match self {
            Platform::X => "X",
            Platform::Reddit => "REDDIT",
            Platform::Youtube => "YOUTUBE",
        }
    }

    /// Parses `x` (or `twitter`), `reddit`, `youtube`.
    pub fn parse(s: &str) -> Result<Platform, ServiceError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x" | "twitter" => Ok(Platform::X),
            "reddit" => Ok(Platform::Reddit),
            "youtube" | "yt" => Ok(Platform::Youtube),
            _ => Err(ServiceError::Invalid(format!(
                "unknown platform {s:?}; choose x, reddit or youtube"
            ))),
        }
    }
}

/// Parses `2026-12-01`, `2026-12-01T10:00:00Z` (any RFC 3339) into UTC.
pub fn parse_date(s: &str) -> Result<DateTime<Utc>, ServiceError> {
    let t = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(t) {
        return Ok(d.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc())
        .ok_or_else(|| {
            ServiceError::Invalid(format!(
                "{s:?} is not a date: write 2026-12-01 or 2026-12-01T10:00:00Z"
            ))
        })
}

fn check_terms(what: &str, terms: &[String]) -> Result<(), ServiceError> {
    if terms.len() > MAX_KEYWORDS {
        return Err(ServiceError::Invalid(format!(
            "at most {MAX_KEYWORDS} {what} per query"
        )));
    }
    for t in terms {
        let n = t.trim().chars().count();
        if n == 0 || n > MAX_TERM_CHARS || t.chars().any(char::is_control) {
            return Err(ServiceError::Invalid(format!(
                "{what}: {t:?} must be 1-{MAX_TERM_CHARS} printable characters"
            )));
        }
    }
    Ok(())
}

fn check_window(
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) -> Result<(), ServiceError> {
    if let (Some(s), Some(e)) = (start, end) {
        if s >= e {
            return Err(ServiceError::Invalid(
                "the start date must be before the end date".into(),
            ));
        }
    }
    Ok(())
}

/// An on-demand query (`OnDemandData`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnDemandQuery {
    /// Where to look.
    pub platform: Platform,
    /// Words to match (≤ 5; for Reddit the first may be the subreddit `r/…`).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Authors (≤ 5, X only).
    #[serde(default)]
    pub usernames: Vec<String>,
    /// Posted at or after (default: the service's, the last 24 h).
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    /// Posted before.
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
    /// Most posts (1–1000).
    pub limit: u32,
    /// Every keyword must match (`all`), not any of them (`any`).
    #[serde(default = "yes")]
    pub match_all: bool,
}

fn yes() -> bool {
    true
}

impl OnDemandQuery {
    /// A query for `keywords` on `platform`, 100 posts, every keyword matching.
    pub fn new(platform: Platform, keywords: Vec<String>) -> Self {
        Self {
            platform,
            keywords,
            usernames: Vec::new(),
            start: None,
            end: None,
            limit: 100,
            match_all: true,
        }
    }

    /// Refuses what the service would: no keyword or user, too many, users outside X, a limit
    /// outside 1–1000, a window that ends before it starts.
    pub fn check(&self) -> Result<(), ServiceError> {
        if self.keywords.is_empty() && self.usernames.is_empty() {
            return Err(ServiceError::Invalid(
                "name at least one keyword or username".into(),
            ));
        }
        check_terms("keywords", &self.keywords)?;
        check_terms("usernames", &self.usernames)?;
        if !self.usernames.is_empty() && self.platform != Platform::X {
            return Err(ServiceError::Invalid(
                "usernames work on X only".to_string(),
            ));
        }
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(ServiceError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        check_window(self.start, self.end)
    }
}

/// A Gravity task (`CreateGravityTask`): one topic or keyword on one platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GravitySpec {
    /// X or Reddit.
    pub platform: Platform,
    /// `#hashtag` or `$cashtag` on X, `r/subreddit` on Reddit.
    #[serde(default)]
    pub topic: Option<String>,
    /// A keyword to match (with or without a topic).
    #[serde(default)]
    pub keyword: Option<String>,
    /// Posts from.
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    /// Posts until.
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
    /// The task's name.
    #[serde(default)]
    pub name: Option<String>,
}

impl GravitySpec {
    /// Refuses a YouTube task, one with neither topic nor keyword, a topic of the wrong form.
    pub fn check(&self) -> Result<(), ServiceError> {
        if self.platform == Platform::Youtube {
            return Err(ServiceError::Invalid(
                "Gravity collects from x or reddit only".into(),
            ));
        }
        let terms: Vec<String> = self
            .topic
            .iter()
            .chain(self.keyword.iter())
            .chain(self.name.iter())
            .cloned()
            .collect();
        check_terms("topic, keyword and name", &terms)?;
        match (&self.topic, &self.keyword) {
            (None, None) => {
                return Err(ServiceError::Invalid(
                    "name a topic (--topic) or a keyword (--keyword)".into(),
                ))
            }
            (Some(t), _) => {
                let t = t.trim();
                let ok = match self.platform {
                    Platform::X => t.starts_with('#') || t.starts_with('$'),
                    _ => t.starts_with("r/"),
                };
                if !ok {
                    return Err(ServiceError::Invalid(format!(
                        "topic {t:?}: on X write #hashtag or $cashtag, on Reddit r/subreddit"
                    )));
                }
            }
            _ => {}
        }
        check_window(self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_checked() {
        let mut q = OnDemandQuery::new(Platform::X, vec!["bitcoin".into()]);
        assert!(q.check().is_ok());
        q.keywords = (0..6).map(|i| format!("k{i}")).collect();
        assert!(q.check().is_err());
        q.keywords = vec!["a\nb".into()];
        assert!(q.check().is_err());
        q.keywords = vec![];
        assert!(q.check().is_err(), "nothing to look for");
        q.usernames = vec!["elonmusk".into()];
        assert!(q.check().is_ok());
        q.platform = Platform::Reddit;
        assert!(q.check().is_err(), "usernames on X only");
        let mut q = OnDemandQuery::new(Platform::Reddit, vec!["r/bitcoin".into()]);
        q.limit = 1001;
        assert!(q.check().is_err());
        q.limit = 10;
        q.start = Some(parse_date("2026-12-02").unwrap());
        q.end = Some(parse_date("2026-12-01").unwrap());
        assert!(q.check().is_err());
    }

    #[test]
    fn gravity_topics_have_the_platform_form() {
        let spec = |p, t: &str| GravitySpec {
            platform: p,
            topic: Some(t.into()),
            keyword: None,
            start: None,
            end: None,
            name: None,
        };
        assert!(spec(Platform::X, "$BTC").check().is_ok());
        assert!(spec(Platform::X, "#bitcoin").check().is_ok());
        assert!(spec(Platform::X, "bitcoin").check().is_err());
        assert!(spec(Platform::Reddit, "r/CryptoCurrency").check().is_ok());
        assert!(spec(Platform::Reddit, "#btc").check().is_err());
        assert!(spec(Platform::Youtube, "#btc").check().is_err());
        let mut s = spec(Platform::X, "$SOL");
        s.topic = None;
        assert!(s.check().is_err());
        s.keyword = Some("solana".into());
        assert!(s.check().is_ok());
    }

    #[test]
    fn dates_and_platforms_parse() {
        assert_eq!(
            parse_date("2026-12-01").unwrap().to_rfc3339(),
            "2026-12-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_date("2026-12-01T10:00:00+02:00")
                .unwrap()
                .to_rfc3339(),
            "2026-12-01T08:00:00+00:00"
        );
        assert!(parse_date("yesterday").is_err());
        assert_eq!(Platform::parse("Twitter").unwrap(), Platform::X);
        assert!(Platform::parse("myspace").is_err());
    }
}
