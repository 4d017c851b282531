//! The Parquet cache: round trip, merge, info, corrupt files and interrupted writes.

use market::cache::read_parquet;
use market::{Cache, Candles, Provenance, SyntheticParams};

fn series(ts: &[i64], base: f64) -> Candles {
    let mut c = Candles::empty("BTC", 60, Provenance::Real);
    for (k, &t) in ts.iter().enumerate() {
        let p = base + k as f64 * 0.25;
        c.ts.push(t);
        c.open.push(p);
        c.high.push(p + 1.0);
        c.low.push(p - 1.0);
        c.close.push(p + 0.1);
    }
    c
}

#[test]
fn round_trip_is_exact() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path().join("cache"));
    assert_eq!(cache.load("BTC", 60).unwrap(), None);
    let c = SyntheticParams::for_asset("BTC")
        .generate(1_700_000_000, 60, 5000, 1)
        .unwrap();
    let mut real = c.clone();
    real.provenance = Provenance::Real;
    let p = cache.store(&real).unwrap();
    assert!(p.ends_with("BTC_1m.parquet"));
    assert_eq!(cache.load("BTC", 60).unwrap().unwrap(), real);
    let ps = cache.store(&c).unwrap();
    assert!(ps.ends_with("BTC_1m.synthetic.parquet"));
    assert_eq!(
        cache
            .load_kind("BTC", 60, Provenance::Synthetic)
            .unwrap()
            .unwrap(),
        c
    );
    assert_eq!(read_parquet(&p).unwrap(), real);
}

#[test]
fn merge_adds_and_replaces_and_info_lists() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    cache.merge(&series(&[0, 60, 120], 10.0)).unwrap();
    let r = cache.merge(&series(&[120, 180, 600], 20.0)).unwrap();
    assert_eq!((r.before, r.after, r.replaced), (3, 5, 1));
    let c = cache.load("BTC", 60).unwrap().unwrap();
    assert_eq!(c.ts, vec![0, 60, 120, 180, 600]);
    assert_eq!(c.open, vec![10.0, 10.25, 20.0, 20.25, 20.5]);
    let mut eth = series(&[300, 600], 5.0);
    eth.asset = "ETH".into();
    eth.resolution_secs = 300;
    cache.store(&eth).unwrap();
    let info = cache.info().unwrap();
    assert_eq!(info.len(), 2);
    assert_eq!(info[0].asset, "BTC");
    assert_eq!(
        (info[0].rows, info[0].first, info[0].last),
        (5, Some(0), Some(600))
    );
    assert_eq!((info[0].gaps.gaps, info[0].gaps.missing), (1, 6));
    assert!(info[0].bytes > 0);
    assert_eq!(
        (info[1].asset.as_str(), info[1].resolution_secs),
        ("ETH", 300)
    );
}

#[test]
fn corrupt_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    std::fs::write(dir.path().join("BTC_1m.parquet"), b"not parquet").unwrap();
    let e = cache.load("BTC", 60).unwrap_err().to_string();
    assert!(e.contains("BTC_1m.parquet"), "{e}");
}

#[test]
fn interrupted_write_leaves_the_old_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::new(dir.path());
    let old = series(&[0, 60], 1.0);
    cache.store(&old).unwrap();
    // a crash mid-write leaves at most a temporary file beside the cache file
    std::fs::write(dir.path().join(".tmp-abc.partial"), b"PAR1 half").unwrap();
    // a write that fails before completion (unequal columns) does not touch the file
    let mut bad = series(&[0, 60, 120], 2.0);
    bad.close.pop();
    assert!(cache.store(&bad).is_err());
    assert!(cache.merge(&bad).is_err());
    assert_eq!(cache.load("BTC", 60).unwrap().unwrap(), old);
    assert_eq!(
        cache.info().unwrap().len(),
        1,
        "temporary files are not listed"
    );
}
