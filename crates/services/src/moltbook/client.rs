//! The Moltbook REST client: register and claim, profile, feeds and submolts, post, comment,
//! vote, follow, subscribe, and the anti-spam verification, within the platform's limits.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use super::types::{field, payload, ClaimStatus, Comment, FeedPage, Post, Registration, Submolt};
use crate::http::{Auth, HttpClient, HttpSettings};
use crate::{Retry, Secret, ServiceError, ServiceResult};

/// Service name in messages.
pub const SERVICE: &str = "Moltbook";
/// The API key variable.
pub const API_KEY_ENV: &str = "MOLTBOOK_API_KEY";
/// Base URL override (self-hosted stubs, tests).
pub const BASE_URL_ENV: &str = "MOLTBOOK_BASE_URL";
/// The API. Always `www`: the apex domain redirects and drops `Authorization`.
pub const DEFAULT_BASE_URL: &str = "https://www.moltbook.com/api/v1";

/// Moltbook's documented limits, enforced on this side too (the server answers 429 past them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests per rolling minute.
    pub per_minute: usize,
    /// Shortest time between two posts.
    pub post_every: Duration,
    /// Shortest time between two comments (waited out).
    pub comment_every: Duration,
    /// Comments per UTC day.
    pub comments_per_day: u32,
}

impl Limits {
    /// An established agent: 100 requests/min, 1 post per 30 min, 1 comment per 20 s, 50/day.
    pub const ESTABLISHED: Limits = Limits {
        per_minute: 100,
        post_every: Duration::from_secs(30 * 60),
        comment_every: Duration::from_secs(20),
        comments_per_day: 50,
    };
    /// An agent younger than 24 h: 1 post per 2 h, 60 s between comments, 20/day.
    pub const NEW_AGENT: Limits = Limits {
        per_minute: 100,
        post_every: Duration::from_secs(2 * 3600),
        comment_every: Duration::from_secs(60),
        comments_per_day: 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Self::ESTABLISHED
    }
}

#[derive(Debug, Default)]
struct Usage {
    requests: VecDeque<Instant>,
    last_post: Option<Instant>,
    last_comment: Option<Instant>,
    comment_day: u64,
    comments_today: u32,
}

fn utc_day() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0)
}

/// A client for one agent (or, without a key, for registering one).
#[derive(Debug, Clone)]
pub struct MoltbookClient {
    http: HttpClient,
    /// Posts are not retried on 429 (the cooldown is 30 minutes or more).
    no_retry: HttpClient,
    limits: Limits,
    usage: Arc<Mutex<Usage>>,
}

/// Refuses a base URL that would leak or lose the key: the apex `moltbook.com` (it redirects
/// and strips `Authorization`), and plain `http://` anywhere but loopback.
pub fn check_base_url(base: &str) -> ServiceResult<()> {
    let url = reqwest::Url::parse(base)
        .map_err(|e| ServiceError::Invalid(format!("{BASE_URL_ENV}: bad URL {base:?}: {e}")))?;
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if host == "moltbook.com" {
        return Err(ServiceError::Invalid(format!(
            "{base}: use https://www.moltbook.com (the apex domain redirects and drops the \
             Authorization header)"
        )));
    }
    let loopback = matches!(host.as_str(), "127.0.0.1" | "localhost" | "[::1]" | "::1");
    if url.scheme() != "https" && !loopback {
        return Err(ServiceError::Invalid(format!(
            "{base}: Moltbook keys go over https only"
        )));
    }
    Ok(())
}

/// Checks an id or name put into a URL path (`[A-Za-z0-9_.-]`, 1-128).
fn segment(kind: &str, s: &str) -> ServiceResult<String> {
    let ok = !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(s.to_string())
    } else {
        Err(ServiceError::Invalid(format!(
            "{kind} {s:?}: not a Moltbook {kind}"
        )))
    }
}

/// Sort and filter of a feed read.
#[derive(Debug, Clone, Default)]
pub struct FeedQuery {
    /// `hot`, `new`, `top` (and `rising` for posts).
    pub sort: Option<String>,
    /// `all` or `following` (personal feed only).
    pub filter: Option<String>,
    /// Only this submolt (posts only).
    pub submolt: Option<String>,
    /// Page size (Moltbook's default 25).
    pub limit: Option<u32>,
    /// Cursor from the previous page.
    pub cursor: Option<String>,
}

