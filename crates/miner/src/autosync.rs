//! Keeping the history fresh while serving: [`AutoSync`] checks the age of the series the
//! champions condition on (at start and, at most every `check_every`, on a request) and, when
//! one is older than `max_age`, brings the market cache up to now from Pyth with
//! [`market::sync::sync_series`] on a background thread, then reloads the history in memory.
//!
//! A sync never blocks an answer (requests are served from the history already loaded while it
//! runs) and only one runs at a time (a check while one runs does nothing; a caller that asks
//! for one meanwhile is told it is busy). What it did is in the log and in `/metrics`
//! (`synth_miner_history_sync*`).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use market::pyth::{PythClient, PythConfig};
use market::sync::{sync_series, SyncOutcome};
use market::Cache;
use serde::Serialize;

use crate::history::HistorySource;

/// Default: at most one staleness check every this long (a check is an in-memory look at the
/// loaded series; a sync that finds nothing new costs one small request per series).
pub const DEFAULT_CHECK_EVERY: Duration = Duration::from_secs(300);

/// Default furthest back a sync reaches (days) when a series' cache ends long ago.
pub const DEFAULT_MAX_DAYS: u32 = 30;

/// What the auto-sync watches and how.
#[derive(Debug, Clone)]
pub struct AutoSyncConfig {
    /// A series whose newest candle closed longer ago than this is stale.
    pub max_age: Duration,
    /// Least time between two checks triggered by requests.
    pub check_every: Duration,
    /// Furthest back a sync reaches, days.
    pub max_days: u32,
    /// Asset × candle step (seconds) kept fresh.
    pub series: Vec<(String, u32)>,
}

/// Counters of the syncs run so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncStats {
    /// Syncs started.
    pub started: u64,
    /// Syncs where every series synced.
    pub ok: u64,
    /// Syncs where a series failed (what arrived is kept).
    pub failed: u64,
    /// Requests for a sync while one was running.
    pub busy: u64,
    /// Candles added to the cache.
    pub candles_added: u64,
    /// When the last sync finished (unix seconds).
    pub last_finished_unix: Option<i64>,
    /// When the last fully successful sync finished (unix seconds).
    pub last_ok_unix: Option<i64>,
    /// Why the last sync ran.
    pub last_reason: Option<String>,
    /// The last sync's failures, if any.
    pub last_error: Option<String>,
    /// Seconds the last sync took.
    pub last_duration_secs: f64,
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncReport {
    /// One outcome per series synced.
    pub outcomes: Vec<SyncOutcome>,
    /// `asset step: error` of the series that failed.
    pub failures: Vec<String>,
}

impl SyncReport {
    /// Candles added over all series.
    pub fn added(&self) -> usize {
        self.outcomes.iter().map(|o| o.added).sum()
    }
}

/// Why a sync was not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyncRefused {
    /// Another sync is running.
    #[error("a history sync is already running")]
    Busy,
}

/// Clears the running flag however the sync ends.
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// Background history sync of a miner (see the module docs).
pub struct AutoSync {
    cfg: AutoSyncConfig,
    pyth: PythConfig,
    cache: Cache,
    history: Arc<dyn HistorySource>,
    running: AtomicBool,
    last_check: Mutex<Option<Instant>>,
    stats: Mutex<SyncStats>,
}

fn age_label(asset: &str, res: u32, age: Option<i64>) -> String {
    let step = market::cache::resolution_label(res);
    match age {
        Some(s) => format!("{asset} {step} {:.1} h old", s as f64 / 3600.0),
        None => format!("{asset} {step} empty"),
    }
}

impl AutoSync {
    /// Syncs `cfg.series` from Pyth (`pyth`) into `cache`, then reloads `history`.
    pub fn new(
        cfg: AutoSyncConfig,
        pyth: PythConfig,
        cache: Cache,
        history: Arc<dyn HistorySource>,
    ) -> Self {
        Self {
            cfg,
            pyth,
            cache,
            history,
            running: AtomicBool::new(false),
            last_check: Mutex::new(None),
            stats: Mutex::new(SyncStats::default()),
        }
    }

    /// The settings.
    pub fn config(&self) -> &AutoSyncConfig {
        &self.cfg
    }

    /// The watched series that are stale now (older than `max_age`, empty, or not loaded),
    /// described for the log (`BTC 5m 3.2 h old`).
    pub fn stale(&self) -> Vec<String> {
        let ages = self.history.ages();
        let limit = i64::try_from(self.cfg.max_age.as_secs()).unwrap_or(i64::MAX);
        self.cfg
            .series
            .iter()
            .filter_map(|(asset, res)| {
                let a = ages
                    .iter()
                    .find(|a| a.resolution_secs == *res && a.asset.eq_ignore_ascii_case(asset));
                let age = a.and_then(|a| a.age_secs);
                let stale = age.is_none_or(|s| s > limit);
                stale.then(|| age_label(asset, *res, age))
            })
            .collect()
    }

