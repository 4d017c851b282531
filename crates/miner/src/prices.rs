//! Live start prices, chosen as the SN50 reference miner's `PYTH_BACKEND` chooses them
//! (price = integer × 10^exponent, as Pyth publishes it): Pyth Hermes (`GET /v2/updates/price/latest`,
//! `hermes`), or Pyth Pro / Lazer (`POST /v1/latest_price`) with WTIOIL from Hyperliquid
//! (`pro`, see [`pro`]); or a static table for offline runs.

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

pub mod pro;

pub use pro::{
    hyperliquid_coin, lazer_feed_id, parse_hyperliquid, parse_lazer, HYPERLIQUID_DEFAULT_URL,
    LAZER_DEFAULT_URL,
};

/// Public Hermes endpoint (since 2026-08-26 it wants an API key).
pub const HERMES_DEFAULT_URL: &str = "https://hermes.pyth.network";

/// The Hermes feed id of an SN50 asset ([`sn50::Asset::hermes_feed_id`]; any case, aliases).
pub fn hermes_feed_id(asset: &str) -> Option<&'static str> {
    asset
        .parse::<sn50::Asset>()
        .ok()
        .map(sn50::Asset::hermes_feed_id)
}

/// Which live price service answers (`PYTH_BACKEND` of the reference miner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PriceBackend {
    /// Pyth Hermes (the reference's default).
    #[default]
    Hermes,
    /// Pyth Pro: Lazer for every asset with a Lazer id, Hyperliquid for WTIOIL.
    Pro,
}

impl FromStr for PriceBackend {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "hermes" | "" => Ok(Self::Hermes),
            "pro" => Ok(Self::Pro),
            other => Err(format!(
                "unknown Pyth backend {other:?}: use `hermes` or `pro` (PYTH_BACKEND)"
            )),
        }
    }
}

/// A service API key: sent only as a bearer header; `Debug` never shows it.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for a missing or blank key.
    pub fn new(key: Option<String>) -> Option<Self> {
        key.map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty())
            .map(Self)
    }

    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Why no price is available.
#[derive(Debug, thiserror::Error)]
pub enum PriceError {
    /// The asset has no known feed (or no static price).
    #[error("no price feed for asset {0:?}")]
    UnknownAsset(String),
    /// The price service could not be reached or answered an error.
    #[error("price service unavailable ({url}): {msg}")]
    Unavailable {
        /// The service base URL.
        url: String,
        /// What failed.
        msg: String,
    },
    /// The Pyth Pro (Lazer) backend was chosen without a key: nothing is requested.
    #[error("Pyth Pro (Lazer) needs an API key for {0}: set PYTH_API_KEY, or PYTH_BACKEND=hermes")]
    NoApiKey(String),
    /// The answer did not contain a usable positive price.
    #[error("price service returned no usable price for {asset}: {msg}")]
    BadAnswer {
        /// Asset asked for.
        asset: String,
        /// What is wrong.
        msg: String,
    },
    /// A static price file could not be read.
    #[error("price file {path}: {msg}")]
    File {
        /// File path.
        path: String,
        /// What is wrong.
        msg: String,
    },
}

/// Where start prices come from.
#[derive(Debug, Clone)]
pub enum PriceFeed {
    /// Pyth Hermes: `{base_url}/v2/updates/price/latest?ids[]=<id>&parsed=true`.
    Hermes {
        /// Base URL, e.g. [`HERMES_DEFAULT_URL`] or a local stub.
        base_url: String,
        /// Optional bearer key (`PYTH_API_KEY`); sent only as a header, never logged.
        api_key: Option<ApiKey>,
        /// Shared HTTP client.
        client: reqwest::Client,
    },
    /// Pyth Pro: `POST {lazer_url}/v1/latest_price` (bearer key) for assets with a Lazer id;
    /// WTIOIL from `POST {hyperliquid_url}/info` (`candleSnapshot` of `xyz:CL`, last close).
    Pro {
        /// Lazer base URL, e.g. [`LAZER_DEFAULT_URL`] or a local stub.
        lazer_url: String,
        /// Hyperliquid base URL, e.g. [`HYPERLIQUID_DEFAULT_URL`] or a local stub.
        hyperliquid_url: String,
        /// Bearer key (`PYTH_API_KEY`); without one, Lazer assets fail with
        /// [`PriceError::NoApiKey`] and nothing is sent.
        api_key: Option<ApiKey>,
        /// Shared HTTP client.
        client: reqwest::Client,
    },
    /// A fixed table (asset → price), e.g. from `--price-file`.
    Static(HashMap<String, f64>),
}

