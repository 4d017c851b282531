//! The autopilot's own state, `autopilot/state.json` in the data directory next to the research
//! registry (which holds the runs, the champions and their history). Written atomically
//! ([`market::atomic`]) after every step, so a restart at any point finds what was done: when
//! each part last ran, the step that was interrupted, the day's research budget spent, which
//! candidates were already compared (never compared twice) and which champion the miner serves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Folder of the state under the data directory.
pub const STATE_DIR: &str = "autopilot";
/// The state file's name.
pub const STATE_FILE: &str = "state.json";
/// Version of the file's layout.
pub const STATE_VERSION: u32 = 1;

/// `<data_dir>/autopilot/state.json`.
pub fn state_path(data_dir: &Path) -> PathBuf {
    data_dir.join(STATE_DIR).join(STATE_FILE)
}

/// One part's (sync, research, promotion) record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartState {
    /// Rounds finished.
    pub rounds: u64,
    /// Rounds that failed.
    pub failures: u64,
    /// When the last round started (unix seconds).
    pub last_started: Option<i64>,
    /// When the last round finished (unix seconds).
    pub last_finished: Option<i64>,
    /// What the last round did or why it failed.
    pub last_result: Option<String>,
}

/// The research budget of one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    /// Experiments run that day.
    pub experiments: u32,
    /// Research wall-clock seconds spent that day.
    pub compute_secs: f64,
}

impl Budget {
    /// The budget of `day`: this one, or a fresh one when the day changed.
    pub fn for_day(&mut self, day: &str) -> &mut Self {
        if self.day != day {
            *self = Budget {
                day: day.to_string(),
                ..Budget::default()
            };
        }
        self
    }
}

/// What comparing one candidate gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluated {
    /// Asset.
    pub asset: String,
    /// `5m` / `1m`.
    pub timeframe: String,
    /// Promoted or not.
    pub promoted: bool,
    /// Why (the comparison's summary).
    pub reason: String,
    /// When (unix seconds).
    pub at: i64,
}

/// The champion the miner serves for one asset × timeframe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Served {
    /// Champion run (`None`: the default model).
    pub run_id: Option<String>,
    /// The model name the miner reported after the swap.
    pub model: Option<String>,
    /// When it was swapped in (unix seconds).
    pub since: i64,
}

/// The state file's content.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AutopilotState {
    /// Layout version.
    pub version: u32,
    /// Process id of the service that wrote it last.
    pub pid: Option<u32>,
    /// When that service started (unix seconds).
    pub started_at: Option<i64>,
    /// Last write (unix seconds): a heartbeat.
    pub updated_at: Option<i64>,
    /// Whether the service is running (false after a clean stop).
    pub running: bool,
    /// Restarts seen (starts after the first).
    pub restarts: u64,
    /// Address the miner serves on.
    pub listen: Option<String>,
    /// The step in progress (`sync`, `research`, `promote`); set at its start, cleared at its
    /// end: after a crash or a stop mid-step it names the step that runs again first.
    pub in_progress: Option<String>,
    /// Data sync.
    pub sync: PartState,
    /// Research rounds.
    pub research: PartState,
    /// Promotion rounds.
    pub promote: PartState,
    /// Today's research budget.
    pub budget: Budget,
    /// Run ids of the research rounds' experiments (newest last, at most 200).
    pub recent_runs: Vec<String>,
    /// Candidates already compared, by run id.
    pub evaluated: BTreeMap<String, Evaluated>,
    /// What the miner serves, by `ASSET/timeframe`.
    pub served: BTreeMap<String, Served>,
    /// Champions swapped into the miner.
    pub swaps: u64,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Reading or writing the file.
    #[error("autopilot state {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not an autopilot state.
    #[error("autopilot state {path} is damaged: {problem} (move it away to start afresh; the registry keeps every run and champion)")]
    Damaged {
        /// The file.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// Key of [`AutopilotState::served`].
pub fn served_key(asset: &str, timeframe: &str) -> String {
    format!("{}/{timeframe}", asset.to_ascii_uppercase())
}

/// Most run ids kept in [`AutopilotState::recent_runs`].
pub const RECENT_RUNS: usize = 200;

impl AutopilotState {
    /// Reads the state at `path`; a missing file is a fresh state.
    pub fn load(path: &Path) -> Result<Self, StateError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self {
                    version: STATE_VERSION,
                    ..Self::default()
                })
            }
            Err(source) => {
                return Err(StateError::Io {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        let s: Self = serde_json::from_slice(&bytes).map_err(|e| StateError::Damaged {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        if s.version != STATE_VERSION {
            return Err(StateError::Damaged {
                path: path.display().to_string(),
                problem: format!(
                    "layout version {} (this build reads {STATE_VERSION})",
                    s.version
                ),
            });
        }
        Ok(s)
    }

    /// Writes the state to `path` atomically (a reader sees the old or the new file, whole).
    pub fn save(&mut self, path: &Path) -> Result<(), StateError> {
        self.version = STATE_VERSION;
        self.updated_at = Some(chrono::Utc::now().timestamp());
        let io = |source| StateError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(|e| StateError::Damaged {
            path: path.display().to_string(),
            problem: e.to_string(),
        })?;
        market::atomic::write_atomic(path, &json).map_err(io)
    }

    /// Records research runs (keeps the newest [`RECENT_RUNS`]).
    pub fn add_runs(&mut self, ids: impl IntoIterator<Item = String>) {
        for id in ids {
            if !self.recent_runs.contains(&id) {
                self.recent_runs.push(id);
            }
        }
        let extra = self.recent_runs.len().saturating_sub(RECENT_RUNS);
        self.recent_runs.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_atomically_and_refuses_damage() {
        let dir = tempfile::tempdir().unwrap();
        let p = state_path(dir.path());
        let mut s = AutopilotState::load(&p).unwrap();
        assert_eq!(s.version, STATE_VERSION);
        s.research.rounds = 3;
        s.budget.for_day("2026-01-02").experiments = 5;
        s.add_runs((0..250).map(|i| format!("r{i}")));
        s.save(&p).unwrap();
        let back = AutopilotState::load(&p).unwrap();
        assert_eq!(back, s);
        assert_eq!(back.recent_runs.len(), RECENT_RUNS);
        assert_eq!(back.recent_runs[0], "r50");
        // A new day starts a fresh budget; the same day keeps it.
        let mut b = back.budget.clone();
        assert_eq!(b.for_day("2026-01-02").experiments, 5);
        assert_eq!(b.for_day("2026-01-03").experiments, 0);
        std::fs::write(&p, b"{not json").unwrap();
        let e = AutopilotState::load(&p).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        assert_eq!(served_key("btc", "5m"), "BTC/5m");
    }
}
