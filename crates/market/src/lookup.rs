//! Where the real history of an asset is found, at run time, first match per file wins:
//!
//! 1. `$SYNTH_CITY_DATA`: a folder of `<ASSET>_<N>m.csv.gz` files (the shared data format);
//! 2. `<shared>/data`, where `<shared>` is `$SYNTH_CITY_SHARED`, else a `shared` folder beside the
//!    current directory or one of its three nearest parents (see [`crate::home::shared_dir`]);
//! 3. the real set embedded in the binary ([`crate::embedded`]).
//!
//! A file that exists but cannot be read is an error, not a reason to fall through. The local
//! Parquet cache (`synth-city data download/import`) is consulted before all of these by the
//! model layer; this module covers only the file-based history.

use std::path::PathBuf;

use crate::embedded::{self, EmbeddedFile};
use crate::import::{read_csv_file_with, ImportOptions};
use crate::{Candles, MarketError};

/// Where a real series comes from.
#[derive(Debug, Clone)]
pub enum RealSource {
    /// A file in `$SYNTH_CITY_DATA` or the shared data folder.
    File(PathBuf),
    /// The set embedded in the binary.
    Embedded(&'static EmbeddedFile),
}

impl RealSource {
    /// A short description (`embedded BTC_5m.csv.gz`, or the file name).
    pub fn describe(&self) -> String {
        match self {
            RealSource::File(p) => p.display().to_string(),
            RealSource::Embedded(f) => format!("embedded {}", f.name()),
        }
    }
}

fn file_name(asset: &str, resolution_secs: u32) -> Result<String, MarketError> {
    if resolution_secs == 0 || !resolution_secs.is_multiple_of(60) {
        return Err(MarketError::Invalid(format!(
            "no data file for a resolution of {resolution_secs} s (whole minutes only)"
        )));
    }
    Ok(format!("{asset}_{}m.csv.gz", resolution_secs / 60))
}

/// The first place that holds real `asset` history at `resolution_secs`, or `None`. An SN50
/// asset is looked up under its data-file name ([`sn50::asset::file_asset`]: `SPYX` → `SPY`).
pub fn locate(asset: &str, resolution_secs: u32) -> Result<Option<RealSource>, MarketError> {
    let asset = &sn50::asset::file_asset(asset);
    let name = file_name(asset, resolution_secs)?;
    for dir in crate::home::data_dirs() {
        let path = dir.join(&name);
        if path.is_file() {
            return Ok(Some(RealSource::File(path)));
        }
    }
    Ok(embedded::find(asset, resolution_secs).map(RealSource::Embedded))
}

/// The real `asset` history at `resolution_secs` and where it came from (see the module docs).
pub fn load_real(asset: &str, resolution_secs: u32) -> Result<(Candles, RealSource), MarketError> {
    let Some(src) = locate(asset, resolution_secs)? else {
        return Err(MarketError::Invalid(format!(
            "no real {asset} data at {resolution_secs} s: not in $SYNTH_CITY_DATA, the shared \
             data folder ($SYNTH_CITY_SHARED) or the embedded set"
        )));
    };
    let c = match &src {
        RealSource::File(path) => {
            let opts = ImportOptions {
                resolution_secs: Some(resolution_secs),
            };
            read_csv_file_with(path, asset, &opts)?.0
        }
        RealSource::Embedded(f) => f.candles()?,
    };
    Ok((c, src))
}
