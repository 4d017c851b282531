//! Imports every file of `../shared/data` and checks rows and gaps against its README.
//! Where the folder is absent the tests fail under `SYNTH_CITY_REQUIRE_SHARED` (CI sets it) and
//! print `SKIP:` elsewhere; the embedded set is checked in `embedded.rs`.

use std::path::PathBuf;
use std::time::Instant;

use market::import::{read_csv_file_with, ImportOptions};

/// (file, rows, gaps, missing candles) from `shared/data/README.md`.
const EXPECTED: &[(&str, usize, usize, i64)] = &[
    ("BTC_1m", 505_298, 9, 820_402),
    ("BTC_5m", 245_365, 2, 19_775),
    ("BTC_perp_1m", 89_706, 1, 16_648),
    ("ETH_1m", 441_930, 7, 771_278),
    ("ETH_5m", 187_618, 5, 55_613),
    ("ETH_perp_1m", 89_707, 1, 16_647),
    ("SOL_1m", 255_475, 4, 957_733),
    ("SOL_5m", 175_842, 3, 67_389),
    ("SOL_perp_1m", 73_141, 0, 0),
    ("XRP_1m", 246_816, 4, 966_393),
    ("XRP_5m", 174_206, 3, 69_025),
    ("XRP_perp_1m", 73_138, 0, 0),
    ("HYPE_1m", 6_957, 0, 0),
    ("HYPE_3m", 127_000, 0, 0),
    ("HYPE_5m", 76_399, 0, 0),
    ("HYPE_hlperp_5m", 38_455, 0, 0),
    ("XAU_1m", 83_228, 61, 461_657),
    ("XAU_5m", 38_191, 143, 106_826),
    ("XAU_perp_1m", 100_345, 0, 0),
    ("XAU_perp_5m", 20_267, 0, 0),
    ("SPY_1m", 5_156, 14, 22_292),
    ("SPY_5m", 5_126, 67, 23_103),
    ("NVDA_1m", 4_677, 12, 17_312),
    ("NVDA_5m", 5_030, 67, 22_107),
    ("TSLA_1m", 24_676, 64, 509_767),
    ("TSLA_5m", 25_031, 324, 168_801),
    ("AAPL_1m", 24_676, 65, 509_769),
    ("AAPL_5m", 25_031, 326, 168_816),
    ("GOOGL_1m", 4_677, 12, 17_312),
    ("GOOGL_5m", 5_030, 67, 22_107),
];

/// `shared/data`, or `None` after a `SKIP:` line (a failure under `SYNTH_CITY_REQUIRE_SHARED`).
fn data_dir(test: &str) -> Option<PathBuf> {
    let d = market::home::shared_dir()
        .map(|s| s.join("data"))
        .filter(|d| d.is_dir());
    if d.is_none() {
        assert!(
            std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
            "{test}: the shared data folder (SYNTH_CITY_SHARED or ../shared/data) is required here"
        );
        eprintln!("SKIP: {test}: no shared data folder (SYNTH_CITY_SHARED or ../shared/data)");
    }
    d
}

#[test]
fn every_shared_file_imports_with_the_documented_rows_and_gaps() {
    let Some(dir) = data_dir("every_shared_file_imports") else {
        return;
    };
    for &(name, rows, gaps, missing) in EXPECTED {
        let minutes: u32 = name
            .rsplit('_')
            .next()
            .unwrap()
            .trim_end_matches('m')
            .parse()
            .unwrap();
        let asset = name.split('_').next().unwrap();
        let path = dir.join(format!("{name}.csv.gz"));
        let t0 = Instant::now();
        let opts = ImportOptions {
            resolution_secs: Some(minutes * 60),
        };
        let (c, r) = read_csv_file_with(&path, asset, &opts).unwrap();
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(c.len(), rows, "{name} rows");
        assert_eq!(r.gaps.gaps, gaps, "{name} gaps");
        assert_eq!(r.gaps.missing, missing, "{name} missing candles");
        assert!(r.is_clean(), "{name}: {r:?}");
        assert!(c.ts.windows(2).all(|w| w[0] < w[1]), "{name} sorted");
        assert!(secs < 5.0, "{name} took {secs:.2} s");
    }
}

#[test]
fn load_shared_reads_by_asset_and_resolution() {
    if data_dir("load_shared_reads_by_asset_and_resolution").is_none() {
        return;
    }
    let c = market::load_shared("BTC", 60).unwrap();
    assert_eq!(c.len(), 505_298);
    assert_eq!(c.resolution_secs, 60);
    assert_eq!(c.ts[0], 1_704_067_200);
    assert_eq!(c.open[0], 42283.58);
    let x = market::load_shared("XAU", 300).unwrap();
    assert_eq!(x.len(), 38_191);
    assert!(market::load_shared("NOPE", 60).is_err());
}
