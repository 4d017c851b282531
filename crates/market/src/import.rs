//! Import of candle files: CSV or gzip-compressed CSV (detected by content, not by name).
//!
//! Layouts understood:
//! - the `../shared/data` format: header `timestamp,open,high,low,close`, unix seconds;
//! - any file with a header naming a time column (`timestamp`, `time`, `date`, `datetime`,
//!   `open_time`, …) and `open`, `high`, `low`, `close` columns, in any order, extra columns ignored;
//! - headerless `time,open,high,low,close[,volume,…]`, which covers Binance klines dumps.
//!
//! Times may be unix s/ms/µs/ns or ISO 8601 text (see [`crate::timeparse`]). The delimiter is
//! `,`, `;` or tab (sniffed from the first line). Rows out of order are sorted; repeated timestamps
//! keep their first row. Both are counted in the [`ImportReport`], never silently dropped.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::gaps::{gap_summary, GapSummary};
use crate::timeparse::parse_timestamp;
use crate::{Candles, MarketError, Provenance};

/// At most this many example problems are kept in a report.
const MAX_EXAMPLES: usize = 10;

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Seconds per candle; inferred from the smallest step between rows when `None`.
    pub resolution_secs: Option<u32>,
}

/// What an import found, besides the candles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportReport {
    /// The file read.
    pub path: PathBuf,
    /// Data rows in the file (header excluded).
    pub rows_read: usize,
    /// Candles kept (rows read minus duplicates).
    pub rows: usize,
    /// Whether the file had a header line.
    pub header: bool,
    /// Rows whose timestamp repeats an earlier row's (the first row is kept).
    pub duplicates: usize,
    /// Of those, rows whose prices differ from the kept row.
    pub conflicting_duplicates: usize,
    /// Rows whose timestamp is earlier than the row before (the series is sorted).
    pub out_of_order: usize,
    /// Candles whose open time is not a multiple of the resolution.
    pub off_grid: usize,
    /// Candles with high below max(open, close) or low above min(open, close).
    pub ohlc_violations: usize,
    /// Seconds per candle used.
    pub resolution_secs: u32,
    /// Gaps of the imported series.
    pub gaps: GapSummary,
    /// Up to ten problems, each naming its line.
    pub examples: Vec<String>,
}

impl ImportReport {
    /// True when nothing was sorted, dropped, off grid or inconsistent.
    pub fn is_clean(&self) -> bool {
        self.duplicates == 0
            && self.out_of_order == 0
            && self.off_grid == 0
            && self.ohlc_violations == 0
    }
}

/// Reads a CSV or CSV.gz candle file as real data for `asset`, with the resolution inferred.
pub fn read_csv_file(path: &Path, asset: &str) -> Result<Candles, MarketError> {
    read_csv_file_with(path, asset, &ImportOptions::default()).map(|(c, _)| c)
}

/// Reads a CSV or CSV.gz candle file as real data for `asset`, and reports what it found.
pub fn read_csv_file_with(
    path: &Path,
    asset: &str,
    opts: &ImportOptions,
) -> Result<(Candles, ImportReport), MarketError> {
    let raw = std::fs::read(path).map_err(|e| MarketError::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 4);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| MarketError::Parse {
                path: path.to_path_buf(),
                line: 0,
                problem: format!("corrupt gzip data: {e}"),
            })?;
        out
    } else {
        raw
    };
    read_csv_bytes(&bytes, path, asset, opts)
}

/// The real history of `asset` (data-file name) at `resolution_secs`: `$SYNTH_CITY_DATA`, else
/// the shared data folder, else the set embedded in the binary (see [`crate::lookup`]).
pub fn load_shared(asset: &str, resolution_secs: u32) -> Result<Candles, MarketError> {
    crate::lookup::load_real(asset, resolution_secs).map(|(c, _)| c)
}

/// Column positions of time, open, high, low, close.
struct Layout {
    header: bool,
    cols: [usize; 5],
}

const TIME_NAMES: &[&str] = &[
    "timestamp",
    "time",
    "date",
    "datetime",
    "date_time",
    "open_time",
    "opentime",
    "open time",
    "ts",
    "t",
    "unix",
    "kline_open_time",
];

fn column(names: &[String], wanted: &[&str]) -> Option<usize> {
    wanted
        .iter()
        .find_map(|w| names.iter().position(|n| n == w))
}

fn detect_layout(first: &csv::ByteRecord, path: &Path) -> Result<Layout, MarketError> {
    let field0 = String::from_utf8_lossy(first.get(0).unwrap_or_default());
    let field0 = field0.trim_start_matches('\u{feff}');
    if parse_timestamp(field0).is_ok() {
        if first.len() < 5 {
            return Err(MarketError::Parse {
                path: path.to_path_buf(),
                line: 1,
                problem: format!(
                    "{} columns, need at least time,open,high,low,close",
                    first.len()
                ),
            });
        }
        return Ok(Layout {
            header: false,
            cols: [0, 1, 2, 3, 4],
        });
    }
    let names: Vec<String> = first
        .iter()
        .map(|f| {
            String::from_utf8_lossy(f)
                .trim_start_matches('\u{feff}')
                .trim()
                .trim_matches('"')
                .trim_matches(|c| c == '<' || c == '>')
                .to_ascii_lowercase()
        })
        .collect();
    let find = |wanted: &[&str], what: &str| {
        column(&names, wanted).ok_or_else(|| MarketError::Parse {
            path: path.to_path_buf(),
            line: 1,
            problem: format!("header {:?} has no {what} column", names.join(",")),
        })
    };
    Ok(Layout {
        header: true,
        cols: [
            find(TIME_NAMES, "time")?,
            find(&["open", "o"], "open")?,
            find(&["high", "h"], "high")?,
            find(&["low", "l"], "low")?,
            find(&["close", "c"], "close")?,
        ],
    })
}

