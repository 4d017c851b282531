//! The history a champion conditions on: recent candles per asset × resolution from the market
//! cache or the shared data files, kept in memory and reloaded in the background every
//! refresh interval (so `synth-city data download` runs are picked up without a restart).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use market::{Candles, Provenance};
use models::data::{load_history, DataPolicy};
use models::ModelError;

/// Supplies the history a champion conditions on (the fallback needs none).
pub trait HistorySource: Send + Sync {
    /// Candles of `asset` at `resolution_secs` whose close is known at `before` (unix
    /// seconds); shared, not copied, when the whole series qualifies.
    fn history(&self, asset: &str, resolution_secs: u32, before: i64) -> Arc<Candles>;

    /// Loads `asset` ahead of the first prompt (default: nothing).
    fn warm(&self, _asset: &str, _resolution_secs: u32) {}

    /// How old each loaded series is now (default: none is tracked).
    fn ages(&self) -> Vec<SeriesAge> {
        Vec::new()
    }

    /// The age beyond which a series counts as stale (default: none).
    fn max_age(&self) -> Option<Duration> {
        None
    }

    /// Reloads every series held now from its store, on the calling thread, and swaps the new
    /// ones in (after a data sync; default: nothing).
    fn reload(&self) {}
}

/// Default age of the newest candle beyond which a series is stale (and said so in the logs
/// and `/metrics`).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

/// How old one series' newest candle is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesAge {
    /// Asset.
    pub asset: String,
    /// Candle step, seconds.
    pub resolution_secs: u32,
    /// Seconds from the newest candle's close to now; `None` when the series is empty.
    pub age_secs: Option<i64>,
    /// Empty, or older than the threshold.
    pub stale: bool,
}

impl SeriesAge {
    /// The age of `c` at `now` (unix seconds) against `max_age`.
    pub fn of(c: &Candles, now: i64, max_age: Duration) -> Self {
        let res = c.resolution_secs;
        let age_secs =
            c.ts.last()
                .map(|t| now.saturating_sub(t.saturating_add(i64::from(res))));
        let limit = i64::try_from(max_age.as_secs()).unwrap_or(i64::MAX);
        Self {
            asset: c.asset.clone(),
            resolution_secs: res,
            age_secs,
            stale: age_secs.is_none_or(|a| a > limit),
        }
    }
}

/// No history: models get an empty series.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHistory;

impl HistorySource for NoHistory {
    fn history(&self, asset: &str, resolution_secs: u32, _before: i64) -> Arc<Candles> {
        Arc::new(Candles::empty(asset, resolution_secs, Provenance::Real))
    }
}

/// Loads a full series (e.g. [`load_history`] with real data only).
pub type Loader = dyn Fn(&str, u32) -> Result<Candles, ModelError> + Send + Sync;

/// Days of history kept in memory per series: enough for every baseline's lookback (30 days)
/// and a neural model's input window.
pub const KEEP_DAYS: i64 = 40;

struct Entry {
    loaded: Instant,
    candles: Arc<Candles>,
    refreshing: bool,
    /// A request found this series stale and said so (once per load).
    stale_logged: bool,
}

impl Entry {
    fn new(candles: Arc<Candles>) -> Self {
        Self {
            loaded: Instant::now(),
            candles,
            refreshing: false,
            stale_logged: false,
        }
    }
}

type Entries = Mutex<HashMap<(String, u32), Entry>>;

/// Real history from the market cache, else the shared data folder (never the synthetic
/// market), trimmed to the last [`KEEP_DAYS`] days and refreshed every `ttl`. A series that
/// cannot be loaded is an empty one (the champion then fails and the fallback answers).
pub struct MarketHistory {
    loader: Arc<Loader>,
    ttl: Duration,
    max_age: Duration,
    entries: Arc<Entries>,
}

