//! Pyth history client (TradingView UDF `history` endpoint), blocking.
//!
//! The Benchmarks TradingView shim that SN50 validators used was retired on 2026-08-26; the
//! default endpoint is the Pyth Pro history service that replaced it
//! (`https://history.pyth-lazer.dourolabs.app/fixed_rate@200ms/history`, no auth).
//! `$SYNTH_CITY_PYTH_URL` overrides it (tests point it at a local server).
//!
//! Long ranges are fetched in chunks of at most `max_bars` candles; 429 and 5xx answers and
//! connection errors are retried with exponential backoff (honouring `Retry-After`).

use std::time::Duration;

use reqwest::Url;
use serde::Deserialize;

use crate::symbols::SymbolTable;
use crate::{Candles, MarketError, Provenance};

/// Default history endpoint.
pub const DEFAULT_HISTORY_URL: &str =
    "https://history.pyth-lazer.dourolabs.app/fixed_rate@200ms/history";

/// Environment variable overriding the history endpoint.
pub const URL_ENV: &str = "SYNTH_CITY_PYTH_URL";

/// Settings of the client.
#[derive(Debug, Clone)]
pub struct PythConfig {
    /// The `…/history` endpoint.
    pub history_url: String,
    /// Most candles asked for per request.
    pub max_bars: u32,
    /// Retries after the first attempt on 429, 5xx or connection errors.
    pub retries: u32,
    /// First backoff; doubled on each retry.
    pub backoff: Duration,
    /// Longest wait between retries (also caps `Retry-After`).
    pub max_backoff: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Asset → symbol table.
    pub symbols: SymbolTable,
}

impl Default for PythConfig {
    fn default() -> Self {
        Self {
            history_url: DEFAULT_HISTORY_URL.to_string(),
            max_bars: 5000,
            retries: 4,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(60),
            symbols: SymbolTable::default(),
        }
    }
}

impl PythConfig {
    /// Defaults, with `$SYNTH_CITY_PYTH_URL` and `$SYNTH_CITY_PYTH_SYMBOLS` applied.
    pub fn from_env() -> Result<Self, MarketError> {
        let mut c = Self {
            symbols: SymbolTable::from_env()?,
            ..Self::default()
        };
        if let Some(u) = std::env::var(URL_ENV).ok().filter(|u| !u.is_empty()) {
            c.history_url = u;
        }
        Ok(c)
    }
}

/// The UDF history payload.
#[derive(Debug, Deserialize)]
struct Payload {
    s: String,
    #[serde(default)]
    errmsg: Option<String>,
    #[serde(default)]
    t: Vec<i64>,
    #[serde(default)]
    o: Vec<f64>,
    #[serde(default)]
    h: Vec<f64>,
    #[serde(default)]
    l: Vec<f64>,
    #[serde(default)]
    c: Vec<f64>,
}

/// A blocking Pyth history client.
#[derive(Debug, Clone)]
pub struct PythClient {
    cfg: PythConfig,
    http: reqwest::blocking::Client,
}

impl PythClient {
    /// A client with the given settings.
    pub fn new(cfg: PythConfig) -> Result<Self, MarketError> {
        Url::parse(&cfg.history_url).map_err(|e| {
            MarketError::Invalid(format!("bad history URL {:?}: {e}", cfg.history_url))
        })?;
        let http = reqwest::blocking::Client::builder()
            .timeout(cfg.timeout)
            .user_agent(concat!("synth-city/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| MarketError::Http {
                url: cfg.history_url.clone(),
                problem: e.to_string(),
            })?;
        Ok(Self { cfg, http })
    }

    /// The settings.
    pub fn config(&self) -> &PythConfig {
        &self.cfg
    }

    /// The `[from, to)` request ranges [`Self::candles`] splits a range into.
    pub fn chunk_ranges(&self, resolution_secs: u32, from: i64, to: i64) -> Vec<(i64, i64)> {
        chunks(from, to, self.chunk_secs(resolution_secs))
    }

    /// Number of requests [`Self::candles`] makes for a range.
    pub fn chunk_count(&self, resolution_secs: u32, from: i64, to: i64) -> usize {
        chunks(from, to, self.chunk_secs(resolution_secs)).len()
    }

    fn chunk_secs(&self, resolution_secs: u32) -> i64 {
        i64::from(self.cfg.max_bars.max(1)) * i64::from(resolution_secs.max(60))
    }

    /// Candles of `asset` opening in `[from, to)`, fetched in chunks. `on_chunk(done, total)`
    /// is called after each chunk. Chunks answering `no_data` are skipped; an error
    /// [`MarketError::NoData`] is returned when the whole range has none.
    pub fn candles(
        &self,
        asset: &str,
        resolution_secs: u32,
        from: i64,
        to: i64,
        mut on_chunk: impl FnMut(usize, usize),
    ) -> Result<Candles, MarketError> {
        if resolution_secs == 0 || !resolution_secs.is_multiple_of(60) {
            return Err(MarketError::Invalid(format!(
                "Pyth history needs whole minutes, not {resolution_secs} s"
            )));
        }
        let symbol = self.cfg.symbols.symbol(asset)?.to_string();
        let parts = chunks(from, to, self.chunk_secs(resolution_secs));
        let mut out = Candles::empty(
            asset.to_ascii_uppercase(),
            resolution_secs,
            Provenance::Real,
        );
        for (k, &(a, b)) in parts.iter().enumerate() {
            match self.history(&symbol, resolution_secs / 60, a, b - 1) {
                Ok(p) => append(&mut out, p, a, b),
                Err(MarketError::NoData { .. }) => {}
                Err(e) => return Err(e),
            }
            on_chunk(k + 1, parts.len());
        }
        if out.is_empty() {
            return Err(MarketError::NoData {
                symbol,
                from,
                to,
                url: self.cfg.history_url.clone(),
            });
        }
        Ok(out)
    }

