//! The SN50 reference miner's `PYTH_BACKEND=pro` sources:
//! Pyth Pro / Lazer `POST /v1/latest_price` with a bearer key, and Hyperliquid's
//! `candleSnapshot` for WTIOIL, which has no Lazer feed.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{scaled, IntLike, PriceError};

/// Public Pyth Lazer REST endpoint (needs an API key).
pub const LAZER_DEFAULT_URL: &str = "https://pyth-lazer.dourolabs.app";
/// Public Hyperliquid API endpoint (no key).
pub const HYPERLIQUID_DEFAULT_URL: &str = "https://api.hyperliquid.xyz";
/// Lazer channel of the reference miner (stocks, metals and oil refuse `real_time`).
pub const LAZER_CHANNEL: &str = "fixed_rate@200ms";
/// Hyperliquid coin SN50 scores WTIOIL against.
pub const WTIOIL_COIN: &str = "xyz:CL";
/// Window of 1-minute candles asked of Hyperliquid, ms before now (the reference's 5 minutes).
pub const HYPERLIQUID_WINDOW_MS: i64 = 300_000;

/// The Lazer feed id of an SN50 asset ([`sn50::Asset::lazer_feed_id`]; any case, aliases).
/// WTIOIL has none: it is priced from Hyperliquid [`WTIOIL_COIN`].
pub fn lazer_feed_id(asset: &str) -> Option<u32> {
    asset.parse::<sn50::Asset>().ok()?.lazer_feed_id()
}

/// The Hyperliquid coin of an asset priced there instead of Lazer (only WTIOIL:
/// [`sn50::Asset::hyperliquid_coin`]).
pub fn hyperliquid_coin(asset: &str) -> Option<&'static str> {
    asset.parse::<sn50::Asset>().ok()?.hyperliquid_coin()
}

/// The reference miner's `latest_price` body for one feed.
pub fn lazer_request_body(feed_id: u32) -> Value {
    json!({
        "channel": LAZER_CHANNEL,
        "priceFeedIds": [feed_id],
        "properties": ["price", "exponent"],
        "formats": [],
        "parsed": true,
        "jsonBinaryEncoding": "hex",
    })
}

/// The reference's `candleSnapshot` body: 1-minute candles of `coin` over the 5 minutes
/// before `now_ms`.
pub fn hyperliquid_request_body(coin: &str, now_ms: i64) -> Value {
    json!({
        "type": "candleSnapshot",
        "req": {
            "coin": coin,
            "interval": "1m",
            "startTime": now_ms - HYPERLIQUID_WINDOW_MS,
            "endTime": now_ms,
        },
    })
}

#[derive(Deserialize)]
struct LazerAnswer {
    parsed: LazerParsed,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LazerParsed {
    price_feeds: Vec<LazerFeed>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LazerFeed {
    #[serde(default)]
    price_feed_id: Option<u32>,
    #[serde(default)]
    price: Option<IntLike>,
    #[serde(default)]
    exponent: Option<IntLike>,
}

fn usable(asset: &str, v: f64) -> Result<f64, PriceError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(PriceError::BadAnswer {
            asset: asset.to_string(),
            msg: format!("non-positive price {v}"),
        })
    }
}

/// `price × 10^exponent` of feed `feed_id` in a Lazer `latest_price` JSON answer
/// (`{"parsed":{"priceFeeds":[{"priceFeedId":1,"price":"7930115688547","exponent":-8}]}}`).
/// The feed with the id asked for is used, else the first (the reference reads `[0]`).
pub fn parse_lazer(asset: &str, feed_id: u32, body: &str) -> Result<f64, PriceError> {
    let bad = |msg: String| PriceError::BadAnswer {
        asset: asset.to_string(),
        msg,
    };
    let a: LazerAnswer = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    let feeds = &a.parsed.price_feeds;
    let f = feeds
        .iter()
        .find(|f| f.price_feed_id == Some(feed_id))
        .or_else(|| feeds.first())
        .ok_or_else(|| bad("empty `priceFeeds` list".into()))?;
    if let Some(other) = f.price_feed_id.filter(|&id| id != feed_id) {
        return Err(bad(format!(
            "answer is for feed {other}, asked for {feed_id}"
        )));
    }
    let price = f
        .price
        .as_ref()
        .ok_or_else(|| bad("no `price` (the feed has no current price)".into()))?
        .get_f64()
        .ok_or_else(|| bad("`price` is not a number".into()))?;
    let expo = f
        .exponent
        .as_ref()
        .and_then(IntLike::get)
        .ok_or_else(|| bad("`exponent` missing or not an integer".into()))?;
    let expo = i32::try_from(expo).map_err(|_| bad(format!("exponent {expo} out of range")))?;
    usable(asset, scaled(price, expo))
}

#[derive(Deserialize)]
struct Candle {
    c: IntLike,
}