impl MarketHistory {
    /// Real data through `models::data::load_history`, reloaded every `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self::with_loader(
            ttl,
            Arc::new(|asset: &str, res: u32| {
                load_history(asset, res, DataPolicy::RealOnly, 0).map(|l| l.candles)
            }),
        )
    }

    /// History from a custom loader (tests, other stores).
    pub fn with_loader(ttl: Duration, loader: Arc<Loader>) -> Self {
        Self {
            loader,
            ttl,
            max_age: DEFAULT_MAX_AGE,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Series whose newest candle closed longer ago than `max_age` are stale (default
    /// [`DEFAULT_MAX_AGE`]).
    pub fn with_max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    fn load(loader: &Loader, asset: &str, res: u32, max_age: Duration) -> Arc<Candles> {
        let t0 = Instant::now();
        match loader(asset, res) {
            Ok(c) => {
                let end = c.ts.last().copied().unwrap_or(i64::MIN);
                let c = if c.len() > 1 {
                    c.slice_time(end.saturating_sub(KEEP_DAYS * 86_400), i64::MAX)
                } else {
                    c
                };
                let age = SeriesAge::of(&c, chrono::Utc::now().timestamp(), max_age);
                if c.is_empty() {
                    tracing::warn!(asset, res, "no history: the champion cannot answer");
                } else if age.stale {
                    let age_h = age.age_secs.unwrap_or(0) as f64 / 3600.0;
                    tracing::warn!(
                        asset,
                        res,
                        candles = c.len(),
                        age_hours = format!("{age_h:.1}"),
                        max_age_s = max_age.as_secs(),
                        "history is stale: refresh it with `synth-city data sync`"
                    );
                } else {
                    tracing::info!(
                        asset,
                        res,
                        candles = c.len(),
                        ms = t0.elapsed().as_millis() as u64,
                        "history loaded"
                    );
                }
                Arc::new(c)
            }
            Err(e) => {
                tracing::warn!(asset, res, error = %e, "history not available: the champion cannot answer");
                Arc::new(Candles::empty(asset, res, Provenance::Real))
            }
        }
    }

    /// The cached series; loads it the first time, and reloads it in the background (serving
    /// the old one meanwhile) once it is older than the refresh interval. A series found
    /// stale is logged once per load.
    fn series(&self, asset: &str, res: u32) -> Arc<Candles> {
        let key = (asset.to_string(), res);
        {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = entries.get_mut(&key) {
                if e.loaded.elapsed() >= self.ttl && !e.refreshing {
                    e.refreshing = true;
                    let (loader, entries, key, max_age) = (
                        self.loader.clone(),
                        self.entries.clone(),
                        key.clone(),
                        self.max_age,
                    );
                    std::thread::spawn(move || {
                        let c = Self::load(loader.as_ref(), &key.0, key.1, max_age);
                        let mut m = entries.lock().unwrap_or_else(|p| p.into_inner());
                        m.insert(key, Entry::new(c));
                    });
                }
                if !e.stale_logged && !e.candles.is_empty() {
                    let age =
                        SeriesAge::of(&e.candles, chrono::Utc::now().timestamp(), self.max_age);
                    if age.stale {
                        e.stale_logged = true;
                        tracing::warn!(
                            asset,
                            res,
                            age_s = age.age_secs.unwrap_or(0),
                            max_age_s = self.max_age.as_secs(),
                            "history went stale while serving: refresh it with `synth-city data sync`"
                        );
                    }
                }
                return e.candles.clone();
            }
        }
        let c = Self::load(self.loader.as_ref(), asset, res, self.max_age);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut e = Entry::new(c.clone());
        // `load` has just said whether it is stale.
        e.stale_logged = true;
        entries.insert(key, e);
        c
    }
}

impl HistorySource for MarketHistory {
    fn history(&self, asset: &str, res: u32, before: i64) -> Arc<Candles> {
        let c = self.series(asset, res);
        // A candle opening at t closes at t + res: keep those with t + res <= before.
        let cutoff = before.saturating_sub(i64::from(res)).saturating_add(1);
        match c.ts.last() {
            Some(&last) if last >= cutoff => Arc::new(c.slice_time(i64::MIN, cutoff)),
            _ => c,
        }
    }

    fn warm(&self, asset: &str, res: u32) {
        let _ = self.series(asset, res);
    }

    fn ages(&self) -> Vec<SeriesAge> {
        let now = chrono::Utc::now().timestamp();
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut ages: Vec<SeriesAge> = entries
            .iter()
            .map(|((asset, res), e)| {
                let mut a = SeriesAge::of(&e.candles, now, self.max_age);
                // An empty series does not know its name.
                a.asset.clone_from(asset);
                a.resolution_secs = *res;
                a
            })
            .collect();
        ages.sort_by(|a, b| (&a.asset, a.resolution_secs).cmp(&(&b.asset, b.resolution_secs)));
        ages
    }

    fn max_age(&self) -> Option<Duration> {
        Some(self.max_age)
    }

    fn reload(&self) {
        let keys: Vec<(String, u32)> = {
            let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            entries.keys().cloned().collect()
        };
        for (asset, res) in keys {
            let c = Self::load(self.loader.as_ref(), &asset, res, self.max_age);
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            let mut e = Entry::new(c);
            e.stale_logged = true;
            entries.insert((asset, res), e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn series(n: usize) -> Candles {
        let mut c = Candles::empty("BTC", 300, Provenance::Real);
        for i in 0..n {
            c.ts.push(1_700_000_000 + 300 * i as i64);
            for v in [&mut c.open, &mut c.high, &mut c.low, &mut c.close] {
                v.push(100.0 + i as f64);
            }
        }
        c
    }

    #[test]
    fn trims_slices_before_the_prompt_and_refreshes_in_background() {
        let calls = Arc::new(AtomicUsize::new(0));
        let n = (KEEP_DAYS as usize + 10) * 288;
        let counter = calls.clone();
        let h = MarketHistory::with_loader(
            Duration::from_millis(50),
            Arc::new(move |asset: &str, _| {
                counter.fetch_add(1, Ordering::SeqCst);
                if asset == "NONE" {
                    return Err(ModelError::Data("no real data".into()));
                }
                Ok(series(n))
            }),
        );
        let last = 1_700_000_000 + 300 * (n as i64 - 1);
        let all = h.history("BTC", 300, last + 300);
        assert_eq!(all.len(), KEEP_DAYS as usize * 288 + 1);
        assert_eq!(*all.ts.last().unwrap(), last);
        // Served from memory: the same allocation, no reload.
        assert!(Arc::ptr_eq(&all, &h.history("BTC", 300, last + 10_000)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A prompt inside the series sees only candles closed by its start.
        let part = h.history("BTC", 300, last - 3000);
        assert_eq!(*part.ts.last().unwrap(), last - 3300);
        // Unavailable history is an empty series, not an error.
        assert!(h.history("NONE", 300, last).is_empty());
        // After the refresh interval the old series is served while a reload runs.
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(h.history("BTC", 300, last + 300).len(), all.len());
        for _ in 0..100 {
            if calls.load(Ordering::SeqCst) >= 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn ages_say_which_series_are_stale() {
        let now = chrono::Utc::now().timestamp();
        let h = MarketHistory::with_loader(
            Duration::from_secs(600),
            Arc::new(move |asset: &str, res: u32| {
                let mut c = Candles::empty(asset, res, Provenance::Real);
                let last = match asset {
                    "OLD" => now - 86_400,
                    "NONE" => return Ok(c),
                    _ => now - 2 * i64::from(res),
                };
                c.ts.push(last);
                for v in [&mut c.open, &mut c.high, &mut c.low, &mut c.close] {
                    v.push(1.0);
                }
                Ok(c)
            }),
        )
        .with_max_age(Duration::from_secs(1800));
        assert_eq!(h.max_age(), Some(Duration::from_secs(1800)));
        for a in ["OLD", "NEW", "NONE"] {
            h.warm(a, 300);
        }
        // Each request checks the age too (and serves the series whatever its age).
        assert_eq!(h.history("OLD", 300, now).len(), 1);
        let ages = h.ages();
        let get = |a: &str| ages.iter().find(|x| x.asset == a).unwrap().clone();
        let old = get("OLD");
        assert!(old.stale);
        assert!((86_000..87_000).contains(&old.age_secs.unwrap()), "{old:?}");
        let new = get("NEW");
        assert!(!new.stale, "{new:?}");
        assert!(new.age_secs.unwrap() <= 400, "{new:?}");
        let none = get("NONE");
        assert_eq!(
            (none.age_secs, none.stale, none.resolution_secs),
            (None, true, 300)
        );
        assert!(NoHistory.ages().is_empty());
    }
}
