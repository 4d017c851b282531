//! The autopilot's Prometheus metrics, one group per part (`synth_autopilot_sync_*`,
//! `_research_*`, `_promotion_*`, `_serving_*`), appended to the miner's `GET /metrics`. The
//! sync's own counters (`synth_miner_history_sync*`) come from the miner's auto-sync, which the
//! scheduled sync shares.

use std::fmt::Write as _;
use std::sync::Mutex;

use crate::state::AutopilotState;

/// Counters of this process (the state file holds the totals across restarts).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Counters {
    /// Sync rounds by result.
    pub sync_ok: u64,
    /// Failed sync rounds.
    pub sync_failed: u64,
    /// Research rounds finished.
    pub research_rounds: u64,
    /// Failed research rounds.
    pub research_failed: u64,
    /// Research rounds skipped: the day's budget is spent.
    pub research_skipped_budget: u64,
    /// Experiments run.
    pub experiments: u64,
    /// Candidates compared with the champion.
    pub compared: u64,
    /// Candidates promoted.
    pub promoted: u64,
    /// Candidates refused.
    pub refused: u64,
    /// Promotion rounds that failed.
    pub promote_failed: u64,
    /// Champions swapped into the miner.
    pub swaps: u64,
}

/// Metrics of a running autopilot.
#[derive(Debug, Default)]
pub struct AutopilotMetrics {
    counters: Mutex<Counters>,
    snapshot: Mutex<AutopilotState>,
    budget: Mutex<(u32, f64)>,
}

impl AutopilotMetrics {
    /// Empty metrics; `daily_experiments` and `daily_compute_secs` are the day's limits.
    pub fn new(daily_experiments: u32, daily_compute_secs: f64) -> Self {
        Self {
            budget: Mutex::new((daily_experiments, daily_compute_secs)),
            ..Self::default()
        }
    }

    /// Changes the counters.
    pub fn update(&self, f: impl FnOnce(&mut Counters)) {
        f(&mut self.counters.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The state the gauges show (set after each step).
    pub fn set_state(&self, s: &AutopilotState) {
        *self.snapshot.lock().unwrap_or_else(|p| p.into_inner()) = s.clone();
    }

    /// The Prometheus text.
    pub fn render(&self) -> String {
        let c = self.counters();
        let s = self
            .snapshot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let (max_exp, max_secs) = *self.budget.lock().unwrap_or_else(|p| p.into_inner());
        let mut t = String::new();
        let mut counter = |name: &str, help: &str, rows: &[(&str, u64)]| {
            let _ = writeln!(t, "# HELP {name} {help}");
            let _ = writeln!(t, "# TYPE {name} counter");
            for (labels, v) in rows {
                if labels.is_empty() {
                    let _ = writeln!(t, "{name} {v}");
                } else {
                    let _ = writeln!(t, "{name}{{{labels}}} {v}");
                }
            }
        };
        counter(
            "synth_autopilot_sync_rounds_total",
            "Scheduled data syncs by result.",
            &[
                ("result=\"ok\"", c.sync_ok),
                ("result=\"failed\"", c.sync_failed),
            ],
        );
        counter(
            "synth_autopilot_research_rounds_total",
            "Research rounds by result (skipped: the day's budget was spent).",
            &[
                ("result=\"ok\"", c.research_rounds),
                ("result=\"failed\"", c.research_failed),
                ("result=\"skipped_budget\"", c.research_skipped_budget),
            ],
        );
        counter(
            "synth_autopilot_research_experiments_total",
            "Experiments run by the research loop.",
            &[("", c.experiments)],
        );
        counter(
            "synth_autopilot_promotion_candidates_total",
            "Candidates compared with the champion on the same prompts, by outcome.",
            &[
                ("outcome=\"promoted\"", c.promoted),
                ("outcome=\"refused\"", c.refused),
            ],
        );
        counter(
            "synth_autopilot_promotion_failures_total",
            "Promotion rounds that could not run.",
            &[("", c.promote_failed)],
        );
        counter(
            "synth_autopilot_serving_swaps_total",
            "Champions hot-swapped into the miner.",
            &[("", c.swaps)],
        );
        let mut gauge = |name: &str, help: &str, v: f64| {
            let _ = writeln!(t, "# HELP {name} {help}");
            let _ = writeln!(t, "# TYPE {name} gauge");
            let _ = writeln!(t, "{name} {v}");
        };
        let ts = |x: Option<i64>| x.map_or(0.0, |v| v as f64);
        gauge(
            "synth_autopilot_sync_last_finished_timestamp_seconds",
            "When the last scheduled sync finished (0: never).",
            ts(s.sync.last_finished),
        );
        gauge(
            "synth_autopilot_research_last_finished_timestamp_seconds",
            "When the last research round finished (0: never).",
            ts(s.research.last_finished),
        );
        gauge(
            "synth_autopilot_promotion_last_finished_timestamp_seconds",
            "When the last promotion round finished (0: never).",
            ts(s.promote.last_finished),
        );
        gauge(
            "synth_autopilot_research_budget_experiments_left",
            "Experiments the research loop may still run today (UTC).",
            f64::from(max_exp.saturating_sub(s.budget.experiments)),
        );
        gauge(
            "synth_autopilot_research_budget_seconds_left",
            "Research seconds left today (UTC).",
            (max_secs - s.budget.compute_secs).max(0.0),
        );
        gauge(
            "synth_autopilot_restarts",
            "Times the service was started again on the same state.",
            s.restarts as f64,
        );
        let _ = writeln!(t, "# HELP synth_autopilot_serving_champion 1 for the champion run the miner serves per asset and timeframe (run=\"default\": the default model).");
        let _ = writeln!(t, "# TYPE synth_autopilot_serving_champion gauge");
        for (key, served) in &s.served {
            let (asset, tf) = key.split_once('/').unwrap_or((key.as_str(), ""));
            let _ = writeln!(
                t,
                "synth_autopilot_serving_champion{{asset=\"{asset}\",timeframe=\"{tf}\",run=\"{}\"}} 1",
                served.run_id.as_deref().unwrap_or("default")
            );
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Served;

    #[test]
    fn renders_each_part() {
        let m = AutopilotMetrics::new(10, 3600.0);
        m.update(|c| {
            c.sync_ok += 2;
            c.promoted += 1;
            c.swaps += 1;
        });
        let mut s = AutopilotState::default();
        s.budget.experiments = 4;
        s.budget.compute_secs = 600.0;
        s.served.insert(
            "BTC/5m".into(),
            Served {
                run_id: Some("abc".into()),
                ..Served::default()
            },
        );
        m.set_state(&s);
        let t = m.render();
        for want in [
            "synth_autopilot_sync_rounds_total{result=\"ok\"} 2\n",
            "synth_autopilot_promotion_candidates_total{outcome=\"promoted\"} 1\n",
            "synth_autopilot_serving_swaps_total 1\n",
            "synth_autopilot_research_budget_experiments_left 6\n",
            "synth_autopilot_research_budget_seconds_left 3000\n",
            "synth_autopilot_serving_champion{asset=\"BTC\",timeframe=\"5m\",run=\"abc\"} 1\n",
        ] {
            assert!(t.contains(want), "missing {want:?} in\n{t}");
        }
    }
}
