//! Worker addresses and tokens from the environment.

use std::fmt;

/// The coordinator's list of workers: `url=token` entries separated by commas
/// (`http://10.0.0.5:7070=s3cret,http://10.0.0.6:7070=other`).
pub const WORKERS_ENV: &str = "SYNTH_CITY_WORKERS";

/// The token a worker requires (`Authorization: Bearer <token>`).
pub const WORKER_TOKEN_ENV: &str = "SYNTH_CITY_WORKER_TOKEN";

/// One worker: its base URL and token. The token never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct WorkerAddr {
    /// Base URL, no trailing `/`.
    pub url: String,
    /// Bearer token (may be empty for a loopback worker started without one).
    pub token: String,
}

impl fmt::Debug for WorkerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerAddr")
            .field("url", &self.url)
            .field("token", &"***")
            .finish()
    }
}

impl WorkerAddr {
    /// A worker at `url` with `token`.
    pub fn new(url: &str, token: &str) -> Self {
        Self {
            url: url.trim().trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
        }
    }
}

/// Parses a `SYNTH_CITY_WORKERS` value. Errors name the bad entry by position, never its token.
pub fn parse_workers(s: &str) -> Result<Vec<WorkerAddr>, String> {
    let mut out = Vec::new();
    for (i, entry) in s.split(',').map(str::trim).enumerate() {
        if entry.is_empty() {
            continue;
        }
        let (url, token) = entry.split_once('=').unwrap_or((entry, ""));
        let url = url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
            return Err(format!(
                "{WORKERS_ENV}: entry {} must be http(s)://host:port=token",
                i + 1
            ));
        }
        out.push(WorkerAddr::new(url, token));
    }
    Ok(out)
}

/// The workers named in `SYNTH_CITY_WORKERS` (empty when unset).
pub fn workers_from_env() -> Result<Vec<WorkerAddr>, String> {
    match std::env::var(WORKERS_ENV) {
        Ok(v) => parse_workers(&v),
        Err(_) => Ok(Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_hides_tokens() {
        let w =
            parse_workers(" http://127.0.0.1:7070/=abc=, https://gpu.example:443=t2 ,").unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].url, "http://127.0.0.1:7070");
        assert_eq!(w[0].token, "abc=");
        assert_eq!(w[1].token, "t2");
        assert!(!format!("{w:?}").contains("abc"));
        let e = parse_workers("ftp://x=secret").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert!(parse_workers("").unwrap().is_empty());
    }
}
