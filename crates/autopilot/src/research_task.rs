//! One research round: within the day's budget, experiments for every configured asset ×
//! timeframe, by the agents' pipeline (built-in planner or LLM) or as re-runs of statistical
//! baselines on the fresh data. Every run lands in the research registry (an identical run —
//! same spec, data and seed — is reused, not trained again, so a round interrupted and run again
//! after a restart does no work twice). Experiments run on the service's runner: the worker pool
//! of `SYNTH_CITY_WORKERS` when one is set, else this machine.

use std::sync::Arc;
use std::time::Instant;

use research::{
    Archive, DataRequest, ExperimentRunner, HistoryOrder, HistoryQuery, Requester, ResearchSession,
    RunRequest,
};
use serde_json::json;

use crate::config::{AutopilotConfig, ResearchMode};
use crate::state::Budget;

/// Who the runs are requested by in the registry.
pub const REQUESTER: &str = "autopilot";

/// What a round did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundReport {
    /// Runs recorded during the round (new and reused).
    pub runs: Vec<String>,
    /// Experiments trained or evaluated (reused runs not counted).
    pub experiments: u32,
    /// Wall-clock seconds.
    pub secs: f64,
    /// Experiments that failed to start or run.
    pub errors: Vec<String>,
}

/// Experiments left today, or why none is (`Err`: the budget is spent).
pub fn budget_left(cfg: &AutopilotConfig, budget: &Budget) -> Result<u32, String> {
    let r = &cfg.research;
    if budget.experiments >= r.daily_experiments {
        return Err(format!(
            "the day's experiment budget is spent ({} of {})",
            budget.experiments, r.daily_experiments
        ));
    }
    if budget.compute_secs >= r.daily_compute.as_secs_f64() {
        return Err(format!(
            "the day's compute budget is spent ({:.0} s of {} s)",
            budget.compute_secs,
            r.daily_compute.as_secs()
        ));
    }
    Ok(r.daily_experiments - budget.experiments)
}

/// Runs one round with at most `left` experiments and `compute_left` seconds.
pub fn run_round(
    cfg: &AutopilotConfig,
    archive: &Arc<Archive>,
    left: u32,
    compute_left: std::time::Duration,
    round: u64,
    runner: &Arc<dyn ExperimentRunner>,
) -> Result<RoundReport, String> {
    let t0 = Instant::now();
    let started = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut report = RoundReport::default();
    match &cfg.research.mode {
        ResearchMode::Off => {}
        ResearchMode::Baselines(names) => {
            let mut session = ResearchSession::new(
                archive.clone(),
                runner.clone(),
                Requester::Pipeline(REQUESTER.into()),
            );
            'all: for asset in &cfg.assets {
                for tf in &cfg.timeframes {
                    for name in names {
                        if report.experiments >= left || t0.elapsed() >= compute_left {
                            break 'all;
                        }
                        let req = RunRequest {
                            spec: json!({"baseline": name, "timeframe": tf.as_str()}),
                            data: DataRequest {
                                assets: vec![asset.clone()],
                                ..DataRequest::default()
                            },
                            seed: 0,
                            name: Some(name.clone()),
                            force: false,
                        };
                        match session.run(req) {
                            Ok(o) => {
                                if !o.reused {
                                    report.experiments += 1;
                                }
                                report.runs.push(o.record.run_id);
                            }
                            Err(e) => {
                                report.errors.push(format!("{asset} {tf} {name}: {e}"));
                            }
                        }
                    }
                }
            }
        }
        ResearchMode::Pipeline(planner) => {
            let backend: agents::SharedResearch = Arc::new(
                agents::research_binding::ResearchBinding::on(
                    archive.clone(),
                    REQUESTER,
                    runner.clone(),
                )
                .with_max_windows(cfg.research.max_windows),
            );
            let per_round = cfg.research.experiments_per_round.max(1);
            for asset in &cfg.assets {
                for tf in &cfg.timeframes {
                    let spent = count_new(archive, started)?;
                    if spent >= left || t0.elapsed() >= compute_left {
                        break;
                    }
                    let (brains, meter) = agents::choose_planner(*planner)?;
                    let opts = agents::PipelineOptions {
                        loops: 1,
                        max_experiments: Some(per_round.min(left - spent)),
                        budget: Some(compute_left.saturating_sub(t0.elapsed())),
                        asset: asset.clone(),
                        timeframe: tf.as_str().to_string(),
                        min_epochs: cfg.research.min_epochs.max(1),
                        force_builtin: *planner == agents::Planner::Builtin,
                        seed: round,
                        ..agents::PipelineOptions::default()
                    };
                    match agents::run_pipeline_blocking_with(
                        backend.clone(),
                        brains,
                        meter,
                        &opts,
                        |_| {},
                    ) {
                        Ok(reports) => {
                            for r in reports.iter().filter(|r| !r.success) {
                                report
                                    .errors
                                    .push(format!("{asset} {tf}: pipeline {} failed", r.run_id));
                            }
                        }
                        Err(e) => report.errors.push(format!("{asset} {tf}: {e}")),
                    }
                }
            }
            report.runs = new_runs(archive, started)?;
            report.experiments = u32::try_from(report.runs.len()).unwrap_or(u32::MAX);
        }
    }
    report.secs = t0.elapsed().as_secs_f64();
    Ok(report)
}

/// Runs the registry recorded since `since` (newest first).
fn new_runs(
    archive: &Archive,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<String>, String> {
    let q = HistoryQuery {
        limit: 1000,
        order: HistoryOrder::Recent,
        ..HistoryQuery::default()
    };
    Ok(archive
        .registry
        .history(&q)
        .map_err(|e| format!("registry: {e}"))?
        .into_iter()
        .filter(|r| r.started_at >= since)
        .map(|r| r.run_id)
        .collect())
}

fn count_new(archive: &Archive, since: chrono::DateTime<chrono::Utc>) -> Result<u32, String> {
    Ok(u32::try_from(new_runs(archive, since)?.len()).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn budget_is_per_day_in_experiments_and_seconds() {
        let mut cfg = AutopilotConfig::new("/tmp/x".into());
        cfg.research.daily_experiments = 3;
        cfg.research.daily_compute = Duration::from_secs(100);
        let mut b = Budget::default();
        assert_eq!(budget_left(&cfg, &b), Ok(3));
        b.experiments = 3;
        assert!(budget_left(&cfg, &b)
            .unwrap_err()
            .contains("experiment budget"));
        b.experiments = 1;
        b.compute_secs = 100.0;
        assert!(budget_left(&cfg, &b)
            .unwrap_err()
            .contains("compute budget"));
    }
}