/// The close (`"c"`) of the last candle of a Hyperliquid `candleSnapshot` JSON answer
/// (`[{"t":1,"c":"64.10"},{"t":2,"c":"65.00"}]` gives 65.0).
pub fn parse_hyperliquid(asset: &str, body: &str) -> Result<f64, PriceError> {
    let bad = |msg: String| PriceError::BadAnswer {
        asset: asset.to_string(),
        msg,
    };
    let candles: Vec<Candle> = serde_json::from_str(body).map_err(|e| bad(e.to_string()))?;
    let last = candles
        .last()
        .ok_or_else(|| bad("no candle in the last 5 minutes".into()))?;
    let c = last
        .c
        .get_f64()
        .ok_or_else(|| bad("candle close `c` is not a number".into()))?;
    usable(asset, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lazer_reference_vector() {
        // Reference vector: Lazer feed 1 answering 7930115688547 × 10^-8 = 79301.15688547.
        let body = r#"{"parsed":{"priceFeeds":[{"priceFeedId":1,"price":"7930115688547","exponent":-8}]}}"#;
        assert_eq!(parse_lazer("BTC", 1, body).unwrap(), 79301.15688547);
        // Price as a number, exponent as a string, other fields around.
        let body = r#"{"parsed":{"timestampUs":"1790000000000000","priceFeeds":[{"priceFeedId":2,"price":345670000000,"exponent":"-8"}]},"evm":null}"#;
        assert!((parse_lazer("ETH", 2, body).unwrap() - 3456.7).abs() < 1e-9);
        // The feed asked for among several.
        let body = r#"{"parsed":{"priceFeeds":[{"priceFeedId":2,"price":"1","exponent":0},{"priceFeedId":1,"price":"5","exponent":1}]}}"#;
        assert_eq!(parse_lazer("BTC", 1, body).unwrap(), 50.0);
    }

    #[test]
    fn lazer_malformed_answers_are_errors() {
        let err = |body: &str| parse_lazer("BTC", 1, body).unwrap_err().to_string();
        assert!(err(r#"{"parsed":{"priceFeeds":[]}}"#).contains("empty"));
        assert!(
            err(r#"{"parsed":{"priceFeeds":[{"priceFeedId":1,"exponent":-8}]}}"#)
                .contains("no `price`")
        );
        assert!(err(
            r#"{"parsed":{"priceFeeds":[{"priceFeedId":1,"price":"abc","exponent":-8}]}}"#
        )
        .contains("not a number"));
        assert!(
            err(r#"{"parsed":{"priceFeeds":[{"priceFeedId":1,"price":"5"}]}}"#)
                .contains("exponent")
        );
        assert!(err(
            r#"{"parsed":{"priceFeeds":[{"priceFeedId":1,"price":"5","exponent":99999999999}]}}"#
        )
        .contains("out of range"));
        assert!(
            err(r#"{"parsed":{"priceFeeds":[{"priceFeedId":7,"price":"5","exponent":0}]}}"#)
                .contains("feed 7")
        );
        assert!(
            err(r#"{"parsed":{"priceFeeds":[{"priceFeedId":1,"price":"-5","exponent":0}]}}"#)
                .contains("non-positive")
        );
        assert!(err(r#"{"parsed":[]}"#).contains("no usable price for BTC"));
        assert!(err("<html>").contains("no usable price"));
    }

    #[test]
    fn hyperliquid_reference_vector_and_errors() {
        let body = r#"[{"t":1,"c":"64.10"},{"t":2,"c":"65.00"}]"#;
        assert_eq!(parse_hyperliquid("WTIOIL", body).unwrap(), 65.0);
        assert_eq!(
            parse_hyperliquid("WTIOIL", r#"[{"t":1,"T":2,"s":"xyz:CL","i":"1m","o":"1","c":64.5,"h":"1","l":"1","v":"0","n":3}]"#).unwrap(),
            64.5
        );
        let err = |body: &str| parse_hyperliquid("WTIOIL", body).unwrap_err().to_string();
        assert!(err("[]").contains("no candle"));
        assert!(err(r#"[{"t":1,"c":"x"}]"#).contains("not a number"));
        assert!(err(r#"[{"t":1,"c":"0"}]"#).contains("non-positive"));
        assert!(err(r#"{"error":"bad"}"#).contains("no usable price for WTIOIL"));
    }

    #[test]
    fn request_bodies_are_the_reference_ones() {
        assert_eq!(
            lazer_request_body(1),
            json!({"channel":"fixed_rate@200ms","priceFeedIds":[1],"properties":["price","exponent"],
                   "formats":[],"parsed":true,"jsonBinaryEncoding":"hex"})
        );
        assert_eq!(
            hyperliquid_request_body("xyz:CL", 1_000_000),
            json!({"type":"candleSnapshot","req":{"coin":"xyz:CL","interval":"1m",
                   "startTime":700_000,"endTime":1_000_000}})
        );
    }

    #[test]
    fn every_sn50_asset_has_a_pro_source() {
        for a in sn50::Asset::ALL_NAMES {
            assert!(
                lazer_feed_id(a).is_some() != hyperliquid_coin(a).is_some(),
                "{a}"
            );
        }
        assert_eq!(lazer_feed_id("XAU"), Some(346));
        assert_eq!(lazer_feed_id("spy"), Some(1843));
        assert_eq!(hyperliquid_coin("WTIOIL"), Some("xyz:CL"));
        assert_eq!(
            (lazer_feed_id("DOGE"), hyperliquid_coin("DOGE")),
            (None, None)
        );
    }
}
