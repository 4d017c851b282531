//! Which model answers a prompt: the promoted champion per asset × timeframe from a
//! [`ChampionSource`] (the research registry when bound), else the project's default model
//! ([`OrDefault`]: `models::baselines::DEFAULT_MODEL`), cached once loaded, with the reference
//! GBM as the last fallback (it needs no history).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use models::baselines::{reference_sigma, Gbm};
use models::{ForecastRequest, Forecaster, ModelError};
use sn50::{Competition, PathSet};

/// Finds and loads the champion model for an asset and competition.
pub trait ChampionSource: Send + Sync {
    /// The champion, loaded; `Ok(None)` when there is none (the fallback answers).
    fn champion(
        &self,
        asset: &str,
        competition: Competition,
    ) -> Result<Option<Arc<dyn Forecaster>>, ModelError>;
}

/// A source with no champions: every prompt is answered by the fallback.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoChampions;

impl ChampionSource for NoChampions {
    fn champion(&self, _: &str, _: Competition) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
        Ok(None)
    }
}

/// The project's default model ([`models::baselines::DEFAULT_MODEL`], the best statistical
/// baseline), served where no champion has been promoted. Named `default:<model>` so answers
/// and metrics say that the default answered.
pub struct DefaultModel(Box<dyn Forecaster>);

impl DefaultModel {
    /// The default model, built.
    pub fn new() -> Self {
        Self(models::baselines::default_model())
    }
}

impl Default for DefaultModel {
    fn default() -> Self {
        Self::new()
    }
}

impl Forecaster for DefaultModel {
    fn name(&self) -> String {
        format!(
            "{}:{}",
            models::baselines::DEFAULT_ALIAS,
            models::baselines::DEFAULT_MODEL
        )
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        self.0.forecast(req)
    }
}

/// A source that answers with `inner`'s promoted champion, and with the [`DefaultModel`] where
/// there is none (or it cannot be loaded: logged). A fresh install (no registry:
/// `OrDefault::new(NoChampions)`) thus serves the best statistical model, not plain GBM.
pub struct OrDefault<S> {
    inner: S,
    default: Arc<dyn Forecaster>,
}

impl<S: ChampionSource> OrDefault<S> {
    /// `inner`, with the default model where it has no champion.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            default: Arc::new(DefaultModel::new()),
        }
    }
}

impl<S: ChampionSource> ChampionSource for OrDefault<S> {
    fn champion(
        &self,
        asset: &str,
        competition: Competition,
    ) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
        match self.inner.champion(asset, competition) {
            Ok(Some(m)) => Ok(Some(m)),
            Ok(None) => Ok(Some(self.default.clone())),
            Err(e) => {
                tracing::warn!(asset, timeframe = competition.label(), error = %e, "champion failed to load; serving the default model");
                Ok(Some(self.default.clone()))
            }
        }
    }
}

/// The reference miner's model, answered when neither a champion nor the default model can
/// answer (no history, another horizon): exactly
/// [`models::baselines::Gbm::reference`] (the one GBM, also the evaluation's and the backtest's
/// `gbm` competitor, whose docs say how the asset's σ is looked up and floored), under the name
/// `reference_gbm` so answers and metrics say that the fallback answered. Needs no history, so
/// it can always answer.
#[derive(Debug, Default, Clone, Copy)]
pub struct ReferenceGbm;

impl ReferenceGbm {
    /// σ per hour for `asset` ([`models::baselines::reference_sigma`]).
    pub fn sigma(asset: &str) -> f64 {
        reference_sigma(asset)
    }
}

impl Forecaster for ReferenceGbm {
    fn name(&self) -> String {
        "reference_gbm".into()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        Gbm::reference().forecast(req)
    }
}

/// A cached lookup: when it was loaded, the champion (or none), and whether a reload runs.
struct CacheEntry {
    loaded: Instant,
    model: Option<Arc<dyn Forecaster>>,
    refreshing: bool,
}

type Entries = Mutex<HashMap<(String, Competition), CacheEntry>>;

