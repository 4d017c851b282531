//! One promotion round, for every configured asset × timeframe:
//!
//! 1. the best candidates not compared yet (successful real-data runs, ranked by their CRPS
//!    ratio to the reference GBM) go through `research::promotion::promote`: the checker, then
//!    the paired comparison with the current champion (or the default model) on the same
//!    prompts; each outcome is written to the state at once, so no candidate is compared twice;
//! 2. the champion the registry names now (promoted here, by the pipeline's Publisher, or by an
//!    operator's `champion promote` / `rollback`) is hot-swapped into the miner when it is not
//!    the one served ([`Swap`]).

use research::promotion::{promote, PromoteRequest};
use research::{Archive, DataProvenance, ExperimentRunner, HistoryOrder, HistoryQuery, RunStatus};
use sn50::Timeframe;

use crate::config::AutopilotConfig;
use crate::research_task::REQUESTER;
use crate::state::{served_key, AutopilotState, Evaluated, Served};

/// Puts the registry's champion of an asset × competition in the miner now; returns the name of
/// the model that answers from then on (`None`: the fallback).
pub type Swap<'a> = dyn Fn(&str, sn50::Competition) -> Option<String> + 'a;

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PromoteReport {
    /// Candidates compared.
    pub compared: u32,
    /// Candidates promoted.
    pub promoted: u32,
    /// Champions swapped into the miner (`ASSET/tf run`).
    pub swapped: Vec<String>,
    /// What could not be done.
    pub errors: Vec<String>,
}

/// The candidates of `asset` × `tf` not compared yet, best CRPS ratio first.
pub fn candidates(
    archive: &Archive,
    state: &AutopilotState,
    asset: &str,
    tf: &str,
    current: Option<&str>,
) -> Result<Vec<String>, String> {
    let q = HistoryQuery {
        limit: 500,
        order: HistoryOrder::Best,
        asset: Some(asset.to_string()),
        timeframe: Some(tf.to_string()),
        ..HistoryQuery::default()
    };
    let runs = archive
        .registry
        .history(&q)
        .map_err(|e| format!("registry: {e}"))?;
    let mut ranked: Vec<(f64, String)> = runs
        .into_iter()
        .filter(|r| r.status == RunStatus::Ok && r.provenance == DataProvenance::Real)
        .filter(|r| Some(r.run_id.as_str()) != current && !state.evaluated.contains_key(&r.run_id))
        .filter_map(|r| {
            let s = r
                .scores
                .iter()
                .find(|s| s.asset.eq_ignore_ascii_case(asset) && s.timeframe == tf)?;
            let ratio = s.crps / s.baseline_crps.filter(|b| *b > 0.0)?;
            ratio.is_finite().then_some((ratio, r.run_id))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(ranked.into_iter().map(|(_, id)| id).collect())
}

/// Runs one round (see the module docs), the comparisons evaluated by `runner`; `save` is
/// called after every change of `state`.
pub fn run_round(
    cfg: &AutopilotConfig,
    archive: &Archive,
    runner: &dyn ExperimentRunner,
    state: &mut AutopilotState,
    save: &mut dyn FnMut(&mut AutopilotState),
    swap: &Swap<'_>,
) -> PromoteReport {
    let mut report = PromoteReport::default();
    for asset in &cfg.assets {
        for tf in &cfg.timeframes {
            let tfs = tf.as_str();
            let current = match archive.registry.current_promotion(asset, tfs) {
                Ok(c) => c.and_then(|c| c.run_id),
                Err(e) => {
                    report.errors.push(format!("{asset} {tfs}: registry: {e}"));
                    continue;
                }
            };
            let found = match candidates(archive, state, asset, tfs, current.as_deref()) {
                Ok(c) => c,
                Err(e) => {
                    report.errors.push(format!("{asset} {tfs}: {e}"));
                    continue;
                }
            };
            for run_id in found.into_iter().take(cfg.promote.candidates_per_round) {
                let req = PromoteRequest {
                    assets: vec![asset.clone()],
                    folds: Some(cfg.promote.folds),
                    max_prompts: Some(cfg.promote.max_prompts),
                    seed: Some(cfg.promote.seed),
                    ..PromoteRequest::new(&run_id, REQUESTER)
                };
                let (promoted, reason) = match promote(archive, runner, &req) {
                    Ok(out) => {
                        let promoted = out.iter().any(|o| o.promoted);
                        let why: Vec<String> = out.iter().map(|o| o.reason.clone()).collect();
                        (promoted, why.join("; "))
                    }
                    Err(e) => (false, format!("not evaluated: {e}")),
                };
                tracing::info!(asset = %asset, timeframe = tfs, run = %run_id, promoted, %reason, "candidate compared with the champion");
                report.compared += 1;
                report.promoted += u32::from(promoted);
                state.evaluated.insert(
                    run_id.clone(),
                    Evaluated {
                        asset: asset.clone(),
                        timeframe: tfs.to_string(),
                        promoted,
                        reason,
                        at: chrono::Utc::now().timestamp(),
                    },
                );
                save(state);
            }
            if let Err(e) = swap_in(archive, state, asset, *tf, swap, &mut report) {
                report.errors.push(format!("{asset} {tfs}: {e}"));
            }
            save(state);
        }
    }
    report
}

/// Swaps the registry's champion of `asset` × `tf` into the miner when it is not the served one.
fn swap_in(
    archive: &Archive,
    state: &mut AutopilotState,
    asset: &str,
    tf: Timeframe,
    swap: &Swap<'_>,
    report: &mut PromoteReport,
) -> Result<(), String> {
    let champion = archive
        .registry
        .current_promotion(asset, tf.as_str())
        .map_err(|e| format!("registry: {e}"))?
        .and_then(|c| c.run_id);
    let key = served_key(asset, tf.as_str());
    let served = state.served.get(&key);
    if served.is_some_and(|s| s.run_id == champion) {
        return Ok(());
    }
    let first = served.is_none();
    let model = swap(asset, tf.competition());
    let label = champion.clone().unwrap_or_else(|| "default".into());
    tracing::info!(asset, timeframe = tf.as_str(), run = %label, model = model.as_deref().unwrap_or("fallback"), "miner serves the registry's champion");
    // The first time, the miner already loaded this champion at start: recorded, not a swap.
    if !first {
        state.swaps += 1;
        report.swapped.push(format!("{key} {label}"));
    }
    state.served.insert(
        key,
        Served {
            run_id: champion,
            model,
            since: chrono::Utc::now().timestamp(),
        },
    );
    Ok(())
}
