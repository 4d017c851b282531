//! `synth-city autopilot status`: what the service did and does, read from its state file and
//! the research registry (works while the service runs: both are written atomically).

use std::path::Path;

use serde::Serialize;

use crate::state::{state_path, AutopilotState, PartState};

/// One promoted champion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChampionRow {
    /// Asset.
    pub asset: String,
    /// `5m` / `1m`.
    pub timeframe: String,
    /// The run (`None`: rolled back to the default model).
    pub run_id: Option<String>,
    /// When.
    pub promoted_at: String,
    /// By whom.
    pub promoted_by: String,
}

/// The status report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// The state file read.
    pub state_file: String,
    /// Whether a state file exists (the service ran here).
    pub found: bool,
    /// Whether the process that wrote it last is alive and says it runs.
    pub alive: bool,
    /// The state.
    pub state: AutopilotState,
    /// The registry's current champions.
    pub champions: Vec<ChampionRow>,
}

/// Whether process `pid` exists (Linux: `/proc/<pid>`; elsewhere assumed alive).
fn pid_alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{pid}")).exists()
    } else {
        true
    }
}

/// Reads the status of the autopilot whose data directory is `data_dir`.
pub fn read(data_dir: &Path) -> Result<Status, String> {
    let path = state_path(data_dir);
    let found = path.is_file();
    let state = AutopilotState::load(&path).map_err(|e| e.to_string())?;
    let alive = state.running && state.pid.is_some_and(pid_alive);
    let mut champions = Vec::new();
    if data_dir.join(research::registry::REGISTRY_FILE).is_file() {
        let reg = research::Registry::open(data_dir.join(research::registry::REGISTRY_FILE))
            .map_err(|e| format!("registry: {e}"))?;
        for p in reg
            .current_promotions()
            .map_err(|e| format!("registry: {e}"))?
        {
            champions.push(ChampionRow {
                asset: p.asset,
                timeframe: p.timeframe,
                run_id: p.run_id,
                promoted_at: p.promoted_at,
                promoted_by: p.promoted_by,
            });
        }
    }
    Ok(Status {
        state_file: path.display().to_string(),
        found,
        alive,
        state,
        champions,
    })
}

fn when(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map_or("never".into(), |d| {
            d.format("%Y-%m-%d %H:%M:%SZ").to_string()
        })
}

fn part_line(name: &str, p: &PartState) -> String {
    format!(
        "{name:<9} rounds {:>4}  failed {:>3}  last {}  {}",
        p.rounds,
        p.failures,
        when(p.last_finished),
        p.last_result.as_deref().unwrap_or("")
    )
}

/// The text report.
pub fn render_text(s: &Status) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    if !s.found {
        let _ = writeln!(
            t,
            "autopilot: never ran here (no {}); start it with `synth-city autopilot`",
            s.state_file
        );
        return t;
    }
    let st = &s.state;
    let run = if s.alive {
        format!("running (pid {})", st.pid.unwrap_or(0))
    } else if st.running {
        "not running (the process ended without a clean stop; a restart resumes)".into()
    } else {
        "stopped".into()
    };
    let _ = writeln!(
        t,
        "autopilot: {run}; serving on {}; started {}; {} restart(s); state updated {}",
        st.listen.as_deref().unwrap_or("?"),
        when(st.started_at),
        st.restarts,
        when(st.updated_at)
    );
    if let Some(p) = &st.in_progress {
        let _ = writeln!(t, "in progress: {p}");
    }
    let _ = writeln!(t, "{}", part_line("sync", &st.sync));
    let _ = writeln!(t, "{}", part_line("research", &st.research));
    let _ = writeln!(t, "{}", part_line("promote", &st.promote));
    let _ = writeln!(
        t,
        "budget {}: {} experiment(s), {:.0} s of research",
        st.budget.day, st.budget.experiments, st.budget.compute_secs
    );
    let promoted = st.evaluated.values().filter(|e| e.promoted).count();
    let _ = writeln!(
        t,
        "candidates compared: {} ({promoted} promoted); champions swapped into the miner: {}",
        st.evaluated.len(),
        st.swaps
    );
    for (key, served) in &st.served {
        let _ = writeln!(
            t,
            "serving {key}: {} ({}) since {}",
            served.run_id.as_deref().unwrap_or("default model"),
            served.model.as_deref().unwrap_or("fallback"),
            when(Some(served.since))
        );
    }
    for c in &s.champions {
        let _ = writeln!(
            t,
            "registry champion {} {}: {} (promoted {} by {})",
            c.asset,
            c.timeframe,
            c.run_id.as_deref().unwrap_or("none: default model"),
            c.promoted_at,
            c.promoted_by
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_of_a_directory_where_it_never_ran() {
        let dir = tempfile::tempdir().unwrap();
        let s = read(dir.path()).unwrap();
        assert!(!s.found && !s.alive);
        assert!(render_text(&s).contains("never ran here"));
        let mut st = AutopilotState {
            running: true,
            pid: Some(std::process::id()),
            ..AutopilotState::default()
        };
        st.sync.rounds = 2;
        st.save(&state_path(dir.path())).unwrap();
        let s = read(dir.path()).unwrap();
        assert!(s.found && s.alive);
        let t = render_text(&s);
        assert!(t.contains("running (pid"), "{t}");
        assert!(t.contains("sync      rounds    2"), "{t}");
    }
}
