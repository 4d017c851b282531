//! What the autopilot runs and how often. Every interval is a [`Duration`] in the config (not a
//! constant), so tests run the whole service in compressed time.

use std::path::PathBuf;
use std::time::Duration;

use sn50::Timeframe;

/// How the research loop proposes experiments.
#[derive(Debug, Clone, PartialEq)]
pub enum ResearchMode {
    /// The agents' pipeline (Planner → Trainer → CodeChecker ⇄ Debugger → Publisher) with the
    /// given planner: the built-in one (TPE + successive halving, no LLM) or an LLM when one is
    /// configured (`agents::Planner::Auto`).
    Pipeline(agents::Planner),
    /// These statistical baselines (preset names), re-run on the fresh data each round: cheap,
    /// no training.
    Baselines(Vec<String>),
    /// No research: the service syncs data, serves, and promotes what others put in the
    /// registry.
    Off,
}

impl ResearchMode {
    /// `pipeline:<planner>`, `baselines:<names>` or `off` (logs, status).
    pub fn label(&self) -> String {
        match self {
            Self::Pipeline(p) => format!("pipeline:{}", planner_label(*p)),
            Self::Baselines(b) => format!("baselines:{}", b.join(",")),
            Self::Off => "off".into(),
        }
    }
}

fn planner_label(p: agents::Planner) -> &'static str {
    match p {
        agents::Planner::Builtin => "builtin",
        agents::Planner::Llm => "llm",
        agents::Planner::Auto => "auto",
    }
}

/// The research loop's limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ResearchConfig {
    /// How experiments are proposed.
    pub mode: ResearchMode,
    /// Experiments per pipeline round (per asset × timeframe).
    pub experiments_per_round: u32,
    /// At most this many experiments per UTC day (0: none).
    pub daily_experiments: u32,
    /// At most this much research wall-clock time per UTC day.
    pub daily_compute: Duration,
    /// Training windows per neural experiment (0: all).
    pub max_windows: usize,
    /// Epochs of the first successive-halving rung (pipeline).
    pub min_epochs: u32,
}

impl Default for ResearchConfig {
    fn default() -> Self {
        Self {
            mode: ResearchMode::Pipeline(agents::Planner::Auto),
            experiments_per_round: 4,
            daily_experiments: 48,
            daily_compute: Duration::from_secs(6 * 3600),
            max_windows: agents::research_binding::DEFAULT_MAX_WINDOWS,
            min_epochs: 2,
        }
    }
}

/// How candidates are compared with the champion (the paired comparison of
/// `research::promotion`).
#[derive(Debug, Clone, PartialEq)]
pub struct PromoteConfig {
    /// Walk-forward folds.
    pub folds: usize,
    /// Prompts per fold (folds × prompts must reach the minimum per competition).
    pub max_prompts: usize,
    /// Evaluation seed.
    pub seed: u64,
    /// Candidates compared per asset × timeframe and round (best first).
    pub candidates_per_round: usize,
}

impl Default for PromoteConfig {
    fn default() -> Self {
        Self {
            folds: 2,
            max_prompts: 100,
            seed: 0,
            candidates_per_round: 1,
        }
    }
}

/// The whole service's settings (the CLI builds them from flags and the environment).
#[derive(Debug, Clone)]
pub struct AutopilotConfig {
    /// The data directory: research registry, artifacts, market cache, autopilot state.
    pub data_dir: PathBuf,
    /// Assets researched and promoted (SN50 names).
    pub assets: Vec<String>,
    /// Competitions researched and promoted (`5m` LOW, `1m` HIGH).
    pub timeframes: Vec<Timeframe>,
    /// Time between two scheduled data syncs.
    pub sync_every: Duration,
    /// Time between the start of two research rounds.
    pub research_every: Duration,
    /// Time between two promotion rounds when no research round asked for one (champions
    /// promoted by others are swapped in by it too).
    pub promote_every: Duration,
    /// Research limits.
    pub research: ResearchConfig,
    /// Promotion settings.
    pub promote: PromoteConfig,
    /// On SIGTERM, wait this long for the step in progress (an experiment) before exiting
    /// anyway (the interrupted step runs again after a restart; finished runs are kept).
    pub stop_grace: Duration,
    /// Stop after this many research rounds (tests, one-shot runs); `None`: run until stopped.
    pub max_rounds: Option<u32>,
}

impl AutopilotConfig {
    /// Defaults for `data_dir`: BTC, ETH, SOL and XAU at both competitions, a sync every 15 min,
    /// a research round every 6 h, promotion checks every hour.
    pub fn new(data_dir: PathBuf) -> Self {
        Self {
            data_dir,
            assets: ["BTC", "ETH", "SOL", "XAU"].map(String::from).to_vec(),
            timeframes: vec![Timeframe::Low5m, Timeframe::High1m],
            sync_every: Duration::from_secs(15 * 60),
            research_every: Duration::from_secs(6 * 3600),
            promote_every: Duration::from_secs(3600),
            research: ResearchConfig::default(),
            promote: PromoteConfig::default(),
            stop_grace: Duration::from_secs(30),
            max_rounds: None,
        }
    }

    /// Refuses settings that cannot work (no assets, zero intervals, too few prompts).
    pub fn validate(&self) -> Result<(), String> {
        if self.assets.is_empty() || self.timeframes.is_empty() {
            return Err("at least one asset and one timeframe are needed".into());
        }
        for a in &self.assets {
            a.parse::<sn50::Asset>()
                .map_err(|e| format!("unknown asset {a:?}: {e}"))?;
        }
        for (name, d) in [
            ("sync interval", self.sync_every),
            ("research interval", self.research_every),
            ("promotion interval", self.promote_every),
        ] {
            if d.is_zero() {
                return Err(format!("the {name} must be more than 0"));
            }
        }
        if let ResearchMode::Baselines(b) = &self.research.mode {
            if b.is_empty() {
                return Err("baselines research needs at least one baseline".into());
            }
            for n in b {
                if models::baselines::baseline(n).is_none() {
                    return Err(format!("unknown baseline {n:?}"));
                }
            }
        }
        for tf in &self.timeframes {
            let mut set = research::PromptSet::standard("BTC", tf.as_str());
            set.folds = self.promote.folds;
            set.max_prompts = self.promote.max_prompts;
            set.check_minimum().map_err(|e| e.message)?;
        }
        Ok(())
    }

    /// The state file (next to the research registry).
    pub fn state_path(&self) -> PathBuf {
        crate::state::state_path(&self.data_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_what_is_wrong() {
        let ok = AutopilotConfig::new(PathBuf::from("/tmp/x"));
        assert_eq!(ok.validate(), Ok(()));
        let mut c = ok.clone();
        c.assets = vec!["DOGE".into()];
        assert!(c.validate().unwrap_err().contains("unknown asset"));
        let mut c = ok.clone();
        c.sync_every = Duration::ZERO;
        assert!(c.validate().unwrap_err().contains("sync interval"));
        let mut c = ok.clone();
        c.research.mode = ResearchMode::Baselines(vec!["nope".into()]);
        assert!(c.validate().unwrap_err().contains("unknown baseline"));
        let mut c = ok.clone();
        c.promote.max_prompts = 10;
        assert!(c.validate().unwrap_err().contains("minimum"));
        assert_eq!(
            ResearchMode::Pipeline(agents::Planner::Auto).label(),
            "pipeline:auto"
        );
    }
}
