//! Market-data and SN50-rule tools: what the price history of an asset looks like, and the
//! validators' prompt configs (the horizons and intervals every model is scored on).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};

use super::tool::{fn_tool, object_schema, Tool, ToolError};

#[derive(Deserialize)]
struct SummaryArgs {
    asset: String,
    #[serde(default = "five_m")]
    timeframe: String,
}

fn five_m() -> String {
    "5m".into()
}

#[derive(Deserialize)]
struct ConfigArgs {
    #[serde(default)]
    prompt: Option<String>,
}

/// A summary of the real history of `asset` at `timeframe` (cache, else the shared files):
/// rows, first and last candle, last close, gaps, and annualised volatility over the whole
/// series and the last 7 days. Never the synthetic market.
pub fn market_summary(asset: &str, timeframe: &str) -> Result<Value, ToolError> {
    let res = match timeframe {
        "5m" => 300,
        "1m" => 60,
        t => {
            return Err(ToolError::invalid(format!(
                "timeframe must be 5m or 1m, not {t}"
            )))
        }
    };
    let asset = asset.trim().to_ascii_uppercase();
    if asset.is_empty() {
        return Err(ToolError::invalid("asset: required"));
    }
    let loaded = models::data::load_history(&asset, res, models::data::DataPolicy::RealOnly, 0)
        .map_err(|e| ToolError::failed(format!("data_missing: {e}")))?;
    let c = &loaded.candles;
    let (Some(&first), Some(&last)) = (c.ts.first(), c.ts.last()) else {
        return Err(ToolError::failed(format!(
            "data_missing: no {asset} candles"
        )));
    };
    let week = c.slice_time(last - 7 * 86_400, last + 1);
    let finite = |x: f64| if x.is_finite() { json!(x) } else { Value::Null };
    Ok(json!({
        "asset": asset,
        "timeframe": timeframe,
        "source": format!("{:?}", loaded.source),
        "rows": c.ts.len(),
        "first_candle": first,
        "last_candle": last,
        "last_close": c.close.last().copied().map(finite),
        "gaps": market::find_gaps(c).len(),
        "annualized_vol": finite(market::returns::annualized_vol(c)),
        "annualized_vol_7d": finite(market::returns::annualized_vol(&week)),
    }))
}

/// The validators' prompt config(s): `low`, `high`, or both when `prompt` is `None`.
pub fn sn50_config(prompt: Option<&str>) -> Result<Value, ToolError> {
    match prompt.map(str::to_ascii_lowercase).as_deref() {
        None => Ok(json!({"low": &sn50::LOW, "high": &sn50::HIGH})),
        Some("low") => Ok(json!({"low": &sn50::LOW})),
        Some("high") => Ok(json!({"high": &sn50::HIGH})),
        Some(p) => Err(ToolError::invalid(format!(
            "prompt must be low or high, not {p}"
        ))),
    }
}

/// The market and SN50 tools.
pub fn market_tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(fn_tool(
            "market_summary",
            "Real price history of an SN50 asset: rows, first/last candle (unix s), last close, \
             gaps, annualised volatility (whole series and last 7 days). timeframe: 5m or 1m.",
            object_schema(
                &[
                    ("asset", json!({"type": "string"})),
                    ("timeframe", json!({"type": "string", "enum": ["5m", "1m"]})),
                ],
                &["asset"],
            ),
            |a: SummaryArgs| market_summary(&a.asset, &a.timeframe),
        )),
        Arc::new(fn_tool(
            "sn50_config",
            "The SN50 validators' prompt configs (horizon, step, scoring intervals, assets, \
             window, softmax beta, coefficients). prompt: low (24 h / 5 min) or high (1 h / 1 min); \
             omit for both.",
            object_schema(
                &[("prompt", json!({"type": "string", "enum": ["low", "high"]}))],
                &[],
            ),
            |a: ConfigArgs| sn50_config(a.prompt.as_deref()),
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_bad_arguments() {
        let both = sn50_config(None).unwrap();
        assert!(both.get("low").is_some() && both.get("high").is_some());
        assert!(sn50_config(Some("HIGH")).unwrap().get("high").is_some());
        assert!(sn50_config(Some("mid")).is_err());
        assert!(market_summary("BTC", "15m").is_err());
        assert!(market_summary(" ", "5m").is_err());
    }

    #[test]
    fn summary_of_real_btc_history() {
        // Real BTC 5 m is always there: the cache, the shared folder or the embedded set.
        let s = market_summary("btc", "5m").unwrap();
        assert_eq!(s["asset"], "BTC");
        assert!(s["rows"].as_u64().unwrap() > 1000);
        assert!(s["last_candle"].as_i64() > s["first_candle"].as_i64());
        assert!(s["annualized_vol"].as_f64().unwrap() > 0.0);
    }
}
