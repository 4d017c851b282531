//! Research tools beyond one pipeline run: a run's record, what data there is, a paired
//! comparison of two models on the same prompts (the backtest agents can afford), publishing a
//! run, and the error diagnosis the Debugger uses.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use sn50::Timeframe;

use super::research::Session;
use super::tool::{fn_tool, object_schema, Tool, ToolError};
use crate::planner::diagnose::diagnose;

#[derive(Deserialize)]
struct RunIdArg {
    run_id: String,
}

#[derive(Deserialize)]
struct CoverageArgs {
    asset: String,
}

#[derive(Deserialize)]
struct PairedArgs {
    candidate: String,
    #[serde(default = "default_incumbent")]
    incumbent: String,
    asset: String,
    timeframe: Timeframe,
}

fn default_incumbent() -> String {
    "default".into()
}

#[derive(Deserialize)]
struct DiagnoseArgs {
    error: String,
    #[serde(default)]
    experiment: Value,
}

/// Real history of `asset` per timeframe: rows and range, or why there is none.
pub fn data_coverage(asset: &str) -> Result<Value, ToolError> {
    let asset = sn50::asset::canonical_asset(asset);
    if asset.is_empty() {
        return Err(ToolError::invalid("asset: required"));
    }
    let mut out = serde_json::Map::new();
    for tf in Timeframe::ALL {
        let v = match super::market::market_summary(&asset, tf) {
            Ok(s) => {
                json!({"available": true, "rows": s["rows"], "first_candle": s["first_candle"],
                            "last_candle": s["last_candle"], "gaps": s["gaps"]})
            }
            Err(e) => json!({"available": false, "why": e.message}),
        };
        out.insert(tf.as_str().to_string(), v);
    }
    Ok(json!({"asset": asset, "timeframes": out}))
}

/// The lab tools, bound to `session`.
pub fn lab_tools(session: Arc<Session>) -> Vec<Arc<dyn Tool>> {
    let mut v: Vec<Arc<dyn Tool>> = Vec::new();
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "get_run",
        "One registered run by id: spec, status, CRPS, the GBM baseline's CRPS, parameters, training time, error, weights.",
        object_schema(&[("run_id", json!({"type":"string"}))], &["run_id"]),
        move |a: RunIdArg| match s.backend().get_run(&a.run_id)? {
            Some(r) => Ok(json!({"run": r})),
            None => Err(ToolError::invalid(format!("no run with id {}", a.run_id))),
        },
    )));
    v.push(Arc::new(fn_tool(
        "data_coverage",
        "Which real price history an asset has, per timeframe (5m, 1m): rows, first/last candle, gaps — or why it is missing.",
        object_schema(&[("asset", json!({"type":"string"}))], &["asset"]),
        |a: CoverageArgs| data_coverage(&a.asset),
    )));
    let s = session.clone();
    v.push(Arc::new(fn_tool(
        "paired_compare",
        "Backtest two models on the SAME walk-forward prompts of an asset and timeframe and compare them prompt by prompt: CRPS ratio candidate/incumbent with a 90% bootstrap interval (below 1 = candidate better), wins, ratio to GBM. candidate/incumbent: a run id or a statistical model (gbm, garch_t, default, ...). Slow: it evaluates both.",
        object_schema(
            &[("candidate", json!({"type":"string"})), ("incumbent", json!({"type":"string"})),
              ("asset", json!({"type":"string"})), ("timeframe", json!({"type":"string","enum": Timeframe::ALL.map(Timeframe::as_str)}))],
            &["candidate", "asset", "timeframe"],
        ),
        move |a: PairedArgs| {
            s.backend().paired(&a.candidate, &a.incumbent, &a.asset.to_ascii_uppercase(), a.timeframe.as_str())
        },
    )));
    let s = session;
    v.push(Arc::new(fn_tool(
        "publish_run",
        "Publish a successful run to every configured target (Hippius, Hugging Face Hub, W&B); each target is reported published, skipped (names the variable to set) or failed.",
        object_schema(&[("run_id", json!({"type":"string"}))], &["run_id"]),
        move |a: RunIdArg| s.backend().publish_remote(&a.run_id),
    )));
    v.push(Arc::new(fn_tool(
        "diagnose_error",
        "Classify a training or validation error (divergence, too large, invalid field, data missing, unknown) and get a concrete fix of the experiment spec.",
        object_schema(&[("error", json!({"type":"string"})), ("experiment", json!({"type":"object"}))], &["error"]),
        |a: DiagnoseArgs| Ok(serde_json::to_value(diagnose(&a.error, &a.experiment)).unwrap_or(Value::Null)),
    )));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_of_btc_and_a_bad_asset() {
        let c = data_coverage("btc").unwrap();
        assert_eq!(c["timeframes"]["5m"]["available"], true);
        assert!(data_coverage(" ").is_err());
    }
}
