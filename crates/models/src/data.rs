//! History for experiments: the local cache, else the real files in the shared data folder,
//! else the synthetic market, which is always labelled as such (provenance + a warning line).

use market::{Cache, Candles, Provenance, SyntheticParams};
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// Where a loaded series came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataSource {
    /// The local market cache (`synth-city data …`).
    Cache,
    /// The real CSV.gz history in the shared data folder.
    SharedFiles,
    /// The synthetic market (no real data found, or asked for).
    Synthetic,
}

/// A loaded series and how it was obtained.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The candles (`candles.provenance` is `Synthetic` for the synthetic market).
    pub candles: Candles,
    /// Where they came from.
    pub source: DataSource,
    /// A loud one-line warning when the data are synthetic; `None` for real data.
    pub warning: Option<String>,
}

/// What [`load_history`] may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataPolicy {
    /// Cache, then the shared files, then the synthetic market (with a warning).
    RealOrSynthetic,
    /// Only real data: an error when there is none.
    RealOnly,
    /// Only the synthetic market (tests, demos); still labelled synthetic.
    SyntheticOnly,
}

/// Days of synthetic history generated when no real data exist.
pub const SYNTHETIC_DAYS: i64 = 60;
/// First candle of the synthetic series (2025-01-01 00:00 UTC), fixed for reproducibility.
pub const SYNTHETIC_START: i64 = 1_735_689_600;

/// The name of an asset in the shared data folder (`SPYX` → `SPY`, `GOOGLX` → `GOOGL`, …).
pub use sn50::asset::file_asset;

/// Loads `asset` at `resolution_secs` following `policy`; `seed` only shapes synthetic data.
pub fn load_history(
    asset: &str,
    resolution_secs: u32,
    policy: DataPolicy,
    seed: u64,
) -> Result<Loaded, ModelError> {
    if policy != DataPolicy::SyntheticOnly {
        let cache = Cache::open_default();
        let mut errors = Vec::new();
        for name in [sn50::asset::canonical_asset(asset), file_asset(asset)] {
            match cache.load(&name, resolution_secs) {
                Ok(Some(c)) if !c.is_empty() => return Ok(real(c, DataSource::Cache)),
                Ok(_) => {}
                Err(e) => errors.push(format!("cache: {e}")),
            }
        }
        match market::load_shared(&file_asset(asset), resolution_secs) {
            Ok(c) if !c.is_empty() => return Ok(real(c, DataSource::SharedFiles)),
            Ok(_) => errors.push("shared file is empty".into()),
            Err(e) => errors.push(format!("shared files: {e}")),
        }
        if policy == DataPolicy::RealOnly {
            return Err(ModelError::Data(format!(
                "no real {asset} data at {resolution_secs} s ({})",
                errors.join("; ")
            )));
        }
    }
    synthetic(asset, resolution_secs, seed)
}

fn real(mut candles: Candles, source: DataSource) -> Loaded {
    candles.provenance = Provenance::Real;
    Loaded {
        candles,
        source,
        warning: None,
    }
}

/// The synthetic market for `asset`: [`SYNTHETIC_DAYS`] days from [`SYNTHETIC_START`].
pub fn synthetic(asset: &str, resolution_secs: u32, seed: u64) -> Result<Loaded, ModelError> {
    let n = (SYNTHETIC_DAYS * 86_400 / i64::from(resolution_secs.max(1))) as usize;
    let candles = SyntheticParams::for_asset(asset)
        .generate(SYNTHETIC_START, resolution_secs, n, seed)
        .map_err(|e| ModelError::Data(format!("synthetic market: {e}")))?;
    Ok(Loaded {
        candles,
        source: DataSource::Synthetic,
        warning: Some(format!(
            "WARNING: no real {asset} data at {resolution_secs} s was used: these results come from \
             the SYNTHETIC market, not real prices"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equity_names_map_to_files() {
        assert_eq!(file_asset("SPYX"), "SPY");
        assert_eq!(file_asset("googlx"), "GOOGL");
        assert_eq!(file_asset("BTC"), "BTC");
        assert_eq!(file_asset("XAU"), "XAU");
    }

    #[test]
    fn synthetic_is_labelled_loudly() {
        let l = load_history("BTC", 300, DataPolicy::SyntheticOnly, 1).unwrap();
        assert_eq!(l.source, DataSource::Synthetic);
        assert_eq!(l.candles.provenance, Provenance::Synthetic);
        assert!(l.warning.unwrap().contains("SYNTHETIC"));
        assert_eq!(l.candles.len(), 60 * 288);
    }
}