    /// The cheap check made on a request: at most once per `check_every`, looks for stale
    /// series and starts a background sync when there are some (and none runs). Never waits.
    /// Returns whether a sync was started.
    pub fn check(self: &Arc<Self>) -> bool {
        {
            let mut last = self.last_check.lock().unwrap_or_else(|p| p.into_inner());
            if last.is_some_and(|t| t.elapsed() < self.cfg.check_every) {
                return false;
            }
            *last = Some(Instant::now());
        }
        self.check_now()
    }

    /// The check made at start: looks for stale series now and starts a background sync
    /// when there are some. Returns whether a sync was started.
    pub fn check_now(self: &Arc<Self>) -> bool {
        if self.running() {
            return false;
        }
        let stale = self.stale();
        if stale.is_empty() {
            return false;
        }
        let reason = format!("stale history: {}", stale.join(", "));
        tracing::warn!(%reason, max_age_s = self.cfg.max_age.as_secs(), "history is stale: syncing from Pyth in the background");
        self.start(reason)
    }

    /// Starts a sync on a background thread unless one runs. Returns whether it started.
    pub fn start(self: &Arc<Self>, reason: String) -> bool {
        if self.running.swap(true, Ordering::SeqCst) {
            self.lock_stats().busy += 1;
            return false;
        }
        let me = self.clone();
        let spawned = std::thread::Builder::new()
            .name("history-sync".into())
            .spawn(move || {
                let _running = Running(&me.running);
                me.run(&reason);
            });
        if let Err(e) = spawned {
            self.running.store(false, Ordering::SeqCst);
            tracing::error!(error = %e, "could not start the history sync thread");
            return false;
        }
        true
    }

    /// Runs a sync on the calling thread (a scheduled sync); refused while another runs.
    pub fn sync_blocking(&self, reason: &str) -> Result<SyncReport, SyncRefused> {
        if self.running.swap(true, Ordering::SeqCst) {
            self.lock_stats().busy += 1;
            return Err(SyncRefused::Busy);
        }
        let _running = Running(&self.running);
        Ok(self.run(reason))
    }

