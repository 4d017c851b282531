//! Asset names at the edge: the one check every command (and endpoint) that takes an asset uses.
//!
//! An asset is accepted when it is an SN50 asset (either competition's list), a data-file alias
//! of one (`SPY` for `SPYX`, …: the names of the shared CSV files), an asset added through
//! `$SYNTH_CITY_PYTH_SYMBOLS`, an asset with a real-data file in `$SYNTH_CITY_DATA` or the shared
//! data folder, or an asset with real data in the local cache (`data import`).
//! SN50 names and aliases are parsed by [`sn50::Asset`] (any case, `SPY` → `SPYX`); other names
//! are upper-cased, and only `A-Z 0-9 _ -` and at most [`MAX_ASSET_LEN`] characters are ever
//! accepted, so a checked name is safe inside a file name.

use std::path::Path;

use crate::symbols::SYMBOLS_ENV;
use crate::MarketError;

/// Longest accepted asset name.
pub const MAX_ASSET_LEN: usize = 32;

/// Every SN50 asset of either competition, in the LOW list's order ([`sn50::Asset::ALL`]).
pub fn sn50_assets() -> Vec<&'static str> {
    sn50::Asset::ALL.iter().map(|a| a.name()).collect()
}

/// Upper-cases `name` and checks its shape only (`A-Z 0-9 _ -`, 1..=[`MAX_ASSET_LEN`] chars),
/// for commands that create a new asset (`data import`).
pub fn check_asset_syntax(name: &str) -> Result<String, MarketError> {
    let a = name.trim().to_ascii_uppercase();
    if a.is_empty()
        || a.len() > MAX_ASSET_LEN
        || !a
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        let shown: String = name.chars().take(MAX_ASSET_LEN + 8).collect();
        return Err(MarketError::Invalid(format!(
            "asset {shown:?}: 1 to {MAX_ASSET_LEN} letters, digits, _ or -"
        )));
    }
    Ok(a)
}

/// Real-data assets in a cache folder (file names `<ASSET>_<N>m.parquet`).
pub fn cached_assets(cache_dir: &Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(cache_dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter_map(|n| {
            let stem = n.strip_suffix(".parquet")?;
            if stem.ends_with(".synthetic") {
                return None;
            }
            let (asset, _res) = stem.rsplit_once('_')?;
            check_asset_syntax(asset).ok()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Assets with a real-data file (`<ASSET>_<N>m.csv.gz`) in `$SYNTH_CITY_DATA` or the shared data
/// folder ([`crate::home::data_dirs`]).
fn data_file_assets() -> Vec<String> {
    crate::home::data_dirs()
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| {
            let (asset, _res) = n.strip_suffix(".csv.gz")?.rsplit_once('_')?;
            check_asset_syntax(asset).ok()
        })
        .collect()
}

/// Assets added through `$SYNTH_CITY_PYTH_SYMBOLS` (`ASSET=SYMBOL,…`).
fn env_symbol_assets() -> Vec<String> {
    std::env::var(SYMBOLS_ENV)
        .unwrap_or_default()
        .split(',')
        .filter_map(|p| p.split_once('='))
        .filter_map(|(a, _)| check_asset_syntax(a).ok())
        .collect()
}

/// Every accepted name, for error messages: SN50, aliases, `$SYNTH_CITY_PYTH_SYMBOLS`, the
/// real-data files of `$SYNTH_CITY_DATA` and the shared folder, and the real series in
/// `cache_dir`.
pub fn known_assets(cache_dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = sn50_assets().iter().map(|s| s.to_string()).collect();
    let extra = sn50::Asset::ALL
        .iter()
        .filter_map(|a| a.alias())
        .map(str::to_string)
        .chain(env_symbol_assets())
        .chain(data_file_assets())
        .chain(cached_assets(cache_dir));
    for a in extra {
        if !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// Checks `name` against the known assets with real data in `cache_dir`. An SN50 asset or alias
/// comes back as the validator's name ([`sn50::asset::canonical_asset`]: `spy` → `SPYX`), any
/// other known asset upper-cased.
pub fn parse_asset_in(name: &str, cache_dir: &Path) -> Result<String, MarketError> {
    if let Ok(a) = name.parse::<sn50::Asset>() {
        return Ok(a.name().to_string());
    }
    let a = check_asset_syntax(name)?;
    let known = known_assets(cache_dir);
    if known.contains(&a) {
        return Ok(a);
    }
    Err(MarketError::Invalid(format!(
        "unknown asset {a:?}; known: {} (import other data with `synth-city data import`)",
        known.join(", ")
    )))
}

/// [`parse_asset_in`] on the default cache (`<data dir>/cache`). Usable as a clap
/// `value_parser`.
pub fn parse_asset(name: &str) -> Result<String, MarketError> {
    parse_asset_in(name, &crate::home::data_dir().join("cache"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sn50_aliases_and_cached_assets_are_known_everything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(parse_asset_in("btc", dir.path()).unwrap(), "BTC");
        assert_eq!(parse_asset_in("WTIOIL", dir.path()).unwrap(), "WTIOIL");
        assert_eq!(parse_asset_in("spy", dir.path()).unwrap(), "SPYX");
        assert_eq!(parse_asset_in(" Googl ", dir.path()).unwrap(), "GOOGLX");
        for bad in ["", "../../EVIL", "a/b", "HUGE", &"X".repeat(40), "B T C"] {
            assert!(parse_asset_in(bad, dir.path()).is_err(), "{bad:?}");
        }
        std::fs::write(dir.path().join("MYCOIN_1m.parquet"), b"").unwrap();
        std::fs::write(dir.path().join("FAKE_1m.synthetic.parquet"), b"").unwrap();
        assert_eq!(parse_asset_in("mycoin", dir.path()).unwrap(), "MYCOIN");
        assert!(parse_asset_in("FAKE", dir.path()).is_err());
        let e = parse_asset_in("NOPE", dir.path()).unwrap_err().to_string();
        assert!(e.contains("known: BTC") && e.contains("MYCOIN"), "{e}");
    }
}
