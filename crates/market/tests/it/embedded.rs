//! The run-time data lookup: `$SYNTH_CITY_DATA`, then the shared folder, then the real set
//! embedded in the binary. Each test runs its body in a child process of this test binary so
//! that the environment it sets is its own (no race with other tests).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use market::home::{DATA_ENV, SHARED_ENV};
use market::{Provenance, RealSource};

const CHILD: &str = "MARKET_LOOKUP_TEST_CHILD";

/// In the parent: runs test `name` again in a child with `env` set (and `$SYNTH_CITY_DATA` unset
/// unless given) and returns `false`. In the child: returns `true` (run the body).
fn in_child(name: &str, env: &[(&str, &Path)]) -> bool {
    if std::env::var_os(CHILD).is_some() {
        return true;
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .env_remove(DATA_ENV)
        .envs(env.iter().map(|(k, v)| (*k, *v)))
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("1 passed"), "the child ran no test: {text}");
    false
}

#[test]
fn with_no_data_folder_btc_5m_comes_real_from_the_embedded_set() {
    let empty = tempfile::tempdir().unwrap();
    if !in_child(
        "embedded::with_no_data_folder_btc_5m_comes_real_from_the_embedded_set",
        &[(SHARED_ENV, empty.path())],
    ) {
        return;
    }
    let (c, src) = market::load_real("BTC", 300).unwrap();
    assert!(matches!(src, RealSource::Embedded(_)), "{}", src.describe());
    assert_eq!(c.provenance, Provenance::Real);
    assert_eq!(c.resolution_secs, 300);
    // 180 days before the last candle (2026-07-09 14:55 UTC), with the source's gaps.
    assert!(c.len() > 30_000, "{} rows", c.len());
    assert_eq!(c.ts.last(), Some(&1_783_608_900));
    assert!(
        c.close
            .iter()
            .all(|&p| (10_000.0..1_000_000.0).contains(&p)),
        "BTC prices out of any plausible range"
    );
    // The same through the older entry point, and the 1-minute truth is there too.
    assert_eq!(market::load_shared("BTC", 300).unwrap().len(), c.len());
    let one = market::load_shared("BTC", 60).unwrap();
    assert_eq!(one.provenance, Provenance::Real);
    assert!(one.len() > 40_000, "{} rows", one.len());
    // SN50 equities by their data-file name.
    assert!(market::load_shared("SPY", 300).unwrap().len() > 5_000);
    // An asset with no real data anywhere is an error that names the places looked in.
    let e = market::load_shared("WTIOIL", 300).unwrap_err().to_string();
    assert!(e.contains("embedded"), "{e}");
}

#[test]
fn synth_city_data_overrides_file_by_file() {
    let name = "embedded::synth_city_data_overrides_file_by_file";
    if std::env::var_os(CHILD).is_none() {
        let empty = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let csv = "timestamp,open,high,low,close\n\
                   1704067200,1,2,0.5,1.5\n1704067500,1.5,2,1,1.2\n1704067800,1.2,1.3,1,1.1\n";
        let f = std::fs::File::create(data.path().join("BTC_5m.csv.gz")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        gz.write_all(csv.as_bytes()).unwrap();
        gz.finish().unwrap();
        in_child(name, &[(SHARED_ENV, empty.path()), (DATA_ENV, data.path())]);
        return;
    }
    let (c, src) = market::load_real("BTC", 300).unwrap();
    assert!(matches!(src, RealSource::File(_)), "{}", src.describe());
    assert_eq!((c.len(), c.close[2]), (3, 1.1));
    // Files the folder does not hold still come from the embedded set.
    let (_, src) = market::load_real("BTC", 60).unwrap();
    assert!(matches!(src, RealSource::Embedded(_)), "{}", src.describe());
}

#[test]
fn the_shared_folder_comes_before_the_embedded_set() {
    let name = "embedded::the_shared_folder_comes_before_the_embedded_set";
    if std::env::var_os(CHILD).is_none() {
        let shared = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(shared.path().join("data")).unwrap();
        let csv = "timestamp,open,high,low,close\n1704067200,1,2,0.5,1.5\n1704067260,1.5,2,1,1.2\n";
        std::fs::write(shared.path().join("data/ETH_1m.csv.gz"), csv).unwrap();
        in_child(name, &[(SHARED_ENV, shared.path())]);
        return;
    }
    let (c, src) = market::load_real("ETH", 60).unwrap();
    assert!(matches!(src, RealSource::File(_)), "{}", src.describe());
    assert_eq!(c.len(), 2);
}
