//! Registry records as the bridge shows them (`id`, `bot_id`, `crps`, `asset`, … on top of the
//! full research record), and the history / champion queries.

use research::{HistoryOrder, Registry, Requester, RunRecord};
use serde_json::{json, Map, Value};
use sn50::Timeframe;

use super::api_err;
use crate::backend::HistoryQuery;
use crate::error::{ApiError, ApiResult};
use crate::types::{ChampionList, RunList, RunView};

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

/// A record as the bridge shows it: every field of the research record, plus `id`, `bot_id`,
/// `source`, `requester`, `asset`, `timeframe`, `model` and `created_at` (what rankings and the
/// dashboard show).
pub fn run_view(r: &RunRecord) -> RunView {
    let mut detail = match serde_json::to_value(r) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    // Typed below; the rest stays as the research record has it.
    for k in ["crps", "baseline_ratio", "status"] {
        detail.remove(k);
    }
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
    detail.insert("requester".into(), json!(r.requested_by.label()));
    RunView {
        id: r.run_id.clone(),
        bot_id: bot_of(&r.requested_by).map(str::to_string),
        source: source.into(),
        asset: r.data.assets.join(","),
        timeframe: r.data.timeframe.clone(),
        model,
        status: r.status.as_str().into(),
        crps: r.crps,
        baseline_ratio: r.baseline_ratio,
        baseline_crps: None,
        created_at: r
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        reused: None,
        detail,
    }
}

/// `5m` or `1m`, else 400.
pub(crate) fn check_timeframe(tf: &str) -> ApiResult<()> {
    if Timeframe::parse(tf).is_some() {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "timeframe must be 5m or 1m, not {tf:?}"
        )))
    }
}

/// Registry runs matching `q`, newest / best / worst first.
pub(super) fn history(reg: &Registry, q: &HistoryQuery) -> ApiResult<RunList> {
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
    let runs: Vec<RunView> = reg
        .history(&rq)
        .map_err(api_err)?
        .iter()
        .filter(|r| {
            q.bot
                .as_deref()
                .is_none_or(|b| bot_of(&r.requested_by) == Some(b))
        })
        .take(limit)
        .map(run_view)
        .collect();
    Ok(RunList {
        total: runs.len(),
        runs,
    })
}

/// The registry's champions (best real-data run per asset × timeframe).
pub(super) fn champions(
    reg: &Registry,
    asset: Option<&str>,
    timeframe: Option<&str>,
) -> ApiResult<ChampionList> {
    if let Some(tf) = timeframe {
        check_timeframe(tf)?;
    }
    let asset = asset.map(str::to_ascii_uppercase);
    let champions: Vec<RunView> = reg
        .champions(asset.as_deref(), timeframe)
        .map_err(api_err)?
        .iter()
        .map(|c| RunView {
            asset: c.asset.clone(),
            timeframe: c.timeframe.clone(),
            crps: Some(c.crps),
            baseline_crps: c.baseline_crps,
            ..run_view(&c.run)
        })
        .collect();
    Ok(ChampionList { champions })
}