fn sniff_delimiter(bytes: &[u8]) -> u8 {
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',')
}

struct Row {
    ts: i64,
    ohlc: [f64; 4],
    line: u64,
}

/// Reads candle CSV from memory; `path` only names the source in errors and the report.
pub fn read_csv_bytes(
    bytes: &[u8],
    path: &Path,
    asset: &str,
    opts: &ImportOptions,
) -> Result<(Candles, ImportReport), MarketError> {
    let parse_err = |line: u64, problem: String| MarketError::Parse {
        path: path.to_path_buf(),
        line,
        problem,
    };
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(bytes))
        .from_reader(bytes);
    let mut rec = csv::ByteRecord::new();
    let read = |rdr: &mut csv::Reader<&[u8]>, rec: &mut csv::ByteRecord| {
        rdr.read_byte_record(rec).map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            parse_err(line, format!("unreadable CSV: {e}"))
        })
    };
    if !read(&mut rdr, &mut rec)? {
        return Err(parse_err(1, "empty file".into()));
    }
    let layout = detect_layout(&rec, path)?;
    let mut rows: Vec<Row> = Vec::with_capacity(bytes.len() / 40);
    let mut have = !layout.header;
    loop {
        if !have && !read(&mut rdr, &mut rec)? {
            break;
        }
        have = false;
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) {
            continue;
        }
        rows.push(parse_row(&rec, &layout, line).map_err(|p| parse_err(line, p))?);
    }
    if rows.is_empty() {
        return Err(parse_err(1, "no data rows".into()));
    }
    Ok(assemble(rows, path, asset, opts, layout.header))
}

fn parse_row(rec: &csv::ByteRecord, layout: &Layout, line: u64) -> Result<Row, String> {
    let field = |i: usize, name: &str| -> Result<&str, String> {
        let f = rec
            .get(layout.cols[i])
            .ok_or_else(|| format!("{} columns, the {name} column is missing", rec.len()))?;
        std::str::from_utf8(f)
            .map(str::trim)
            .map_err(|_| format!("{name} is not UTF-8"))
    };
    let ts = parse_timestamp(field(0, "time")?)?;
    let mut ohlc = [0.0; 4];
    for (k, name) in ["open", "high", "low", "close"].into_iter().enumerate() {
        let s = field(k + 1, name)?;
        let x: f64 = s
            .parse()
            .map_err(|_| format!("{name} {s:?} is not a number"))?;
        if !x.is_finite() || x <= 0.0 {
            return Err(format!("{name} {s:?} is not a positive price"));
        }
        ohlc[k] = x;
    }
    Ok(Row { ts, ohlc, line })
}

fn assemble(
    mut rows: Vec<Row>,
    path: &Path,
    asset: &str,
    opts: &ImportOptions,
    header: bool,
) -> (Candles, ImportReport) {
    let rows_read = rows.len();
    let mut examples = Vec::new();
    let mut note = |s: String| {
        if examples.len() < MAX_EXAMPLES {
            examples.push(s);
        }
    };
    let mut out_of_order = 0;
    for w in rows.windows(2) {
        if w[1].ts < w[0].ts {
            out_of_order += 1;
            note(format!(
                "line {}: time {} is before the row above",
                w[1].line, w[1].ts
            ));
        }
    }
    if out_of_order > 0 {
        rows.sort_by_key(|r| r.ts); // stable: among equal times the first row stays first
    }
    let (mut duplicates, mut conflicting) = (0, 0);
    let mut kept: Vec<Row> = Vec::with_capacity(rows.len());
    for r in rows {
        match kept.last() {
            Some(k) if k.ts == r.ts => {
                duplicates += 1;
                let differs = k.ohlc != r.ohlc;
                conflicting += usize::from(differs);
                let how = if differs {
                    "different prices"
                } else {
                    "same prices"
                };
                note(format!(
                    "line {}: time {} repeats line {} ({how})",
                    r.line, r.ts, k.line
                ));
            }
            _ => kept.push(r),
        }
    }
    let resolution_secs = opts
        .resolution_secs
        .unwrap_or_else(|| infer_resolution(&kept));
    let res = i64::from(resolution_secs.max(1));
    let mut c = Candles::empty(asset, resolution_secs, Provenance::Real);
    let (mut off_grid, mut ohlc_violations) = (0, 0);
    for r in &kept {
        let [o, h, l, cl] = r.ohlc;
        if r.ts.rem_euclid(res) != 0 {
            off_grid += 1;
            note(format!(
                "line {}: time {} is not on the {res} s grid",
                r.line, r.ts
            ));
        }
        if h < o.max(cl) || l > o.min(cl) {
            ohlc_violations += 1;
            note(format!(
                "line {}: high/low do not bracket open/close",
                r.line
            ));
        }
        c.ts.push(r.ts);
        c.open.push(o);
        c.high.push(h);
        c.low.push(l);
        c.close.push(cl);
    }
    let report = ImportReport {
        path: path.to_path_buf(),
        rows_read,
        rows: c.len(),
        header,
        duplicates,
        conflicting_duplicates: conflicting,
        out_of_order,
        off_grid,
        ohlc_violations,
        resolution_secs,
        gaps: gap_summary(&c),
        examples,
    };
    (c, report)
}

/// The smallest positive step between sorted times, or 60 s for a single row.
fn infer_resolution(rows: &[Row]) -> u32 {
    rows.windows(2)
        .map(|w| w[1].ts - w[0].ts)
        .filter(|&d| d > 0)
        .min()
        .and_then(|d| u32::try_from(d).ok())
        .unwrap_or(60)
}
