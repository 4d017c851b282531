//! CLI tests of the `market` area: `synth-city data …` with SYNTH_CITY_HOME in a temp dir.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn data(home: &Path, args: &[&str]) -> Output {
    Command::new(crate::bin())
        .arg("data")
        .args(args)
        .env("SYNTH_CITY_HOME", home)
        .env_remove("SYNTH_CITY_PYTH_URL")
        .env_remove("SYNTH_CITY_PYTH_SYMBOLS")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn import_then_info_shows_rows_and_gaps() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("btc.csv");
    std::fs::write(
        &file,
        "timestamp,open,high,low,close\n\
         1704067200,1,2,0.5,1.5\n1704067320,1.5,2,1,1.8\n1704067260,1.5,2,1,1.6\n1704067260,1.5,2,1,1.6\n1704067500,2,3,1,2\n",
    )
    .unwrap();
    let o = data(
        home.path(),
        &["import", file.to_str().unwrap(), "--asset", "btc"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("imported 4 candles of BTC (60 s)"), "{out}");
    assert!(
        out.contains("duplicates 1") && out.contains("out of order 1"),
        "{out}"
    );
    assert!(out.contains("gaps 1 (2 missing candles)"), "{out}");
    assert!(home.path().join("cache/BTC_1m.parquet").is_file());

    let o = data(home.path(), &["info", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cache"][0]["asset"], "BTC");
    assert_eq!(v["cache"][0]["rows"], 4);
    assert_eq!(v["cache"][0]["first"], 1_704_067_200);
    assert_eq!(v["cache"][0]["last"], 1_704_067_500);
    assert_eq!(v["cache"][0]["gaps"]["gaps"], 1);
    assert_eq!(v["cache"][0]["provenance"], "real");

    let o = data(home.path(), &["info"]);
    let out = text(&o);
    assert!(
        out.contains("BTC") && out.contains("2024-01-01 00:05") && out.contains("real"),
        "{out}"
    );
}

#[test]
fn bad_import_input_exits_2_naming_the_line() {
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("bad.csv");
    std::fs::write(
        &file,
        "timestamp,open,high,low,close\n1704067200,1,2,0.5,1.5\n1704067260,1,oops,1,1\n",
    )
    .unwrap();
    let o = data(
        home.path(),
        &["import", file.to_str().unwrap(), "--asset", "ETH"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("bad.csv:3") && text(&o).contains("oops"),
        "{}",
        text(&o)
    );
    let o = data(
        home.path(),
        &["import", "/nonexistent/x.csv", "--asset", "ETH"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("/nonexistent/x.csv"));
}

#[test]
fn synth_writes_a_labelled_series() {
    let home = tempfile::tempdir().unwrap();
    let args = [
        "synth",
        "--asset",
        "BTC",
        "--days",
        "2",
        "--seed",
        "5",
        "--to",
        "2025-01-03",
    ];
    let o = data(home.path(), &args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("2880 SYNTHETIC candles"), "{}", text(&o));
    let path = home.path().join("cache/BTC_1m.synthetic.parquet");
    let first = std::fs::read(&path).unwrap();
    assert!(data(home.path(), &args).status.success());
    assert_eq!(std::fs::read(&path).unwrap(), first, "same seed, same file");
    let o = data(home.path(), &["info", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cache"][0]["provenance"], "synthetic");
    assert_eq!(v["cache"][0]["rows"], 2880);
    assert_eq!(v["cache"][0]["last"], 1_735_862_400 - 60);
    assert!(
        !home.path().join("cache/BTC_1m.parquet").exists(),
        "never stored as real"
    );
}

/// A one-thread HTTP server on 127.0.0.1 answering the UDF history query with one candle per
/// minute in the asked range (close = t / 1000). Serves `max_requests` requests, then stops.
fn fake_pyth(max_requests: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in l.incoming().take(max_requests) {
            let Ok(mut s) = stream else { continue };
            s.set_read_timeout(Some(Duration::from_secs(5))).ok();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).ok();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            let q = |k: &str| -> i64 {
                let p = line
                    .split_once('?')
                    .map_or("", |x| x.1)
                    .split(' ')
                    .next()
                    .unwrap_or("");
                p.split('&')
                    .find_map(|kv| kv.strip_prefix(&format!("{k}="))?.parse().ok())
                    .unwrap_or(0)
            };
            let (from, to) = (q("from"), q("to"));
            let t: Vec<i64> = (from..=to).filter(|x| x % 60 == 0).collect();
            let c: Vec<f64> = t.iter().map(|&x| x as f64 / 1000.0).collect();
            let body = serde_json::json!({"s":"ok","t":t,"o":c,"h":c,"l":c,"c":c}).to_string();
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            s.write_all(resp.as_bytes()).ok();
        }
    });
    format!("http://{addr}/fixed_rate@200ms/history")
}

#[test]
fn download_fills_the_cache_incrementally() {
    let home = tempfile::tempdir().unwrap();
    let url = fake_pyth(10);
    let run = |from: &str, to: &str| {
        Command::new(crate::bin())
            .args([
                "data", "download", "--assets", "BTC,XAU", "--from", from, "--to", to,
            ])
            .env("SYNTH_CITY_HOME", home.path())
            .env("SYNTH_CITY_PYTH_URL", &url)
            .output()
            .unwrap()
    };
    let o = run("2025-01-01T00:00:00Z", "2025-01-01T02:00:00Z");
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("BTC: +120 candles"), "{}", text(&o));
    assert!(text(&o).contains("XAU: +120 candles"), "{}", text(&o));
    let o = run("2025-01-01T00:00:00Z", "2025-01-01T03:00:00Z");
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("BTC: +60 candles") && text(&o).contains("(180 candles)"),
        "{}",
        text(&o)
    );
    let o = data(home.path(), &["info", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["cache"].as_array().unwrap().len(), 2);
    assert_eq!(v["cache"][0]["rows"], 180);
    assert_eq!(v["cache"][0]["gaps"]["gaps"], 0);
    assert_eq!(v["cache"][1]["asset"], "XAU");
}

#[test]
fn download_rejects_bad_arguments() {
    let home = tempfile::tempdir().unwrap();
    let o = data(home.path(), &["download", "--assets", "WTIOIL"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("Hyperliquid"), "{}", text(&o));
    let o = data(home.path(), &["download", "--resolution", "7m"]);
    assert_eq!(o.status.code(), Some(2));
    let o = data(
        home.path(),
        &["download", "--from", "2025-02-01", "--to", "2025-01-01"],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// A machine with no data folder: the run uses the real set embedded in the binary and says so.
#[test]
fn with_no_data_folder_a_run_is_real_from_the_embedded_set() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let o = Command::new(crate::bin())
        .args([
            "sweep",
            "--presets",
            "gbm",
            "--assets",
            "BTC",
            "--timeframe",
            "5m",
        ])
        .args(["--folds", "1", "--max-prompts", "2", "--json"])
        .current_dir(h)
        .env("SYNTH_CITY_HOME", h)
        .env("SYNTH_CITY_SHARED", h.join("no-shared-data"))
        .env_remove("SYNTH_CITY_DATA")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("SYNTHETIC"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let gbm = &v["results"][0];
    assert_eq!(gbm["provenance"], "real", "{v}");
    assert_eq!(gbm["n_prompts"].as_u64(), Some(2), "{v}");
}

#[test]
fn sync_extends_the_known_history_and_resumes() {
    let home = tempfile::tempdir().unwrap();
    let url = fake_pyth(10);
    let run = || {
        Command::new(crate::bin())
            .args([
                "data",
                "sync",
                "--assets",
                "BTC",
                "--resolutions",
                "1m",
                "--max-days",
                "1",
                "--json",
            ])
            .env("SYNTH_CITY_HOME", home.path())
            .env("SYNTH_CITY_PYTH_URL", &url)
            .output()
            .unwrap()
    };
    let o = run();
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["asset"], "BTC");
    assert!(
        v["seeded_from"].is_string(),
        "seeded from the known history: {v}"
    );
    let added = v["added"].as_u64().unwrap();
    assert!((1400..=1440).contains(&added), "one day of 1m candles: {v}");
    // Again right away: only the minute or two since, from where the cache ends.
    let o = run();
    assert!(o.status.success(), "{}", text(&o));
    let w: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(w["seeded_from"].is_null());
    assert!(w["added"].as_u64().unwrap() <= 2, "{w}");
    assert!(w["last"].as_i64() >= v["last"].as_i64());
}