impl FeedQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(s) = &self.sort {
            q.push(("sort", s.clone()));
        }
        if let Some(s) = &self.filter {
            q.push(("filter", s.clone()));
        }
        if let Some(s) = &self.submolt {
            q.push(("submolt", s.clone()));
        }
        if let Some(n) = self.limit {
            q.push(("limit", n.min(100).to_string()));
        }
        if let Some(c) = &self.cursor {
            q.push(("cursor", c.clone()));
        }
        q
    }
}

/// A new post: text or link.
#[derive(Debug, Clone)]
pub struct NewPost {
    /// Submolt to post in (crypto content only where the submolt allows it).
    pub submolt: String,
    /// Title.
    pub title: String,
    /// Text.
    pub content: Option<String>,
    /// Link.
    pub url: Option<String>,
}

impl MoltbookClient {
    /// A client at `base_url` with `key` (none: registration only).
    pub fn new(base_url: &str, key: Option<Secret>, limits: Limits) -> ServiceResult<Self> {
        Self::with_settings(base_url, key, limits, Self::default_settings())
    }

    /// Timeouts and retries used by [`MoltbookClient::new`]: 30 s per request, 4 MiB answers.
    pub fn default_settings() -> HttpSettings {
        HttpSettings {
            timeout: Duration::from_secs(30),
            max_body: 4 * 1024 * 1024,
            ..HttpSettings::default()
        }
    }

    /// A client with its own HTTP settings (tests shorten the back-off).
    pub fn with_settings(
        base_url: &str,
        key: Option<Secret>,
        limits: Limits,
        settings: HttpSettings,
    ) -> ServiceResult<Self> {
        check_base_url(base_url)?;
        let auth = key.map_or(Auth::None, Auth::Bearer);
        let http = HttpClient::new(SERVICE, base_url, auth.clone(), settings.clone())?;
        let no_retry = HttpClient::new(
            SERVICE,
            base_url,
            auth,
            HttpSettings {
                max_retries: 0,
                ..settings
            },
        )?;
        Ok(Self {
            http,
            no_retry,
            limits,
            usage: Arc::new(Mutex::new(Usage::default())),
        })
    }

    /// From the environment: key from `MOLTBOOK_API_KEY`, else the credentials file
    /// ([`super::credentials::Credentials::load`]); base URL from `MOLTBOOK_BASE_URL`.
    pub fn from_env() -> ServiceResult<Self> {
        let key = match crate::env::secret(SERVICE, API_KEY_ENV) {
            Ok(k) => k,
            Err(e) => match super::credentials::Credentials::load(None) {
                Ok(Some(c)) => c.api_key,
                _ => return Err(e),
            },
        };
        Self::new(&base_url(), Some(key), Limits::default())
    }

    /// The limits this client keeps.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Waits for a slot in the rolling minute.
    async fn pace(&self) {
        loop {
            let wait = {
                let mut u = self.usage.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                while u
                    .requests
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
                {
                    u.requests.pop_front();
                }
                if u.requests.len() < self.limits.per_minute.max(1) {
                    u.requests.push_back(now);
                    None
                } else {
                    u.requests
                        .front()
                        .map(|t| Duration::from_secs(60).saturating_sub(now.duration_since(*t)))
                }
            };
            match wait {
                None => return,
                Some(d) => tokio::time::sleep(d.max(Duration::from_millis(10))).await,
            }
        }
    }

    async fn get(&self, path: &str, query: &[(&str, String)]) -> ServiceResult<Value> {
        self.pace().await;
        let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.http.get_json(path, &q).await
    }

    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> ServiceResult<Value> {
        self.pace().await;
        match body {
            Some(b) => self.http.json(method, path, &b, Retry::Once).await,
            None => self
                .http
                .send(method, path, Retry::Once, |rb| rb)
                .await?
                .json(SERVICE),
        }
    }

    /// Registers a new agent (no key needed). The key in the answer is shown once: store it
    /// ([`super::credentials::Credentials::save`]) and send the claim URL to the human owner.
    pub async fn register(&self, name: &str, description: &str) -> ServiceResult<Registration> {
        let v = self
            .send(
                Method::POST,
                "/agents/register",
                Some(json!({"name": name, "description": description})),
            )
            .await?;
        let agent = field(&v, "agent").unwrap_or(&v);
        serde_json::from_value(agent.clone()).map_err(|e| ServiceError::Parse {
            service: SERVICE,
            detail: format!("registration answer: {e}"),
        })
    }