    /// Whether a sync runs now.
    pub fn running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }

    /// The counters so far.
    pub fn stats(&self) -> SyncStats {
        self.lock_stats().clone()
    }

    fn lock_stats(&self) -> std::sync::MutexGuard<'_, SyncStats> {
        self.stats.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self, reason: &str) -> SyncReport {
        let t0 = Instant::now();
        {
            let mut s = self.lock_stats();
            s.started += 1;
            s.last_reason = Some(reason.to_string());
        }
        tracing::info!(
            reason,
            series = self.cfg.series.len(),
            "history sync started"
        );
        let mut report = SyncReport::default();
        match PythClient::new(self.pyth.clone()) {
            Err(e) => report.failures.push(format!("Pyth client: {e}")),
            Ok(client) => {
                let now = chrono::Utc::now().timestamp();
                for (asset, res) in &self.cfg.series {
                    match sync_series(
                        &client,
                        &self.cache,
                        asset,
                        *res,
                        now,
                        self.cfg.max_days,
                        |_, _| {},
                    ) {
                        Ok(o) => report.outcomes.push(o),
                        Err(e) => report.failures.push(format!(
                            "{asset} {}: {e}",
                            market::cache::resolution_label(*res)
                        )),
                    }
                }
            }
        }
        // Whatever arrived is in the cache: serve it.
        self.history.reload();
        let secs = t0.elapsed().as_secs_f64();
        let added = report.added();
        let mut s = self.lock_stats();
        let now = chrono::Utc::now().timestamp();
        s.candles_added += added as u64;
        s.last_finished_unix = Some(now);
        s.last_duration_secs = secs;
        if report.failures.is_empty() {
            s.ok += 1;
            s.last_ok_unix = Some(now);
            s.last_error = None;
            tracing::info!(added, secs = format!("{secs:.1}"), "history sync done");
        } else {
            s.failed += 1;
            let err = report.failures.join("; ");
            tracing::warn!(added, error = %err, "history sync failed for some series (what arrived is kept; the next check retries)");
            s.last_error = Some(err);
        }
        report
    }

    /// The Prometheus text of the sync counters.
    pub fn render_metrics(&self) -> String {
        let s = self.stats();
        let mut t = String::new();
        let _ = writeln!(t, "# HELP synth_miner_history_syncs_total History syncs from Pyth by result (failed: a series failed; what arrived is kept).");
        let _ = writeln!(t, "# TYPE synth_miner_history_syncs_total counter");
        let _ = writeln!(
            t,
            "synth_miner_history_syncs_total{{result=\"ok\"}} {}",
            s.ok
        );
        let _ = writeln!(
            t,
            "synth_miner_history_syncs_total{{result=\"failed\"}} {}",
            s.failed
        );
        let _ = writeln!(t, "# HELP synth_miner_history_sync_busy_total Syncs asked for while one was running (not started).");
        let _ = writeln!(t, "# TYPE synth_miner_history_sync_busy_total counter");
        let _ = writeln!(t, "synth_miner_history_sync_busy_total {}", s.busy);
        let _ = writeln!(
            t,
            "# HELP synth_miner_history_sync_running 1 while a history sync runs."
        );
        let _ = writeln!(t, "# TYPE synth_miner_history_sync_running gauge");
        let _ = writeln!(
            t,
            "synth_miner_history_sync_running {}",
            u8::from(self.running())
        );
        let _ = writeln!(
            t,
            "# HELP synth_miner_history_sync_candles_added_total Candles added to the cache by syncs."
        );
        let _ = writeln!(
            t,
            "# TYPE synth_miner_history_sync_candles_added_total counter"
        );
        let _ = writeln!(
            t,
            "synth_miner_history_sync_candles_added_total {}",
            s.candles_added
        );
        if let Some(ts) = s.last_ok_unix {
            let _ = writeln!(t, "# HELP synth_miner_history_sync_last_success_timestamp_seconds When the last fully successful sync finished.");
            let _ = writeln!(
                t,
                "# TYPE synth_miner_history_sync_last_success_timestamp_seconds gauge"
            );
            let _ = writeln!(
                t,
                "synth_miner_history_sync_last_success_timestamp_seconds {ts}"
            );
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::SeriesAge;

    struct Ages(Vec<SeriesAge>);
    impl HistorySource for Ages {
        fn history(&self, asset: &str, res: u32, _: i64) -> Arc<market::Candles> {
            Arc::new(market::Candles::empty(asset, res, market::Provenance::Real))
        }
        fn ages(&self) -> Vec<SeriesAge> {
            self.0.clone()
        }
    }

    fn age(asset: &str, res: u32, secs: Option<i64>) -> SeriesAge {
        SeriesAge {
            asset: asset.into(),
            resolution_secs: res,
            age_secs: secs,
            stale: false,
        }
    }

    fn sync(ages: Vec<SeriesAge>, series: &[(&str, u32)]) -> Arc<AutoSync> {
        let dir = std::env::temp_dir();
        Arc::new(AutoSync::new(
            AutoSyncConfig {
                max_age: Duration::from_secs(3600),
                check_every: Duration::from_secs(3600),
                max_days: 1,
                series: series.iter().map(|(a, r)| (a.to_string(), *r)).collect(),
            },
            PythConfig {
                // Nothing listens on port 9 of loopback: a sync fails at once.
                history_url: "http://127.0.0.1:9/history".into(),
                retries: 0,
                ..PythConfig::default()
            },
            Cache::new(dir.join("synth-city-autosync-unit-never-written")),
            Arc::new(Ages(ages)),
        ))
    }

    #[test]
    fn stale_series_are_old_empty_or_not_loaded() {
        let s = sync(
            vec![
                age("BTC", 300, Some(60)),
                age("ETH", 300, Some(7200)),
                age("SOL", 300, None),
            ],
            &[("BTC", 300), ("ETH", 300), ("SOL", 300), ("XAU", 60)],
        );
        assert_eq!(
            s.stale(),
            vec!["ETH 5m 2.0 h old", "SOL 5m empty", "XAU 1m empty"]
        );
        let fresh = sync(vec![age("BTC", 300, Some(60))], &[("BTC", 300)]);
        assert!(fresh.stale().is_empty());
        assert!(!fresh.check_now(), "nothing stale: no sync");
        assert_eq!(fresh.stats().started, 0);
    }

    #[test]
    fn request_checks_are_throttled() {
        let s = sync(vec![], &[]);
        // The first check looks (nothing watched: nothing to do); the next ones within
        // check_every do not even look.
        assert!(!s.check());
        assert!(s.last_check.lock().unwrap().is_some());
        let before = *s.last_check.lock().unwrap();
        assert!(!s.check());
        assert_eq!(*s.last_check.lock().unwrap(), before);
    }

    #[test]
    fn one_sync_at_a_time_and_failures_are_counted() {
        // An asset with no known history and no Pyth symbol: nothing is seeded or written.
        let s = sync(vec![], &[("ZZZ", 300)]);
        s.running.store(true, Ordering::SeqCst);
        assert_eq!(s.sync_blocking("test"), Err(SyncRefused::Busy));
        assert!(!s.start("test".into()));
        assert_eq!(s.stats().busy, 2);
        assert_eq!(s.stats().started, 0);
        s.running.store(false, Ordering::SeqCst);
        // The feed is unreachable: the sync fails, is counted, and the flag is cleared.
        let r = s.sync_blocking("test").unwrap();
        assert_eq!(r.failures.len(), 1, "{r:?}");
        assert!(!s.running());
        let st = s.stats();
        assert_eq!((st.started, st.ok, st.failed), (1, 0, 1));
        assert!(st.last_error.unwrap().starts_with("ZZZ 5m"));
        let m = s.render_metrics();
        assert!(m.contains("synth_miner_history_syncs_total{result=\"failed\"} 1\n"));
        assert!(m.contains("synth_miner_history_sync_running 0\n"));
        assert!(!m.contains("last_success_timestamp"));
    }
}