    /// One history request (`from` and `to` inclusive, as the UDF spec has them), validated.
    fn history(
        &self,
        symbol: &str,
        resolution_min: u32,
        from: i64,
        to: i64,
    ) -> Result<Payload, MarketError> {
        let base = &self.cfg.history_url;
        let mut url = Url::parse(base)
            .map_err(|e| MarketError::Invalid(format!("bad history URL {base:?}: {e}")))?;
        url.query_pairs_mut()
            .append_pair("symbol", symbol)
            .append_pair("resolution", &resolution_min.to_string())
            .append_pair("from", &from.to_string())
            .append_pair("to", &to.to_string());
        let body = self.get_with_retries(url)?;
        let bad = |problem: String| MarketError::Payload {
            url: base.clone(),
            problem,
        };
        let p: Payload = serde_json::from_str(&body).map_err(|e| {
            let head: String = body.chars().take(120).collect();
            bad(format!(
                "not a history JSON object ({e}); body starts {head:?}"
            ))
        })?;
        match p.s.as_str() {
            "ok" => {}
            "no_data" => {
                return Err(MarketError::NoData {
                    symbol: symbol.to_string(),
                    from,
                    to,
                    url: base.clone(),
                })
            }
            "error" => {
                return Err(bad(format!(
                    "error status: {}",
                    p.errmsg.as_deref().unwrap_or("(no errmsg)")
                )))
            }
            other => return Err(bad(format!("unknown status s={other:?}"))),
        }
        let n = p.t.len();
        let lens = [p.o.len(), p.h.len(), p.l.len(), p.c.len()];
        if lens.iter().any(|&k| k != n) {
            return Err(bad(format!(
                "ragged arrays: t {n}, o {}, h {}, l {}, c {}",
                lens[0], lens[1], lens[2], lens[3]
            )));
        }
        if let Some(i) = (0..n).find(|&i| {
            [p.o[i], p.h[i], p.l[i], p.c[i]]
                .iter()
                .any(|x| !x.is_finite() || *x <= 0.0)
        }) {
            return Err(bad(format!(
                "non-positive price in the candle at t={}",
                p.t[i]
            )));
        }
        Ok(p)
    }

    fn get_with_retries(&self, url: Url) -> Result<String, MarketError> {
        let name = self.cfg.history_url.clone();
        let mut wait = self.cfg.backoff;
        let mut attempt = 0;
        loop {
            let (retryable, problem, retry_after) = match self.http.get(url.clone()).send() {
                Ok(resp) => {
                    let status = resp.status();
                    if status.is_success() {
                        return resp.text().map_err(|e| MarketError::Http {
                            url: name.clone(),
                            problem: format!("reading the body: {e}"),
                        });
                    }
                    let retry_after = resp
                        .headers()
                        .get(reqwest::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let retryable = status.as_u16() == 429 || status.is_server_error();
                    (retryable, format!("HTTP {status}"), retry_after)
                }
                Err(e) => (
                    e.is_connect() || e.is_timeout() || e.is_request(),
                    e.to_string(),
                    None,
                ),
            };
            if !retryable || attempt >= self.cfg.retries {
                let tries = attempt + 1;
                return Err(MarketError::Http {
                    url: name,
                    problem: format!("{problem} (after {tries} attempt(s))"),
                });
            }
            attempt += 1;
            let pause = retry_after.unwrap_or(wait).min(self.cfg.max_backoff);
            tracing::warn!("{name}: {problem}; retry {attempt} in {pause:?}");
            std::thread::sleep(pause);
            wait = (wait * 2).min(self.cfg.max_backoff);
        }
    }
}

/// Splits `[from, to)` into consecutive pieces of at most `len` seconds.
fn chunks(from: i64, to: i64, len: i64) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut a = from;
    while a < to {
        let b = a.saturating_add(len).min(to);
        out.push((a, b));
        a = b;
    }
    out
}

/// Appends the candles of `p` opening in `[a, b)`, keeping `out` sorted and unique.
fn append(out: &mut Candles, p: Payload, a: i64, b: i64) {
    let mut rows: Vec<usize> = (0..p.t.len())
        .filter(|&i| p.t[i] >= a && p.t[i] < b)
        .collect();
    rows.sort_by_key(|&i| p.t[i]);
    for i in rows {
        if out.ts.last().is_some_and(|&l| l >= p.t[i]) {
            continue;
        }
        out.ts.push(p.t[i]);
        out.open.push(p.o[i]);
        out.high.push(p.h[i]);
        out.low.push(p.l[i]);
        out.close.push(p.c[i]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_range_exactly() {
        assert_eq!(chunks(0, 250, 100), vec![(0, 100), (100, 200), (200, 250)]);
        assert!(chunks(10, 10, 100).is_empty());
    }
}