#[derive(Deserialize)]
struct HermesAnswer {
    parsed: Vec<HermesParsed>,
}

#[derive(Deserialize)]
struct HermesParsed {
    price: HermesPrice,
}

#[derive(Deserialize)]
struct HermesPrice {
    price: IntLike,
    expo: IntLike,
}

/// Pyth sends integers as strings (`"7930115688547"`) and exponents as numbers or strings;
/// Hyperliquid sends decimal strings (`"65.00"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum IntLike {
    Int(i64),
    Float(f64),
    Text(String),
}

impl IntLike {
    /// The value as an integer (an integral float counts).
    fn get(&self) -> Option<i64> {
        match self {
            IntLike::Int(i) => Some(*i),
            IntLike::Float(x) if x.fract() == 0.0 && x.abs() < 9e15 => Some(*x as i64),
            IntLike::Float(_) => None,
            IntLike::Text(s) => s.trim().parse().ok(),
        }
    }

    /// The value as a float, as Python's `float(x)` reads it (finite only).
    fn get_f64(&self) -> Option<f64> {
        let v = match self {
            IntLike::Int(i) => *i as f64,
            IntLike::Float(x) => *x,
            IntLike::Text(s) => s.trim().parse().ok()?,
        };
        v.is_finite().then_some(v)
    }
}

/// `price × 10^expo` as the reference computes it (`price * 10**expo`, a libm `pow`).
fn scaled(price: f64, expo: i32) -> f64 {
    price * 10f64.powf(f64::from(expo))
}

/// `price × 10^expo` from a Hermes `latest` JSON answer (the first parsed feed).
pub fn parse_hermes(asset: &str, body: &str) -> Result<f64, PriceError> {
    let bad = |msg: String| PriceError::BadAnswer {
        asset: asset.to_string(),
        msg,
    };
    let a: HermesAnswer = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    let p = a
        .parsed
        .first()
        .ok_or_else(|| bad("empty `parsed` list".into()))?;
    let (Some(price), Some(expo)) = (p.price.price.get(), p.price.expo.get()) else {
        return Err(bad("price or expo is not an integer".into()));
    };
    let expo = i32::try_from(expo).map_err(|_| bad(format!("exponent {expo} out of range")))?;
    let v = scaled(price as f64, expo);
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(bad(format!("non-positive price {v}")))
    }
}

impl PriceFeed {
    /// A Hermes feed with a 5 s request timeout (a blank key counts as none).
    pub fn hermes(base_url: impl Into<String>, api_key: Option<String>) -> Self {
        PriceFeed::Hermes {
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: ApiKey::new(api_key),
            client: http_client(),
        }
    }

    /// A Pyth Pro feed (Lazer, Hyperliquid for WTIOIL) with a 5 s request timeout. Without a
    /// key (or a blank one) every Lazer asset fails at once with [`PriceError::NoApiKey`].
    pub fn pro(
        lazer_url: impl Into<String>,
        hyperliquid_url: impl Into<String>,
        api_key: Option<String>,
    ) -> Self {
        PriceFeed::Pro {
            lazer_url: lazer_url.into().trim_end_matches('/').to_string(),
            hyperliquid_url: hyperliquid_url.into().trim_end_matches('/').to_string(),
            api_key: ApiKey::new(api_key),
            client: http_client(),
        }
    }

    /// Whether this feed has an API key (never the key itself).
    pub fn has_api_key(&self) -> bool {
        match self {
            PriceFeed::Hermes { api_key, .. } | PriceFeed::Pro { api_key, .. } => api_key.is_some(),
            PriceFeed::Static(_) => false,
        }
    }

