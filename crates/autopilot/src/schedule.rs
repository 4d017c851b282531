//! When each part runs next: pure functions of the state's timestamps and the configured
//! intervals, so a restarted service continues the schedule it left instead of starting over.

use std::time::Duration;

use crate::state::AutopilotState;

/// A part of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Data sync.
    Sync,
    /// A research round.
    Research,
    /// A promotion round.
    Promote,
}

impl Part {
    /// `sync`, `research`, `promote`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sync => "sync",
            Self::Research => "research",
            Self::Promote => "promote",
        }
    }

    /// The part named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Sync, Self::Research, Self::Promote]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// When a part that last started at `last_started` runs again with interval `every` (unix
/// seconds; `now` when it never ran).
pub fn next_due(last_started: Option<i64>, every: Duration, now: i64) -> i64 {
    match last_started {
        None => now,
        Some(t) => t.saturating_add(i64::try_from(every.as_secs()).unwrap_or(i64::MAX)),
    }
}

/// The intervals of the three parts.
#[derive(Debug, Clone, Copy)]
pub struct Intervals {
    /// Between syncs.
    pub sync: Duration,
    /// Between research rounds.
    pub research: Duration,
    /// Between promotion rounds.
    pub promote: Duration,
}

/// The part to run now, if any, in order of priority: a step interrupted by a stop or crash
/// first; fresh data before research; a promotion round after each research round (and on its
/// own interval); research last.
pub fn due_now(s: &AutopilotState, iv: &Intervals, now: i64, research_on: bool) -> Option<Part> {
    if let Some(p) = s.in_progress.as_deref().and_then(Part::parse) {
        if p != Part::Research || research_on {
            return Some(p);
        }
    }
    if next_due(s.sync.last_started, iv.sync, now) <= now {
        return Some(Part::Sync);
    }
    let research_newer = match (s.research.last_finished, s.promote.last_started) {
        (Some(r), Some(p)) => r >= p,
        (Some(_), None) => true,
        _ => false,
    };
    if research_newer || next_due(s.promote.last_started, iv.promote, now) <= now {
        return Some(Part::Promote);
    }
    if research_on && next_due(s.research.last_started, iv.research, now) <= now {
        return Some(Part::Research);
    }
    None
}

/// Seconds until the next part is due (0: one is due now).
pub fn wait_secs(s: &AutopilotState, iv: &Intervals, now: i64, research_on: bool) -> i64 {
    if due_now(s, iv, now, research_on).is_some() {
        return 0;
    }
    let mut next = next_due(s.sync.last_started, iv.sync, now).min(next_due(
        s.promote.last_started,
        iv.promote,
        now,
    ));
    if research_on {
        next = next.min(next_due(s.research.last_started, iv.research, now));
    }
    (next - now).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv() -> Intervals {
        Intervals {
            sync: Duration::from_secs(60),
            research: Duration::from_secs(600),
            promote: Duration::from_secs(300),
        }
    }

    #[test]
    fn a_fresh_service_syncs_then_promotes_then_researches() {
        let mut s = AutopilotState::default();
        let now = 1_000_000;
        assert_eq!(due_now(&s, &iv(), now, true), Some(Part::Sync));
        s.sync.last_started = Some(now);
        // Promotion (swap in what the registry holds) before the first research round.
        assert_eq!(due_now(&s, &iv(), now, true), Some(Part::Promote));
        s.promote.last_started = Some(now);
        assert_eq!(due_now(&s, &iv(), now, true), Some(Part::Research));
        assert_eq!(due_now(&s, &iv(), now, false), None);
        s.research.last_started = Some(now);
        s.research.last_finished = Some(now + 5);
        // A finished research round asks for a promotion round.
        assert_eq!(due_now(&s, &iv(), now + 5, true), Some(Part::Promote));
        s.promote.last_started = Some(now + 6);
        assert_eq!(due_now(&s, &iv(), now + 6, true), None);
        assert_eq!(wait_secs(&s, &iv(), now + 6, true), 54);
        assert_eq!(due_now(&s, &iv(), now + 60, true), Some(Part::Sync));
    }

    #[test]
    fn an_interrupted_step_runs_first_after_a_restart() {
        let mut s = AutopilotState {
            in_progress: Some("research".into()),
            ..AutopilotState::default()
        };
        s.sync.last_started = Some(10);
        assert_eq!(due_now(&s, &iv(), 20, true), Some(Part::Research));
        // Research switched off since: not resumed.
        s.promote.last_started = Some(10);
        assert_eq!(due_now(&s, &iv(), 20, false), None);
        assert_eq!(next_due(None, Duration::from_secs(5), 7), 7);
        assert_eq!(Part::parse("promote"), Some(Part::Promote));
    }
}
