//! The real price set shipped inside the binary: the `*.csv.gz` files of `data/` at the
//! repository root (recent 5-minute and 1-minute history of the SN50 assets that have it, cut from
//! the shared real-data files; origin, windows and the command that made them are in
//! `data/README.md`). It is the last place [`crate::lookup`] looks, so a machine with only the
//! repository (or only the binary) still trains and scores on real prices. Read straight from
//! memory; nothing is written to disk.

use std::io::Read;
use std::path::PathBuf;

use crate::import::{read_csv_bytes, ImportOptions};
use crate::{Candles, MarketError};

/// One embedded file: `data/<asset>_<N>m.csv.gz`.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedFile {
    /// Asset as named in the data files (`SPY` for `SPYX`, …).
    pub asset: &'static str,
    /// Seconds per candle.
    pub resolution_secs: u32,
    /// The gzip-compressed CSV (`timestamp,open,high,low,close`, unix seconds of the open).
    pub gz: &'static [u8],
}

macro_rules! embedded_files {
    ($(($asset:literal, $min:literal)),* $(,)?) => {
        &[$(EmbeddedFile {
            asset: $asset,
            resolution_secs: $min * 60,
            gz: include_bytes!(concat!("../../../data/", $asset, "_", $min, "m.csv.gz")),
        }),*]
    };
}

/// Every embedded file.
pub const FILES: &[EmbeddedFile] = embedded_files![
    ("BTC", 1),
    ("BTC", 5),
    ("ETH", 1),
    ("ETH", 5),
    ("SOL", 1),
    ("SOL", 5),
    ("XRP", 1),
    ("XRP", 5),
    ("HYPE", 1),
    ("HYPE", 5),
    ("XAU", 1),
    ("XAU", 5),
    ("SPY", 1),
    ("SPY", 5),
    ("NVDA", 1),
    ("NVDA", 5),
    ("TSLA", 1),
    ("TSLA", 5),
    ("AAPL", 1),
    ("AAPL", 5),
    ("GOOGL", 1),
    ("GOOGL", 5),
];

impl EmbeddedFile {
    /// The file's name in `data/` (also used in error messages).
    pub fn name(&self) -> String {
        format!("{}_{}m.csv.gz", self.asset, self.resolution_secs / 60)
    }

    /// The candles of the file (provenance real).
    pub fn candles(&self) -> Result<Candles, MarketError> {
        let label = PathBuf::from(format!("<embedded>/{}", self.name()));
        let mut csv = Vec::with_capacity(self.gz.len() * 4);
        flate2::read::MultiGzDecoder::new(self.gz)
            .read_to_end(&mut csv)
            .map_err(|e| MarketError::Parse {
                path: label.clone(),
                line: 0,
                problem: format!("corrupt gzip data: {e}"),
            })?;
        let opts = ImportOptions {
            resolution_secs: Some(self.resolution_secs),
        };
        read_csv_bytes(&csv, &label, self.asset, &opts).map(|(c, _)| c)
    }
}

/// The embedded file of `asset` (data-file name, any case) at `resolution_secs`, if any.
pub fn find(asset: &str, resolution_secs: u32) -> Option<&'static EmbeddedFile> {
    FILES
        .iter()
        .find(|f| f.resolution_secs == resolution_secs && f.asset.eq_ignore_ascii_case(asset))
}

/// Total size of the embedded set, bytes (compressed).
pub fn total_bytes() -> usize {
    FILES.iter().map(|f| f.gz.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_parses_as_real_sorted_candles_of_its_resolution() {
        for f in FILES {
            let c = f.candles().unwrap();
            assert!(c.len() > 1000, "{}: {} rows", f.name(), c.len());
            assert_eq!(c.provenance, crate::Provenance::Real);
            assert_eq!(c.resolution_secs, f.resolution_secs);
            assert!(c.ts.windows(2).all(|w| w[0] < w[1]), "{}", f.name());
            assert!(c.close.iter().all(|p| p.is_finite() && *p > 0.0));
        }
        assert!(total_bytes() <= 10 << 20, "{} bytes", total_bytes());
    }

    #[test]
    fn lookup_is_by_asset_any_case_and_resolution() {
        assert_eq!(find("btc", 300).unwrap().name(), "BTC_5m.csv.gz");
        assert!(find("BTC", 900).is_none());
        assert!(find("WTIOIL", 300).is_none());
    }
}
