//! The local candle cache: one Parquet file (zstd) per asset, resolution and provenance under
//! `<data dir>/cache`. Writes are atomic (temporary file in the same folder, then rename), so an
//! interrupted write leaves the previous file intact.
//!
//! File names: `<ASSET>_<N>m.parquet` for real data, `<ASSET>_<N>m.synthetic.parquet` for the
//! synthetic market. Columns `ts` (i64), `open`, `high`, `low`, `close` (f64); the asset,
//! resolution and provenance are also kept in the schema metadata.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde::Serialize;

use crate::gaps::{gap_summary, GapSummary};
use crate::{Candles, MarketError, Provenance};

/// The cache folder and its files.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// One cached series, as `synth-city data info` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheEntry {
    /// Asset name.
    pub asset: String,
    /// Seconds per candle.
    pub resolution_secs: u32,
    /// Real or synthetic.
    pub provenance: Provenance,
    /// Number of candles.
    pub rows: usize,
    /// Open time of the first candle (unix s), if any.
    pub first: Option<i64>,
    /// Open time of the last candle (unix s), if any.
    pub last: Option<i64>,
    /// Gaps in the series.
    pub gaps: GapSummary,
    /// File size in bytes.
    pub bytes: u64,
    /// The Parquet file.
    pub path: PathBuf,
}

/// What a merge changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// Candles before the merge.
    pub before: usize,
    /// Candles after the merge.
    pub after: usize,
    /// Candles whose time was already cached (the new values replace the old).
    pub replaced: usize,
}

impl Cache {
    /// The cache under `home::data_dir()/cache`.
    pub fn open_default() -> Self {
        Self::new(crate::home::data_dir().join("cache"))
    }

    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The cache folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The file of a series.
    pub fn path(&self, asset: &str, resolution_secs: u32, provenance: Provenance) -> PathBuf {
        let kind = match provenance {
            Provenance::Real => "",
            Provenance::Synthetic => ".synthetic",
        };
        self.dir.join(format!(
            "{asset}_{}{kind}.parquet",
            resolution_label(resolution_secs)
        ))
    }

    /// The cached real series of `asset` at `resolution_secs`, or `None` when not cached.
    pub fn load(&self, asset: &str, resolution_secs: u32) -> Result<Option<Candles>, MarketError> {
        self.load_kind(asset, resolution_secs, Provenance::Real)
    }

    /// The cached series of the given provenance, or `None` when not cached.
    pub fn load_kind(
        &self,
        asset: &str,
        resolution_secs: u32,
        provenance: Provenance,
    ) -> Result<Option<Candles>, MarketError> {
        let path = self.path(asset, resolution_secs, provenance);
        if !path.exists() {
            return Ok(None);
        }
        read_parquet(&path).map(Some)
    }

    /// Replaces the cached series with `c` (atomically). Returns the file written.
    pub fn store(&self, c: &Candles) -> Result<PathBuf, MarketError> {
        check_shape(c)?;
        let path = self.path(&c.asset, c.resolution_secs, c.provenance);
        std::fs::create_dir_all(&self.dir).map_err(|e| MarketError::io(&self.dir, e))?;
        write_atomic(&path, |f| write_parquet(c, f))?;
        Ok(path)
    }

    /// Adds `c` to the cached series (new candles win on equal times) and stores the union.
    pub fn merge(&self, c: &Candles) -> Result<MergeReport, MarketError> {
        check_shape(c)?;
        let old = self.load_kind(&c.asset, c.resolution_secs, c.provenance)?;
        let before = old.as_ref().map_or(0, Candles::len);
        let (merged, replaced) = match old {
            Some(old) => merge_series(&old, c),
            None => (c.clone(), 0),
        };
        self.store(&merged)?;
        Ok(MergeReport {
            before,
            after: merged.len(),
            replaced,
        })
    }

    /// Every cached series, sorted by asset, resolution and provenance.
    pub fn info(&self) -> Result<Vec<CacheEntry>, MarketError> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(MarketError::io(&self.dir, e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let path = entry.map_err(|e| MarketError::io(&self.dir, e))?.path();
            if path.extension().is_none_or(|x| x != "parquet") {
                continue;
            }
            let c = read_parquet(&path)?;
            let bytes = std::fs::metadata(&path)
                .map_err(|e| MarketError::io(&path, e))?
                .len();
            out.push(CacheEntry {
                asset: c.asset.clone(),
                resolution_secs: c.resolution_secs,
                provenance: c.provenance,
                rows: c.len(),
                first: c.ts.first().copied(),
                last: c.ts.last().copied(),
                gaps: gap_summary(&c),
                bytes,
                path,
            });
        }
        out.sort_by(|a, b| {
            (
                &a.asset,
                a.resolution_secs,
                a.provenance == Provenance::Synthetic,
            )
                .cmp(&(
                    &b.asset,
                    b.resolution_secs,
                    b.provenance == Provenance::Synthetic,
                ))
        });
        Ok(out)
    }
}

