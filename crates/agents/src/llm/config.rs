//! Where the LLM lives and how to reach it, from the environment. Chutes by default
//! (`https://llm.chutes.ai/v1`, `CHUTES_API_KEY`); any OpenAI-compatible server through
//! `LLM_BASE_URL` / `LLM_API_KEY`. The key never appears in `Debug` output or logs.

use std::fmt;
use std::time::Duration;

/// Chutes' OpenAI-compatible endpoint.
pub const CHUTES_BASE_URL: &str = "https://llm.chutes.ai/v1";
/// Model used when neither `LLM_MODEL` nor a per-agent `<AGENT>_MODEL` is set.
pub const DEFAULT_MODEL: &str = "deepseek-ai/DeepSeek-V3.2-TEE";

/// USD per one million tokens, for cost accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pricing {
    /// Prompt (input) tokens.
    pub prompt_per_m: f64,
    /// Completion (output) tokens.
    pub completion_per_m: f64,
}

/// Connection settings of the chat-completions client.
#[derive(Clone)]
pub struct LlmConfig {
    /// Base URL ending in `/v1` (the client appends `/chat/completions`).
    pub base_url: String,
    /// Bearer key; `None` for servers that need none.
    api_key: Option<String>,
    /// Default model id.
    pub model: String,
    /// Whole-request timeout.
    pub request_timeout: Duration,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Retries after the first attempt on 429, 5xx, timeouts and connection errors.
    pub max_retries: u32,
    /// First back-off delay; doubles each retry (with jitter), capped at `max_backoff`.
    pub base_backoff: Duration,
    /// Longest single back-off (also caps a server's `Retry-After`).
    pub max_backoff: Duration,
    /// Token prices, when known (`LLM_PRICE_PROMPT` / `LLM_PRICE_COMPLETION`, USD per 1M).
    pub pricing: Option<Pricing>,
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("model", &self.model)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .finish()
    }
}

impl LlmConfig {
    /// Settings for `base_url` with an optional key and default timeouts and retries.
    pub fn new(
        base_url: impl Into<String>,
        api_key: Option<String>,
        model: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: api_key.filter(|k| !k.trim().is_empty()),
            model: model.into(),
            request_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(30),
            max_retries: 4,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(60),
            pricing: None,
        }
    }

    /// Reads the environment. `None` when no LLM is configured (no `LLM_BASE_URL` and no
    /// `CHUTES_API_KEY`): callers then use the built-in planner.
    pub fn from_env() -> Option<Self> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    /// As [`LlmConfig::from_env`], reading variables through `get` (for tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let model = get("LLM_MODEL").unwrap_or_else(|| DEFAULT_MODEL.to_string());
        let mut cfg = if let Some(url) = get("LLM_BASE_URL") {
            Self::new(url, get("LLM_API_KEY"), model)
        } else {
            let key = get("CHUTES_API_KEY")?;
            let url = get("CHUTES_BASE_URL").unwrap_or_else(|| CHUTES_BASE_URL.to_string());
            Self::new(url, Some(key), model)
        };
        if let Some(s) = get("LLM_TIMEOUT_SECS").and_then(|s| s.parse::<u64>().ok()) {
            // 1 s to 1 hour: a request never waits forever.
            cfg.request_timeout = Duration::from_secs(s.clamp(1, 3600));
        }
        if let Some(n) = get("LLM_MAX_RETRIES").and_then(|s| s.parse::<u32>().ok()) {
            cfg.max_retries = n.min(10);
        }
        let price = |k: &str| {
            get(k)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|p| p.is_finite() && *p >= 0.0)
        };
        if let (Some(p), Some(c)) = (price("LLM_PRICE_PROMPT"), price("LLM_PRICE_COMPLETION")) {
            cfg.pricing = Some(Pricing {
                prompt_per_m: p,
                completion_per_m: c,
            });
        }
        Some(cfg)
    }

    /// The model for agent `agent`: `<AGENT>_MODEL` (e.g. `PLANNER_MODEL`) or the default.
    pub fn model_for(&self, agent: &str) -> String {
        let var = format!("{}_MODEL", agent.to_ascii_uppercase());
        std::env::var(var)
            .ok()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or_else(|| self.model.clone())
    }

    /// True when a key is set.
    pub fn has_key(&self) -> bool {
        self.api_key.is_some()
    }

    pub(crate) fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn chutes_by_default_and_none_without_key() {
        assert!(LlmConfig::from_lookup(env(&[])).is_none());
        let c = LlmConfig::from_lookup(env(&[("CHUTES_API_KEY", "cpk_secret")])).unwrap();
        assert_eq!(c.base_url, CHUTES_BASE_URL);
        assert_eq!(c.model, DEFAULT_MODEL);
        assert!(c.has_key());
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("cpk_secret"), "{dbg}");
        assert!(dbg.contains("<redacted>"));
    }

    #[test]
    fn timeouts_and_retries_from_the_environment_are_bounded() {
        let c = LlmConfig::from_lookup(env(&[
            ("CHUTES_API_KEY", "k"),
            ("LLM_TIMEOUT_SECS", "18446744073709551615"),
            ("LLM_MAX_RETRIES", "4000000000"),
        ]))
        .unwrap();
        assert_eq!(c.request_timeout, Duration::from_secs(3600));
        assert_eq!(c.max_retries, 10);
    }

    #[test]
    fn llm_base_url_overrides_and_key_is_optional() {
        let c = LlmConfig::from_lookup(env(&[
            ("LLM_BASE_URL", "http://127.0.0.1:9/v1/"),
            ("CHUTES_API_KEY", "cpk"),
            ("LLM_MODEL", "m"),
            ("LLM_PRICE_PROMPT", "0.5"),
            ("LLM_PRICE_COMPLETION", "2"),
        ]))
        .unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:9/v1");
        assert!(!c.has_key());
        assert_eq!(c.model, "m");
        assert_eq!(
            c.pricing,
            Some(Pricing {
                prompt_per_m: 0.5,
                completion_per_m: 2.0
            })
        );
    }
}