    /// Claim status (`pending_claim` until the owner has claimed the agent, then `claimed`).
    pub async fn status(&self) -> ServiceResult<ClaimStatus> {
        let v = self.get("/agents/status", &[]).await?;
        parse(payload(&v).clone(), "status")
    }

    /// The agent's own profile (as Moltbook returns it).
    pub async fn me(&self) -> ServiceResult<Value> {
        self.get("/agents/me", &[]).await
    }

    /// The personal feed (subscriptions and follows).
    pub async fn feed(&self, q: &FeedQuery) -> ServiceResult<FeedPage> {
        let v = self.get("/feed", &q.pairs()).await?;
        parse(payload(&v).clone(), "feed")
    }

    /// All posts (optionally of one submolt).
    pub async fn posts(&self, q: &FeedQuery) -> ServiceResult<FeedPage> {
        let v = self.get("/posts", &q.pairs()).await?;
        parse(payload(&v).clone(), "posts")
    }

    /// One post.
    pub async fn get_post(&self, id: &str) -> ServiceResult<Post> {
        let v = self
            .get(&format!("/posts/{}", segment("post id", id)?), &[])
            .await?;
        let p = field(&v, "post").unwrap_or(payload(&v));
        parse(p.clone(), "post")
    }

    /// Every submolt.
    pub async fn submolts(&self) -> ServiceResult<Vec<Submolt>> {
        let v = self.get("/submolts", &[]).await?;
        let list = field(&v, "submolts").unwrap_or(payload(&v));
        parse(list.clone(), "submolts")
    }

    /// One submolt's feed.
    pub async fn submolt_feed(&self, name: &str, sort: Option<&str>) -> ServiceResult<FeedPage> {
        let q: Vec<(&str, String)> = sort.map(|s| ("sort", s.to_string())).into_iter().collect();
        let v = self
            .get(&format!("/submolts/{}/feed", segment("submolt", name)?), &q)
            .await?;
        parse(payload(&v).clone(), "submolt feed")
    }

    /// Creates a post; at most one per [`Limits::post_every`] from this client, and a 429 is
    /// not retried (the server's cooldown is long). The post may carry a [`super::Challenge`].
    pub async fn post(&self, p: &NewPost) -> ServiceResult<Post> {
        segment("submolt", &p.submolt)?;
        if p.content.is_none() == p.url.is_none() {
            return Err(ServiceError::Invalid(
                "a post has either text or a link".into(),
            ));
        }
        {
            let u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(t) = u.last_post {
                let since = t.elapsed();
                if since < self.limits.post_every {
                    let left = (self.limits.post_every - since).as_secs().div_ceil(60);
                    return Err(ServiceError::Invalid(format!(
                        "Moltbook allows one post per {} min; the next in {left} min",
                        self.limits.post_every.as_secs() / 60
                    )));
                }
            }
        }
        let mut body = json!({"submolt": p.submolt, "title": p.title});
        if let Some(c) = &p.content {
            body["content"] = json!(c);
        }
        if let Some(u) = &p.url {
            body["url"] = json!(u);
        }
        self.pace().await;
        let res = self
            .no_retry
            .json::<_, Value>(Method::POST, "/posts", &body, Retry::Once)
            .await;
        if matches!(res, Ok(_) | Err(ServiceError::RateLimited { .. })) {
            self.usage
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .last_post = Some(Instant::now());
        }
        let v = res?;
        let post = field(&v, "post").unwrap_or(payload(&v));
        parse(post.clone(), "new post")
    }

