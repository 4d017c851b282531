//! SN50 asset names → Pyth history symbols (the validator's own symbol strings).
//!
//! SN50's "XAU" is Tether Gold (`Crypto.XAUT/USD`), not spot gold, and its stocks are the
//! tokenised xStocks (`Crypto.SPYX/USD`, …). WTIOIL is scored from Hyperliquid, not Pyth.
//! Extra or changed symbols come from `SYNTH_CITY_PYTH_SYMBOLS="NEW=Crypto.NEW/USD,…"`.

use std::collections::BTreeMap;

use crate::MarketError;

/// Environment variable with `ASSET=SYMBOL` pairs, comma-separated, that extend the table.
pub const SYMBOLS_ENV: &str = "SYNTH_CITY_PYTH_SYMBOLS";

/// Asset → Pyth history symbol, with overrides: by default the validator's `PYTH_SYMBOL_MAP`
/// ([`sn50::Asset::pyth_symbol`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolTable {
    map: BTreeMap<String, String>,
}

impl Default for SymbolTable {
    fn default() -> Self {
        let map = sn50::Asset::ALL
            .iter()
            .filter_map(|a| Some((a.name().to_string(), a.pyth_symbol()?.to_string())))
            .collect();
        Self { map }
    }
}

impl SymbolTable {
    /// The SN50 table plus the pairs in `$SYNTH_CITY_PYTH_SYMBOLS`.
    pub fn from_env() -> Result<Self, MarketError> {
        let mut t = Self::default();
        if let Ok(spec) = std::env::var(SYMBOLS_ENV) {
            t.apply_overrides(&spec)?;
        }
        Ok(t)
    }

    /// Adds or replaces `ASSET=SYMBOL` pairs given as `A=S,B=T`.
    pub fn apply_overrides(&mut self, spec: &str) -> Result<(), MarketError> {
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, s) = pair.split_once('=').ok_or_else(|| {
                MarketError::Invalid(format!("{SYMBOLS_ENV}: {pair:?} is not ASSET=SYMBOL"))
            })?;
            self.insert(a.trim(), s.trim());
        }
        Ok(())
    }

    /// Adds or replaces one asset's symbol (the name as [`sn50::asset::canonical_asset`]).
    pub fn insert(&mut self, asset: &str, symbol: &str) {
        self.map
            .insert(sn50::asset::canonical_asset(asset), symbol.to_string());
    }

    /// The symbol of `asset` (any case; `SPY`-style aliases name their SN50 asset).
    pub fn symbol(&self, asset: &str) -> Result<&str, MarketError> {
        let key = sn50::asset::canonical_asset(asset);
        if let Some(s) = self.map.get(&key) {
            return Ok(s);
        }
        let hint = if key == "WTIOIL" {
            " (SN50 prices WTIOIL from Hyperliquid xyz:CL, not Pyth)"
        } else {
            ""
        };
        Err(MarketError::Invalid(format!(
            "no Pyth symbol for asset {asset:?}{hint}; known: {}; add one with {SYMBOLS_ENV}",
            self.assets().join(",")
        )))
    }

    /// Known asset names, sorted.
    pub fn assets(&self) -> Vec<String> {
        self.map.keys().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sn50_table_and_overrides() {
        let mut t = SymbolTable::default();
        assert_eq!(t.symbol("XAU").unwrap(), "Crypto.XAUT/USD");
        assert_eq!(t.symbol("spyx").unwrap(), "Crypto.SPYX/USD");
        assert_eq!(t.symbol("spy").unwrap(), "Crypto.SPYX/USD");
        assert_eq!(t.assets().len(), 11);
        let e = t.symbol("WTIOIL").unwrap_err().to_string();
        assert!(e.contains("Hyperliquid"), "{e}");
        t.apply_overrides("XAU=Metal.XAU/USD, DOGE=Crypto.DOGE/USD")
            .unwrap();
        assert_eq!(t.symbol("XAU").unwrap(), "Metal.XAU/USD");
        assert_eq!(t.symbol("DOGE").unwrap(), "Crypto.DOGE/USD");
        assert!(t.apply_overrides("nonsense").is_err());
    }
}
