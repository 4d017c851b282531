//! Price history for the stand-in backend: `<ASSET>_<tf>.csv.gz` files (`timestamp,open,high,
//! low,close`), real market data only, cached in memory after the first read.

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::{ApiError, ApiResult};

/// Candles of one file.
pub struct Series {
    /// File name it came from.
    pub file: String,
    /// Open times (unix seconds).
    pub ts: Vec<i64>,
    /// Opens.
    pub open: Vec<f64>,
    /// Highs.
    pub high: Vec<f64>,
    /// Lows.
    pub low: Vec<f64>,
    /// Closes.
    pub close: Vec<f64>,
}

/// SN50 asset names and the file symbols holding their history.
pub const ASSETS: [(&str, &str); 9] = [
    ("BTC", "BTC"),
    ("ETH", "ETH"),
    ("SOL", "SOL"),
    ("XAU", "XAU"),
    ("SPYX", "SPY"),
    ("NVDAX", "NVDA"),
    ("TSLAX", "TSLA"),
    ("AAPLX", "AAPL"),
    ("GOOGLX", "GOOGL"),
];

/// Normalises an asset name (case-insensitive; `SPY` and `SPYX` both give `SPYX`).
pub fn canonical_asset(asset: &str) -> ApiResult<&'static str> {
    let up = asset.to_ascii_uppercase();
    ASSETS
        .iter()
        .find(|(a, f)| *a == up || *f == up)
        .map(|(a, _)| *a)
        .ok_or_else(|| {
            let names: Vec<&str> = ASSETS.iter().map(|(a, _)| *a).collect();
            ApiError::bad_request(format!(
                "unknown asset {asset:?}; SN50 assets: {}",
                names.join(", ")
            ))
        })
}

/// Finds and caches history files.
pub struct DataStore {
    dirs: Vec<PathBuf>,
    cache: Mutex<HashMap<String, Arc<Series>>>,
}

impl DataStore {
    /// Looks for files in `dirs`, first match wins.
    pub fn new(dirs: Vec<PathBuf>) -> Self {
        Self {
            dirs,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// History of `asset` (an SN50 name) at `tf` (`1m` or `5m`).
    pub fn series(&self, asset: &str, tf: &str) -> ApiResult<Arc<Series>> {
        let sym = ASSETS
            .iter()
            .find(|(a, _)| *a == asset)
            .map(|(_, f)| *f)
            .unwrap_or(asset);
        let name = format!("{sym}_{tf}.csv.gz");
        if let Some(s) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&name)
        {
            return Ok(Arc::clone(s));
        }
        let path = self
            .dirs
            .iter()
            .map(|d| d.join(&name))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                ApiError::unavailable(format!(
                    "no price history {name} in {} (data missing)",
                    self.describe_dirs()
                ))
            })?;
        let s = Arc::new(read_file(&path, &name)?);
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, Arc::clone(&s));
        Ok(s)
    }

    fn describe_dirs(&self) -> String {
        self.dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn read_file(path: &std::path::Path, name: &str) -> ApiResult<Series> {
    let bad = |m: String| ApiError::failed(format!("{name}: {m}"));
    let f = std::fs::File::open(path).map_err(|e| bad(e.to_string()))?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let mut s = Series {
        file: name.to_string(),
        ts: vec![],
        open: vec![],
        high: vec![],
        low: vec![],
        close: vec![],
    };
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad(e.to_string()))?;
        let num = |j: usize| -> ApiResult<f64> {
            rec.get(j)
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("row {}: bad column {j}", i + 2)))
        };
        s.ts.push(num(0)? as i64);
        s.open.push(num(1)?);
        s.high.push(num(2)?);
        s.low.push(num(3)?);
        s.close.push(num(4)?);
    }
    if s.close.is_empty() {
        return Err(bad("no rows".into()));
    }
    Ok(s)
}
