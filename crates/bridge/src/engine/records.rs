//! Registry records as the bridge shows them (`id`, `bot_id`, `crps`, `asset`, … on top of the
//! full research record), and the history / champion queries.

use research::{HistoryOrder, Registry, Requester, RunRecord};
use serde_json::{json, Value};

use super::api_err;
use crate::backend::HistoryQuery;
use crate::error::{ApiError, ApiResult};

/// Label prefix of pipeline runs started through the bridge: `Requester::Pipeline("bot:<id>")`.
pub const PIPELINE_BOT_PREFIX: &str = "bot:";

/// The bot that produced a run: a bot's own experiment (`Requester::Bot`) or a pipeline it
/// started through the bridge. `None` for CLI runs and other pipelines.
pub fn bot_of(r: &Requester) -> Option<&str> {
    match r {
        Requester::Bot(id) => Some(id),
        Requester::Pipeline(label) => label.strip_prefix(PIPELINE_BOT_PREFIX),
        Requester::Cli => None,
    }
}

/// A record as JSON: every field of the research record plus `id`, `bot_id`, `source`,
/// `asset`, `timeframe`, `model` and `created_at` (what rankings and the dashboard show).
pub fn record_json(r: &RunRecord) -> Value {
    let mut v = serde_json::to_value(r).unwrap_or_else(|_| json!({}));
    let source = match &r.requested_by {
        Requester::Bot(_) => "experiment",
        Requester::Pipeline(_) => "pipeline",
        Requester::Cli => "cli",
    };
    let model = if r.blocks.is_empty() {
        r.head.clone()
    } else {
        format!("{}+{}", r.blocks.join("+"), r.head)
    };
    let extra = json!({
        "id": r.run_id,
        "bot_id": bot_of(&r.requested_by),
        "source": source,
        "requester": r.requested_by.label(),
        "asset": r.data.assets.join(","),
        "timeframe": r.data.timeframe,
        "model": model,
        "created_at": r.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

/// `5m` or `1m`, else 400.
pub(crate) fn check_timeframe(tf: &str) -> ApiResult<()> {
    if tf == "5m" || tf == "1m" {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "timeframe must be 5m or 1m, not {tf:?}"
        )))
    }
}

/// Registry runs matching `q`, newest / best / worst first.
pub(super) fn history(reg: &Registry, q: &HistoryQuery) -> ApiResult<Value> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad_request(format!(
            "limit must be 1-1000, got {limit}"
        )));
    }
    let order = match q.order.as_deref().unwrap_or("recent") {
        "best" => HistoryOrder::Best,
        "recent" => HistoryOrder::Recent,
        "worst" => HistoryOrder::Worst,
        o => {
            return Err(ApiError::bad_request(format!(
                "order must be best, recent or worst, not {o:?}"
            )))
        }
    };
    if let Some(tf) = &q.timeframe {
        check_timeframe(tf)?;
    }
    // The registry has no requester filter: read a wider window and filter here.
    let window = if q.bot.is_some() { 100_000 } else { limit };
    let rq = research::HistoryQuery {
        limit: window,
        order,
        asset: q.asset.as_ref().map(|a| a.to_ascii_uppercase()),
        timeframe: q.timeframe.clone(),
        block: None,
        head: None,
    };
    let runs: Vec<Value> = reg
        .history(&rq)
        .map_err(api_err)?
        .iter()
        .filter(|r| {
            q.bot
                .as_deref()
                .is_none_or(|b| bot_of(&r.requested_by) == Some(b))
        })
        .take(limit)
        .map(record_json)
        .collect();
    Ok(json!({"total": runs.len(), "runs": runs}))
}

/// The registry's champions (best real-data run per asset × timeframe).
pub(super) fn champions(
    reg: &Registry,
    asset: Option<&str>,
    timeframe: Option<&str>,
) -> ApiResult<Value> {
    if let Some(tf) = timeframe {
        check_timeframe(tf)?;
    }
    let asset = asset.map(str::to_ascii_uppercase);
    let list: Vec<Value> = reg
        .champions(asset.as_deref(), timeframe)
        .map_err(api_err)?
        .iter()
        .map(|c| {
            let mut v = record_json(&c.run);
            v["asset"] = json!(c.asset);
            v["timeframe"] = json!(c.timeframe);
            v["crps"] = json!(c.crps);
            v["baseline_crps"] = json!(c.baseline_crps);
            v
        })
        .collect();
    Ok(json!({"champions": list}))
}
