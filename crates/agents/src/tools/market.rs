//! Market-data and SN50-rule tools: what the price history of an asset looks like, and the
//! validators' prompt configs (the horizons and intervals every model is scored on).

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use sn50::{Competition, Timeframe};

use super::tool::{fn_tool, object_schema, Tool, ToolError};

/// Arguments of `market_summary`; the timeframe is parsed here, at the tool-call edge.
#[derive(Deserialize)]
struct SummaryArgs {
    asset: String,
    #[serde(default = "low_5m")]
    timeframe: Timeframe,
}

fn low_5m() -> Timeframe {
    Timeframe::Low5m
}

/// Arguments of `sn50_config` (`low` / `high`, any case).
#[derive(Deserialize)]
struct ConfigArgs {
    #[serde(default)]
    prompt: Option<Competition>,
}

/// A summary of the real history of `asset` at `timeframe` (cache, else the shared files):
/// rows, first and last candle, last close, gaps, and annualised volatility over the whole
/// series and the last 7 days. Never the synthetic market.
pub fn market_summary(asset: &str, timeframe: Timeframe) -> Result<Value, ToolError> {
    let res = timeframe.step_secs();
    let asset = sn50::asset::canonical_asset(asset);
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

/// The validators' prompt config(s): one competition's, or both when `prompt` is `None`.
pub fn sn50_config(prompt: Option<Competition>) -> Value {
    let mut out = serde_json::Map::new();
    for c in Competition::ALL {
        if prompt.is_none_or(|p| p == c) {
            out.insert(c.label().to_string(), json!(c.cfg()));
        }
    }
    Value::Object(out)
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
                    (
                        "timeframe",
                        json!({"type": "string", "enum": Timeframe::ALL.map(Timeframe::as_str)}),
                    ),
                ],
                &["asset"],
            ),
            |a: SummaryArgs| market_summary(&a.asset, a.timeframe),
        )),
        Arc::new(fn_tool(
            "sn50_config",
            "The SN50 validators' prompt configs (horizon, step, scoring intervals, assets, \
             window, softmax beta, coefficients). prompt: low (24 h / 5 min) or high (1 h / 1 min); \
             omit for both.",
            object_schema(
                &[(
                    "prompt",
                    json!({"type": "string", "enum": Competition::ALL.map(Competition::label)}),
                )],
                &[],
            ),
            |a: ConfigArgs| Ok(sn50_config(a.prompt)),
        )),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_and_bad_arguments() {
        let both = sn50_config(None);
        assert!(both.get("low").is_some() && both.get("high").is_some());
        let high = sn50_config(Some(Competition::High));
        assert!(high.get("high").is_some() && high.get("low").is_none());
        // Parsed at the tool-call edge: any case for the competition, exactly 5m/1m for the
        // timeframe, and the error lists the valid names.
        let a: ConfigArgs = serde_json::from_value(json!({"prompt": "HIGH"})).unwrap();
        assert_eq!(a.prompt, Some(Competition::High));
        assert!(serde_json::from_value::<ConfigArgs>(json!({"prompt": "mid"})).is_err());
        let e = serde_json::from_value::<SummaryArgs>(json!({"asset": "BTC", "timeframe": "15m"}))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("valid: 5m, 1m"), "{e}");
        let a: SummaryArgs = serde_json::from_value(json!({"asset": "BTC"})).unwrap();
        assert_eq!(a.timeframe, Timeframe::Low5m);
        assert!(market_summary(" ", Timeframe::Low5m).is_err());
    }

    #[test]
    fn summary_of_real_btc_history() {
        // Real BTC 5 m is always there: the cache, the shared folder or the embedded set.
        let s = market_summary("btc", Timeframe::Low5m).unwrap();
        assert_eq!(s["asset"], "BTC");
        assert!(s["rows"].as_u64().unwrap() > 1000);
        assert!(s["last_candle"].as_i64() > s["first_candle"].as_i64());
        assert!(s["annualized_vol"].as_f64().unwrap() > 0.0);
    }
}
