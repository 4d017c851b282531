//! CSV import: layouts, time formats, corrupt input, duplicates and order.

use std::io::Write;
use std::path::{Path, PathBuf};

use market::import::{read_csv_bytes, read_csv_file, read_csv_file_with, ImportOptions};
use market::{MarketError, Provenance};

fn import(text: &str) -> Result<(market::Candles, market::ImportReport), MarketError> {
    read_csv_bytes(
        text.as_bytes(),
        Path::new("test.csv"),
        "BTC",
        &ImportOptions::default(),
    )
}

fn write_gz(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    let f = std::fs::File::create(&p).unwrap();
    let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
    p
}

#[test]
fn shared_format_plain_and_gzip() {
    let text = "timestamp,open,high,low,close\n\
                1704067200,42283.58,42298.62,42261.02,42298.61\n\
                1704067260,42298.62,42320,42298.61,42320\n";
    let dir = tempfile::tempdir().unwrap();
    let gz = write_gz(dir.path(), "BTC_1m.csv.gz", text);
    let plain = dir.path().join("BTC_1m.csv");
    std::fs::write(&plain, text).unwrap();
    for p in [gz, plain] {
        let c = read_csv_file(&p, "BTC").unwrap();
        assert_eq!(c.asset, "BTC");
        assert_eq!(c.provenance, Provenance::Real);
        assert_eq!(c.resolution_secs, 60);
        assert_eq!(c.ts, vec![1_704_067_200, 1_704_067_260]);
        assert_eq!(c.open, vec![42283.58, 42298.62]);
        assert_eq!(c.high, vec![42298.62, 42320.0]);
        assert_eq!(c.low, vec![42261.02, 42298.61]);
        assert_eq!(c.close, vec![42298.61, 42320.0]);
    }
}

#[test]
fn binance_klines_without_header_in_ms_and_us() {
    let ms = "1704067200000,42283.58,42298.62,42261.02,42298.61,35.9,1704067259999,1519000.1,1327,20.5,867000.2,0\n\
              1704067260000,42298.62,42320.00,42298.61,42320.00,21.6,1704067319999,913000.3,800,12.1,512000.4,0\n";
    let (c, r) = import(ms).unwrap();
    assert!(!r.header);
    assert_eq!(c.ts, vec![1_704_067_200, 1_704_067_260]);
    assert_eq!(c.close, vec![42298.61, 42320.0]);
    let us = ms
        .replace("1704067200000,", "1704067200000000,")
        .replace("1704067260000,", "1704067260000000,");
    let (c2, _) = import(&us).unwrap();
    assert_eq!(c2.ts, c.ts);
}

#[test]
fn header_with_iso_times_volume_and_other_order() {
    let text = "Date;Close;Open;High;Low;Volume\n\
                2024-01-01 00:00:00;2;1;3;0.5;10\n\
                2024-01-01T00:05:00Z;3;2;4;1.5;11\n";
    let (c, r) = import(text).unwrap();
    assert!(r.header);
    assert_eq!(r.resolution_secs, 300);
    assert_eq!(c.ts, vec![1_704_067_200, 1_704_067_500]);
    assert_eq!(c.open, vec![1.0, 2.0]);
    assert_eq!(c.close, vec![2.0, 3.0]);
    assert!(r.is_clean());
}

#[test]
fn duplicates_and_out_of_order_rows_are_reported() {
    let text = "timestamp,open,high,low,close\n\
                120,1,1,1,1\n\
                0,2,2,2,2\n\
                60,3,3,3,3\n\
                60,4,4,4,4\n\
                0,2,2,2,2\n";
    let (c, r) = import(text).unwrap();
    assert_eq!(c.ts, vec![0, 60, 120]);
    assert_eq!(
        c.close,
        vec![2.0, 3.0, 1.0],
        "first row of a repeated time is kept"
    );
    assert_eq!(r.rows_read, 5);
    assert_eq!(r.rows, 3);
    assert_eq!(r.out_of_order, 2);
    assert_eq!(r.duplicates, 2);
    assert_eq!(r.conflicting_duplicates, 1);
    assert!(r
        .examples
        .iter()
        .any(|e| e.contains("line 5") && e.contains("repeats line 4")));
    assert!(!r.is_clean());
}

#[test]
fn gaps_off_grid_and_bad_ohlc_are_counted() {
    let text =
        "timestamp,open,high,low,close\n0,1,2,0.5,1.5\n60,1,0.9,0.5,1\n300,1,1,1,1\n330,1,1,1,1\n";
    let opts = ImportOptions {
        resolution_secs: Some(60),
    };
    let (_, r) = read_csv_bytes(text.as_bytes(), Path::new("x.csv"), "ETH", &opts).unwrap();
    assert_eq!(r.gaps.gaps, 1);
    assert_eq!(r.gaps.missing, 3);
    assert_eq!(r.off_grid, 1);
    assert_eq!(r.ohlc_violations, 1);
}

fn parse_error(text: &str) -> (u64, String) {
    match import(text) {
        Err(MarketError::Parse {
            path,
            line,
            problem,
        }) => {
            assert_eq!(path, Path::new("test.csv"));
            (line, problem)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn corrupt_input_names_line_and_problem() {
    let h = "timestamp,open,high,low,close\n";
    let (line, p) = parse_error(&format!("{h}0,1,1,1,1\n60,1,abc,1,1\n"));
    assert_eq!(line, 3);
    assert!(p.contains("high") && p.contains("abc"), "{p}");
    let (line, p) = parse_error(&format!("{h}0,1,1,1,1\nnot-a-time,1,1,1,1\n"));
    assert_eq!(line, 3);
    assert!(p.contains("timestamp"), "{p}");
    let (line, p) = parse_error(&format!("{h}0,1,1,1\n"));
    assert_eq!(line, 2);
    assert!(p.contains("close column is missing"), "{p}");
    let (_, p) = parse_error(&format!("{h}0,1,1,-1,1\n"));
    assert!(p.contains("not a positive price"), "{p}");
    let (_, p) = parse_error(&format!("{h}0,1,1,NaN,1\n"));
    assert!(p.contains("low"), "{p}");
    let (line, p) = parse_error("when,open,high,low,close\n0,1,1,1,1\n");
    assert_eq!(line, 1);
    assert!(p.contains("no time column"), "{p}");
    let (_, p) = parse_error(h);
    assert!(p.contains("no data rows"), "{p}");
    let (_, p) = parse_error("");
    assert!(p.contains("empty"), "{p}");
}

#[test]
fn missing_and_corrupt_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.csv");
    let e = read_csv_file(&missing, "BTC").unwrap_err();
    assert!(e.to_string().contains("nope.csv"), "{e}");
    let bad = dir.path().join("bad.csv.gz");
    std::fs::write(&bad, [0x1f, 0x8b, 8, 0, 1, 2, 3]).unwrap();
    let e = read_csv_file_with(&bad, "BTC", &ImportOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("bad.csv.gz") && e.to_string().contains("gzip"),
        "{e}"
    );
}