/// Caches loaded champions per asset × competition. A model is loaded once; after `ttl` the
/// entry is reloaded on a background thread while the old model keeps answering, so a newly
/// promoted champion is picked up within about `ttl` and no request waits for a load
/// (except the very first one of a key, which [`ModelCache::warm`] does ahead of time).
pub struct ModelCache {
    source: Arc<dyn ChampionSource>,
    ttl: Duration,
    entries: Arc<Entries>,
}

impl ModelCache {
    /// A cache over `source`.
    pub fn new(source: Arc<dyn ChampionSource>, ttl: Duration) -> Self {
        Self {
            source,
            ttl,
            entries: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn load(
        source: &dyn ChampionSource,
        asset: &str,
        competition: Competition,
    ) -> Option<Arc<dyn Forecaster>> {
        match source.champion(asset, competition) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(asset, timeframe = competition.label(), error = %e, "champion failed to load; using the fallback");
                None
            }
        }
    }

    /// The champion for `asset` × `competition` (cached), or `None` for the fallback. A load
    /// error is logged and cached as "none" until the entry is refreshed.
    pub fn get(&self, asset: &str, competition: Competition) -> Option<Arc<dyn Forecaster>> {
        let key = (asset.to_string(), competition);
        {
            let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(e) = entries.get_mut(&key) {
                if e.loaded.elapsed() >= self.ttl && !e.refreshing {
                    e.refreshing = true;
                    let (source, entries, key) =
                        (self.source.clone(), self.entries.clone(), key.clone());
                    std::thread::spawn(move || {
                        let model = Self::load(source.as_ref(), &key.0, key.1);
                        let mut m = entries.lock().unwrap_or_else(|p| p.into_inner());
                        m.insert(
                            key,
                            CacheEntry {
                                loaded: Instant::now(),
                                model,
                                refreshing: false,
                            },
                        );
                    });
                }
                return e.model.clone();
            }
        }
        // First load, outside the lock: a slow load must not block other assets.
        let model = Self::load(self.source.as_ref(), asset, competition);
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            key,
            CacheEntry {
                loaded: Instant::now(),
                model: model.clone(),
                refreshing: false,
            },
        );
        model
    }

    /// Hot swap: loads the champion of `asset` × `competition` from the source now (on the
    /// calling thread) and puts it in place at once; requests already answering keep the model
    /// they hold, every later one gets the new model. Call it after a promotion instead of
    /// waiting for the refresh interval. Returns the name of the model that now answers
    /// (`None`: the fallback).
    pub fn reload(&self, asset: &str, competition: Competition) -> Option<String> {
        let model = Self::load(self.source.as_ref(), asset, competition);
        let name = model.as_ref().map(|m| m.name());
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(
            (asset.to_string(), competition),
            CacheEntry {
                loaded: Instant::now(),
                model,
                refreshing: false,
            },
        );
        tracing::info!(
            asset,
            timeframe = competition.label(),
            model = name.as_deref().unwrap_or("fallback"),
            "champion swapped in"
        );
        name
    }

    /// The name of the model cached for `asset` × `competition` (`None`: not loaded yet, or
    /// the fallback answers).
    pub fn cached_name(&self, asset: &str, competition: Competition) -> Option<String> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&(asset.to_string(), competition))
            .and_then(|e| e.model.as_ref().map(|m| m.name()))
    }

    /// Loads the champions of `assets` for both competitions ahead of the first prompt.
    pub fn warm(&self, assets: &[&str]) {
        for a in assets {
            for c in Competition::ALL {
                let _ = self.get(a, c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::{Candles, Provenance};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn req<'a>(h: &'a Candles, seed: u64) -> ForecastRequest<'a> {
        ForecastRequest {
            asset: "BTC",
            history: h,
            start_price: 100_000.0,
            start_time: 1_672_531_200,
            time_increment: 300,
            time_length: 86_400,
            num_simulations: 50,
            seed,
            context: Default::default(),
        }
    }

    #[test]
    fn reference_gbm_shape_seed_and_spread() {
        let h = Candles::empty("BTC", 60, Provenance::Real);
        let a = ReferenceGbm.forecast(&req(&h, 7)).unwrap();
        assert_eq!((a.n_paths(), a.n_points()), (50, 289));
        assert!(a.paths().all(|p| p[0] == 100_000.0));
        assert_eq!(a, ReferenceGbm.forecast(&req(&h, 7)).unwrap());
        assert_ne!(a, ReferenceGbm.forecast(&req(&h, 8)).unwrap());
        // Log-return std over 24 h ≈ σ·sqrt(24) = 2.65 %.
        let ends: Vec<f64> = a.paths().map(|p| (p[288] / p[0]).ln()).collect();
        let m = ends.iter().sum::<f64>() / 50.0;
        let sd = (ends.iter().map(|x| (x - m).powi(2)).sum::<f64>() / 49.0).sqrt();
        assert!((0.015..0.04).contains(&sd), "sd {sd}");
    }

    #[test]
    fn reference_gbm_is_the_models_gbm() {
        // One GBM: the fallback answer is bit-identical to models' reference GBM (the
        // evaluation's and backtest's `gbm`) for the same seed, asset and start price,
        // including the σ lookup's aliases and case.
        let h = Candles::empty("BTC", 60, Provenance::Real);
        for (asset, seed) in [("BTC", 7), ("SPYX", 11), ("spy", 3), ("DOGE", 5)] {
            let r = ForecastRequest {
                asset,
                ..req(&h, seed)
            };
            assert_eq!(
                ReferenceGbm.forecast(&r).unwrap(),
                Gbm::reference().forecast(&r).unwrap(),
                "{asset}"
            );
        }
        assert_eq!(ReferenceGbm::sigma("SPY"), 0.00157);
        assert_eq!(ReferenceGbm.name(), "reference_gbm");
    }

    struct Counting(AtomicUsize);
    impl ChampionSource for Counting {
        fn champion(
            &self,
            asset: &str,
            _: Competition,
        ) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            if asset == "BAD" {
                return Err(ModelError::Data("corrupt checkpoint".into()));
            }
            Ok(Some(Arc::new(ReferenceGbm)))
        }
    }

    #[test]
    fn cache_loads_once_per_key_and_falls_back_on_errors() {
        let src = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = ModelCache::new(src.clone(), Duration::from_secs(600));
        assert!(cache.get("BTC", Competition::Low).is_some());
        assert!(cache.get("BTC", Competition::Low).is_some());
        assert_eq!(src.0.load(Ordering::SeqCst), 1);
        assert!(cache.get("BTC", Competition::High).is_some());
        assert!(cache.get("BAD", Competition::Low).is_none());
        assert_eq!(src.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn without_a_champion_the_default_model_serves() {
        let src = OrDefault::new(NoChampions);
        let m = src.champion("BTC", Competition::Low).unwrap().unwrap();
        assert_eq!(m.name(), "default:mix_range");
        // A champion, when there is one, is served instead; a failing source gets the default.
        let counting = OrDefault::new(Counting(AtomicUsize::new(0)));
        let m = counting
            .champion("BTC", Competition::High)
            .unwrap()
            .unwrap();
        assert_eq!(m.name(), "reference_gbm");
        let m = counting
            .champion("BAD", Competition::High)
            .unwrap()
            .unwrap();
        assert_eq!(m.name(), "default:mix_range");
        // The default is the models' default model, bit for bit.
        let h = models::data::synthetic("BTC", 300, 3).unwrap().candles;
        let r = ForecastRequest {
            start_price: *h.close.last().unwrap(),
            start_time: h.ts.last().unwrap() + 300,
            ..req(&h, 3)
        };
        assert_eq!(
            DefaultModel::new().forecast(&r).unwrap(),
            models::baselines::default_model().forecast(&r).unwrap()
        );
    }

    #[test]
    fn expired_entries_reload_in_the_background() {
        let src = Arc::new(Counting(AtomicUsize::new(0)));
        let cache = ModelCache::new(src.clone(), Duration::from_millis(30));
        cache.warm(&["BTC"]);
        assert_eq!(src.0.load(Ordering::SeqCst), 2);
        std::thread::sleep(Duration::from_millis(50));
        // Still answered (by the old model) while the reload runs.
        assert!(cache.get("BTC", Competition::Low).is_some());
        for _ in 0..100 {
            if src.0.load(Ordering::SeqCst) == 3 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(src.0.load(Ordering::SeqCst), 3);
    }
}
