//! What to search for: the query text, the sources, how far back, how many hits — checked
//! before anything is sent.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// Most hits one search returns (the service's `count` is 10–200).
pub const MAX_LIMIT: usize = 200;
/// Longest query text accepted.
pub const MAX_QUERY_CHARS: usize = 1000;
/// Sources searched when none are named.
pub const DEFAULT_SOURCES: &[Source] = &[Source::Twitter, Source::Reddit, Source::Web];

/// A place Desearch searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// X (Twitter) posts.
    Twitter,
    /// Reddit posts.
    Reddit,
    /// Web pages.
    Web,
    /// Hacker News.
    Hackernews,
    /// YouTube videos.
    Youtube,
    /// Wikipedia articles.
    Wikipedia,
    /// arXiv papers.
    Arxiv,
}

impl Source {
    /// Every source.
    pub const ALL: &'static [Source] = &[
        Source::Twitter,
        Source::Reddit,
        Source::Web,
        Source::Hackernews,
        Source::Youtube,
        Source::Wikipedia,
        Source::Arxiv,
    ];

    /// The name the service (and our output) uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Twitter => "twitter",
            Source::Reddit => "reddit",
            Source::Web => "web",
            Source::Hackernews => "hackernews",
            Source::Youtube => "youtube",
            Source::Wikipedia => "wikipedia",
            Source::Arxiv => "arxiv",
        }
    }

    /// Parses a source name (`x` and `hn` are accepted as aliases).
    pub fn parse(s: &str) -> Result<Source, ServiceError> {
        let t = s.trim().to_ascii_lowercase();
        let found = match t.as_str() {
            "x" => Some(Source::Twitter),
            "hn" | "hacker_news" => Some(Source::Hackernews),
            _ => Source::ALL.iter().copied().find(|x| x.as_str() == t),
        };
        found.ok_or_else(|| {
            let names: Vec<&str> = Source::ALL.iter().map(|s| s.as_str()).collect();
            ServiceError::Invalid(format!(
                "unknown source {s:?}; choose from {}",
                names.join(", ")
            ))
        })
    }

    /// Parses a comma-separated list (`twitter,reddit,web`); duplicates are dropped.
    pub fn parse_list(s: &str) -> Result<Vec<Source>, ServiceError> {
        let mut out: Vec<Source> = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let src = Source::parse(part)?;
            if !out.contains(&src) {
                out.push(src);
            }
        }
        if out.is_empty() {
            return Err(ServiceError::Invalid("no source named".into()));
        }
        Ok(out)
    }
}

/// Parses a look-back such as `90m`, `24h`, `7d` or `2w` (at most two years).
pub fn parse_since(s: &str) -> Result<Duration, ServiceError> {
    let t = s.trim().to_ascii_lowercase();
    let bad = || {
        ServiceError::Invalid(format!(
            "--since {s:?}: write a number and a unit, e.g. 30m, 24h, 7d or 2w"
        ))
    };
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    let total = n.checked_mul(secs).ok_or_else(bad)?;
    if total == 0 || total > 2 * 366 * 86_400 {
        return Err(ServiceError::Invalid(format!(
            "--since {s:?}: between one minute and two years"
        )));
    }
    Ok(Duration::from_secs(total))
}

/// One search.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchQuery {
    /// What to look for.
    pub text: String,
    /// Where to look (never empty once checked).
    pub sources: Vec<Source>,
    /// Only what was posted within this long before now.
    pub since: Option<Duration>,
    /// Most hits returned (1–[`MAX_LIMIT`]).
    pub limit: usize,
}

impl SearchQuery {
    /// A query over the default sources, the last 24 hours, 20 hits.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            sources: DEFAULT_SOURCES.to_vec(),
            since: Some(Duration::from_secs(86_400)),
            limit: 20,
        }
    }

    /// Refuses an empty or overlong query, no sources, or a limit outside 1–200.
    pub fn check(&self) -> Result<(), ServiceError> {
        let n = self.text.trim().chars().count();
        if n == 0 {
            return Err(ServiceError::Invalid("the search query is empty".into()));
        }
        if n > MAX_QUERY_CHARS {
            return Err(ServiceError::Invalid(format!(
                "the search query is longer than {MAX_QUERY_CHARS} characters"
            )));
        }
        if self.sources.is_empty() {
            return Err(ServiceError::Invalid("no source to search".into()));
        }
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(ServiceError::Invalid(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_since_parse_and_refuse_garbage() {
        assert_eq!(
            Source::parse_list("twitter, X,reddit,web").unwrap(),
            vec![Source::Twitter, Source::Reddit, Source::Web]
        );
        assert!(Source::parse_list("twitter,myspace").is_err());
        assert!(Source::parse_list(" , ").is_err());
        assert_eq!(parse_since("24h").unwrap(), Duration::from_secs(86_400));
        assert_eq!(parse_since("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(parse_since("2w").unwrap(), Duration::from_secs(14 * 86_400));
        for bad in [
            "",
            "h",
            "24",
            "0h",
            "3y",
            "99999999999999999999d",
            "1000w",
            "-1h",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_are_checked() {
        assert!(SearchQuery::new("btc etf").check().is_ok());
        assert!(SearchQuery::new("  ").check().is_err());
        assert!(SearchQuery::new("x".repeat(1001)).check().is_err());
        let mut q = SearchQuery::new("a");
        q.limit = 0;
        assert!(q.check().is_err());
        q.limit = 201;
        assert!(q.check().is_err());
        q.limit = 5;
        q.sources.clear();
        assert!(q.check().is_err());
    }
}