    /// Reads a static table: a JSON object `{"BTC": 97000.5, ...}`.
    pub fn from_file(path: &Path) -> Result<Self, PriceError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PriceError::File {
            path: p.clone(),
            msg: e.to_string(),
        })?;
        let map: HashMap<String, f64> =
            serde_json::from_str(&text).map_err(|e| PriceError::File {
                path: p.clone(),
                msg: format!("{e}; expected a JSON object like {{\"BTC\": 97000.5}}"),
            })?;
        if let Some((a, v)) = map.iter().find(|(_, v)| !(v.is_finite() && **v > 0.0)) {
            return Err(PriceError::File {
                path: p,
                msg: format!("price of {a} is {v}, not positive"),
            });
        }
        Ok(PriceFeed::Static(map))
    }

    /// The current price of `asset`.
    pub async fn price(&self, asset: &str) -> Result<f64, PriceError> {
        match self {
            PriceFeed::Static(map) => map
                .get(asset)
                .copied()
                .ok_or_else(|| PriceError::UnknownAsset(asset.to_string())),
            PriceFeed::Hermes {
                base_url,
                api_key,
                client,
            } => {
                let id = hermes_feed_id(asset)
                    .ok_or_else(|| PriceError::UnknownAsset(asset.to_string()))?;
                // `ids[]` percent-encoded; the id is plain hex.
                let url = format!("{base_url}/v2/updates/price/latest?ids%5B%5D={id}&parsed=true");
                let unavailable = |msg: String| PriceError::Unavailable {
                    url: base_url.clone(),
                    msg,
                };
                let mut req = client.get(&url);
                if let Some(key) = api_key {
                    req = req.bearer_auth(key.expose());
                }
                let body = fetch(req).await.map_err(unavailable)?;
                parse_hermes(asset, &body)
            }
            PriceFeed::Pro {
                lazer_url,
                hyperliquid_url,
                api_key,
                client,
            } => {
                if let Some(coin) = hyperliquid_coin(asset) {
                    let now_ms = chrono::Utc::now().timestamp_millis();
                    let req = client
                        .post(format!("{hyperliquid_url}/info"))
                        .json(&pro::hyperliquid_request_body(coin, now_ms));
                    let body = fetch(req).await.map_err(|msg| PriceError::Unavailable {
                        url: hyperliquid_url.clone(),
                        msg,
                    })?;
                    return parse_hyperliquid(asset, &body);
                }
                let id =
                    lazer_feed_id(asset).ok_or_else(|| PriceError::UnknownAsset(asset.into()))?;
                let key = api_key
                    .as_ref()
                    .ok_or_else(|| PriceError::NoApiKey(asset.to_string()))?;
                let req = client
                    .post(format!("{lazer_url}/v1/latest_price"))
                    .bearer_auth(key.expose())
                    .json(&pro::lazer_request_body(id));
                let body = fetch(req).await.map_err(|msg| PriceError::Unavailable {
                    url: lazer_url.clone(),
                    msg,
                })?;
                parse_lazer(asset, id, &body)
            }
        }
    }
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// Sends `req` and returns the body of a 2xx answer; otherwise what failed (`HTTP <status>`,
/// or the transport error without its URL). Never includes request headers.
async fn fetch(req: reqwest::RequestBuilder) -> Result<String, String> {
    let resp = req.send().await.map_err(|e| e.without_url().to_string())?;
    let status = resp.status();
    if !status.is_success() {
        return Err(format!("HTTP {status}"));
    }
    resp.text().await.map_err(|e| e.without_url().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermes_price_times_ten_to_expo() {
        // Reference vector: "7930115688547" × 10^-8 = 79301.15688547.
        let body = r#"{"binary":{"encoding":"hex","data":["00"]},"parsed":[{"id":"e62d","price":{"price":"7930115688547","conf":"1","expo":"-8","publish_time":1790000000}}]}"#;
        assert_eq!(parse_hermes("BTC", body).unwrap(), 79301.15688547);
        let body = r#"{"parsed":[{"id":"e62d","price":{"price":"6543210000000","conf":"1234567","expo":-8,"publish_time":1790000000}}]}"#;
        assert_eq!(parse_hermes("BTC", body).unwrap(), 65432.1);
        assert!(parse_hermes("BTC", r#"{"parsed":[]}"#)
            .unwrap_err()
            .to_string()
            .contains("empty"));
        let zero = r#"{"parsed":[{"price":{"price":"0","expo":-8}}]}"#;
        assert!(parse_hermes("BTC", zero).is_err());
        assert!(parse_hermes("BTC", "<html>").is_err());
    }

    #[test]
    fn every_sn50_asset_has_a_feed() {
        for a in sn50::Asset::ALL_NAMES {
            assert_eq!(hermes_feed_id(a).map(str::len), Some(64), "{a}");
        }
        assert_eq!(hermes_feed_id("DOGE"), None);
    }

    #[test]
    fn static_file_is_checked() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("p.json");
        std::fs::write(&p, r#"{"BTC": 97000.5, "ETH": 3500}"#).unwrap();
        let feed = PriceFeed::from_file(&p).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert_eq!(rt.block_on(feed.price("ETH")).unwrap(), 3500.0);
        assert!(matches!(
            rt.block_on(feed.price("SOL")),
            Err(PriceError::UnknownAsset(_))
        ));
        std::fs::write(&p, r#"{"BTC": 0}"#).unwrap();
        assert!(PriceFeed::from_file(&p)
            .unwrap_err()
            .to_string()
            .contains("not positive"));
    }
}