    /// Comments on a post (a reply when `parent_id` is given): waits out the comment interval,
    /// refuses past the daily cap; a 429 is retried after its `Retry-After`.
    pub async fn comment(
        &self,
        post_id: &str,
        content: &str,
        parent_id: Option<&str>,
    ) -> ServiceResult<Comment> {
        let path = format!("/posts/{}/comments", segment("post id", post_id)?);
        if let Some(p) = parent_id {
            segment("comment id", p)?;
        }
        let wait = {
            let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
            let day = utc_day();
            if u.comment_day != day {
                u.comment_day = day;
                u.comments_today = 0;
            }
            if u.comments_today >= self.limits.comments_per_day {
                return Err(ServiceError::Invalid(format!(
                    "Moltbook allows {} comments a day; the cap is reached",
                    self.limits.comments_per_day
                )));
            }
            u.last_comment
                .map(|t| self.limits.comment_every.saturating_sub(t.elapsed()))
                .unwrap_or_default()
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let mut body = json!({"content": content});
        if let Some(p) = parent_id {
            body["parent_id"] = json!(p);
        }
        let v = self.send(Method::POST, &path, Some(body)).await?;
        {
            let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner());
            u.last_comment = Some(Instant::now());
            u.comments_today += 1;
        }
        let c = field(&v, "comment").unwrap_or(payload(&v));
        parse(c.clone(), "new comment")
    }

    /// A post's comments (`top`, `new` or `controversial`).
    pub async fn comments(&self, post_id: &str, sort: Option<&str>) -> ServiceResult<Vec<Comment>> {
        let q: Vec<(&str, String)> = sort.map(|s| ("sort", s.to_string())).into_iter().collect();
        let v = self
            .get(
                &format!("/posts/{}/comments", segment("post id", post_id)?),
                &q,
            )
            .await?;
        let list = field(&v, "comments").unwrap_or(payload(&v));
        parse(list.clone(), "comments")
    }

    /// Upvotes (`up`) or downvotes a post.
    pub async fn vote_post(&self, post_id: &str, up: bool) -> ServiceResult<Value> {
        let dir = if up { "upvote" } else { "downvote" };
        self.send(
            Method::POST,
            &format!("/posts/{}/{dir}", segment("post id", post_id)?),
            None,
        )
        .await
    }

    /// Upvotes a comment.
    pub async fn upvote_comment(&self, comment_id: &str) -> ServiceResult<Value> {
        self.send(
            Method::POST,
            &format!("/comments/{}/upvote", segment("comment id", comment_id)?),
            None,
        )
        .await
    }

    /// Follows (or, with `follow: false`, unfollows) an agent.
    pub async fn follow(&self, name: &str, follow: bool) -> ServiceResult<Value> {
        let m = if follow { Method::POST } else { Method::DELETE };
        self.send(
            m,
            &format!("/agents/{}/follow", segment("agent", name)?),
            None,
        )
        .await
    }

    /// Subscribes to (or unsubscribes from) a submolt.
    pub async fn subscribe(&self, submolt: &str, on: bool) -> ServiceResult<Value> {
        let m = if on { Method::POST } else { Method::DELETE };
        self.send(
            m,
            &format!("/submolts/{}/subscribe", segment("submolt", submolt)?),
            None,
        )
        .await
    }

    /// Answers a verification challenge (`answer` as a number, e.g. `15.00`). Ten failures in
    /// a row suspend the account: answer only what was solved.
    pub async fn verify(&self, code: &str, answer: &str) -> ServiceResult<Value> {
        let a = answer.trim();
        let n: f64 = a
            .parse()
            .map_err(|_| ServiceError::Invalid(format!("answer {a:?} is not a number")))?;
        self.send(
            Method::POST,
            "/verify",
            Some(json!({"verification_code": code, "answer": format!("{n:.2}")})),
        )
        .await
    }
}

/// The base URL from `MOLTBOOK_BASE_URL`, else the public API.
pub fn base_url() -> String {
    crate::env::base_url(BASE_URL_ENV, DEFAULT_BASE_URL)
}

fn parse<T: serde::de::DeserializeOwned>(v: Value, what: &str) -> ServiceResult<T> {
    serde_json::from_value(v).map_err(|e| ServiceError::Parse {
        service: SERVICE,
        detail: format!("{what}: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_that_would_lose_or_leak_the_key_are_refused() {
        assert!(check_base_url(DEFAULT_BASE_URL).is_ok());
        assert!(check_base_url("http://127.0.0.1:9/api/v1").is_ok());
        assert!(check_base_url("https://moltbook.com/api/v1").is_err());
        assert!(check_base_url("http://www.moltbook.com/api/v1").is_err());
    }

    #[test]
    fn path_segments_are_checked() {
        assert!(segment("post id", "3f2a-99_b").is_ok());
        for bad in ["", "..", "a/b", "a?b", "a b"] {
            assert!(segment("post id", bad).is_err(), "{bad:?}");
        }
    }
}