/// `1m`, `5m`, `1h`-style label for a resolution (`<N>s` when not whole minutes).
pub fn resolution_label(secs: u32) -> String {
    if secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

fn check_shape(c: &Candles) -> Result<(), MarketError> {
    let n = c.ts.len();
    if [c.open.len(), c.high.len(), c.low.len(), c.close.len()]
        .iter()
        .any(|&k| k != n)
    {
        return Err(MarketError::Invalid(format!(
            "{}: OHLC columns of unequal length",
            c.asset
        )));
    }
    if c.asset.is_empty() || c.asset.contains(['/', '\\', '.']) || c.resolution_secs == 0 {
        return Err(MarketError::Invalid(format!(
            "bad asset name or resolution: {:?}",
            c.asset
        )));
    }
    Ok(())
}

/// Union of two sorted series; `new` wins on equal times. Returns the union and the overlap.
fn merge_series(old: &Candles, new: &Candles) -> (Candles, usize) {
    let mut out = Candles::empty(new.asset.clone(), new.resolution_secs, new.provenance);
    let (mut i, mut j, mut replaced) = (0, 0, 0);
    let push = |out: &mut Candles, c: &Candles, k: usize| {
        out.ts.push(c.ts[k]);
        out.open.push(c.open[k]);
        out.high.push(c.high[k]);
        out.low.push(c.low[k]);
        out.close.push(c.close[k]);
    };
    while i < old.len() || j < new.len() {
        if j == new.len() || (i < old.len() && old.ts[i] < new.ts[j]) {
            push(&mut out, old, i);
            i += 1;
        } else {
            if i < old.len() && old.ts[i] == new.ts[j] {
                replaced += 1;
                i += 1;
            }
            push(&mut out, new, j);
            j += 1;
        }
    }
    (out, replaced)
}

/// Writes through `fill` atomically ([`crate::atomic`]): on any error the temporary file is
/// removed and `path` is untouched.
pub(crate) fn write_atomic(
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), MarketError>,
) -> Result<(), MarketError> {
    crate::atomic::write_atomic_with(path, crate::atomic::DEFAULT_MODE, fill, |e| {
        MarketError::io(path, e)
    })
}

fn schema(c: &Candles) -> Arc<Schema> {
    let provenance = match c.provenance {
        Provenance::Real => "real",
        Provenance::Synthetic => "synthetic",
    };
    let meta = HashMap::from([
        ("asset".to_string(), c.asset.clone()),
        ("resolution_secs".to_string(), c.resolution_secs.to_string()),
        ("provenance".to_string(), provenance.to_string()),
    ]);
    let fields = ["ts", "open", "high", "low", "close"].map(|n| {
        let ty = if n == "ts" {
            DataType::Int64
        } else {
            DataType::Float64
        };
        Field::new(n, ty, false)
    });
    Arc::new(Schema::new(fields.to_vec()).with_metadata(meta))
}

fn write_parquet(c: &Candles, file: &mut File) -> Result<(), MarketError> {
    let err = |e: &dyn std::fmt::Display| MarketError::Cache {
        path: PathBuf::from(&c.asset),
        problem: format!("writing Parquet: {e}"),
    };
    let schema = schema(c);
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(c.ts.clone())),
            Arc::new(Float64Array::from(c.open.clone())),
            Arc::new(Float64Array::from(c.high.clone())),
            Arc::new(Float64Array::from(c.low.clone())),
            Arc::new(Float64Array::from(c.close.clone())),
        ],
    )
    .map_err(|e| err(&e))?;
    let level = ZstdLevel::try_new(3).map_err(|e| err(&e))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| err(&e))?;
    w.write(&batch).map_err(|e| err(&e))?;
    w.close().map_err(|e| err(&e))?;
    Ok(())
}

/// Reads one cache file.
pub fn read_parquet(path: &Path) -> Result<Candles, MarketError> {
    let err = |problem: String| MarketError::Cache {
        path: path.to_path_buf(),
        problem,
    };
    let file = File::open(path).map_err(|e| MarketError::io(path, e))?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
    let meta = builder.schema().metadata().clone();
    let get = |k: &str| {
        meta.get(k)
            .cloned()
            .ok_or_else(|| err(format!("no {k} in metadata")))
    };
    let asset = get("asset")?;
    let resolution_secs: u32 = get("resolution_secs")?
        .parse()
        .map_err(|_| err("bad resolution_secs".into()))?;
    let provenance = match get("provenance")?.as_str() {
        "real" => Provenance::Real,
        "synthetic" => Provenance::Synthetic,
        other => return Err(err(format!("unknown provenance {other:?}"))),
    };
    let mut c = Candles::empty(asset, resolution_secs, provenance);
    let reader = builder.build().map_err(|e| err(e.to_string()))?;
    for batch in reader {
        let batch = batch.map_err(|e| err(e.to_string()))?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .ok_or_else(|| err(format!("no column {name}")))
        };
        let ts = col("ts")?
            .as_any()
            .downcast_ref::<Int64Array>()
            .ok_or_else(|| err("ts is not i64".into()))?;
        c.ts.extend(ts.values().iter().copied());
        for (name, dst) in [
            ("open", &mut c.open),
            ("high", &mut c.high),
            ("low", &mut c.low),
            ("close", &mut c.close),
        ] {
            let a = col(name)?;
            if a.null_count() > 0 {
                return Err(err(format!("{name} has nulls")));
            }
            let a = a
                .as_any()
                .downcast_ref::<Float64Array>()
                .ok_or_else(|| err(format!("{name} is not f64")))?;
            dst.extend(a.values().iter().copied());
        }
    }
    if !c.ts.windows(2).all(|w| w[0] < w[1]) {
        return Err(err("times are not strictly increasing".into()));
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn failed_write_leaves_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        std::fs::write(&path, b"old").unwrap();
        let r = write_atomic(&path, |f| {
            f.write_all(b"half of a new fi").unwrap();
            Err(MarketError::Invalid("interrupted".into()))
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file removed"
        );
        write_atomic(&path, |f| {
            f.write_all(b"new").map_err(|e| MarketError::io("x", e))
        })
        .unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
    }
}
