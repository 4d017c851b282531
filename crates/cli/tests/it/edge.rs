//! Hostile and out-of-range input at the edge, for every area: refused with exit code 2 and a
//! clear message before anything runs (no panic, no unbounded allocation, no path built from an
//! unchecked name).

use std::path::Path;
use std::process::{Command, Output};

fn cli(home: &Path, args: &[&str]) -> Output {
    Command::new(crate::bin())
        .args(args)
        .current_dir(home)
        .env("SYNTH_CITY_HOME", home)
        .env("SYNTH_CITY_SHARED", home.join("no-shared-data"))
        .env_remove("SYNTH_CITY_DATA")
        .env_remove("SYNTH_CITY_PYTH_SYMBOLS")
        .env_remove("CHUTES_API_KEY")
        .env_remove("LLM_BASE_URL")
        .output()
        .unwrap()
}

fn refused(home: &Path, args: &[&str], needle: &str) {
    let o = cli(home, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

#[test]
fn durations_and_sizes_from_the_command_line_are_bounded() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    refused(
        h,
        &["pipeline", "--budget-minutes", "1e300"],
        "--budget-minutes",
    );
    refused(
        h,
        &["pipeline", "--budget-minutes", "NaN"],
        "--budget-minutes",
    );
    refused(
        h,
        &["pipeline", "--budget-minutes", "0"],
        "--budget-minutes",
    );
    refused(
        h,
        &["data", "synth", "--asset", "BTC", "--days", "4294967295"],
        "--days",
    );
    refused(
        h,
        &["data", "synth", "--asset", "HUGE", "--days", "4294967295"],
        "--asset",
    );
    // 3650 days at 1 s would be 315 million candles.
    refused(
        h,
        &[
            "data",
            "synth",
            "--asset",
            "BTC",
            "--days",
            "3650",
            "--resolution",
            "1s",
        ],
        "candles",
    );
    refused(
        h,
        &["client", "--timeout", "99999999999", "health"],
        "--timeout",
    );
}

#[test]
fn asset_names_are_checked_once_at_the_edge_for_every_command() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let unknown = "unknown asset";
    refused(h, &["data", "synth", "--asset", "../../EVIL"], "--asset");
    refused(h, &["data", "synth", "--asset", "NOPE"], unknown);
    refused(h, &["data", "download", "--assets", "BTC,NOPE"], unknown);
    refused(
        h,
        &["data", "import", "x.csv", "--asset", "../x"],
        "--asset",
    );
    refused(
        h,
        &[
            "experiment",
            "--baseline",
            "gbm",
            "--asset",
            "../../etc/passwd",
        ],
        "--asset",
    );
    refused(h, &["quick", "--asset", "NOPE"], unknown);
    refused(h, &["sweep", "--assets", "NOPE", "--real-only"], unknown);
    refused(h, &["pipeline", "--asset", "NOPE"], unknown);
    refused(
        h,
        &["agent", "--name", "planner", "--asset", "a/b"],
        "--asset",
    );
    refused(h, &["history", "--asset", "NOPE"], unknown);
    refused(h, &["champion", "--asset", "NOPE"], unknown);
    refused(h, &["client", "price", "BTC?x=1"], "ASSET");
    // The message lists what is known.
    let o = cli(h, &["data", "synth", "--asset", "NOPE"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("known: BTC, ETH"));
}

#[test]
fn zero_folds_or_prompts_are_bad_input_not_a_runtime_error() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    for flag in ["--folds", "--max-prompts"] {
        refused(
            h,
            &["experiment", "--baseline", "gbm", "--synthetic", flag, "0"],
            flag,
        );
        refused(h, &["sweep", "--synthetic", flag, "0"], flag);
    }
}

#[test]
fn an_sn50_asset_without_real_data_is_refused_by_a_real_data_sweep() {
    let home = tempfile::tempdir().unwrap();
    refused(
        home.path(),
        &["sweep", "--assets", "WTIOIL", "--timeframe", "5m"],
        "no real 5m data",
    );
}

#[test]
fn imported_assets_are_known() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let file = h.join("coin.csv");
    let mut csv = String::from("timestamp,open,high,low,close\n");
    for i in 0..10 {
        csv.push_str(&format!("{},1,2,0.5,1.5\n", 1_704_067_200 + 60 * i));
    }
    std::fs::write(&file, csv).unwrap();
    let o = cli(
        h,
        &[
            "data",
            "import",
            file.to_str().unwrap(),
            "--asset",
            "mycoin",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = cli(
        h,
        &[
            "data",
            "synth",
            "--asset",
            "MyCoin",
            "--days",
            "1",
            "--resolution",
            "5m",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(h.join("cache/MYCOIN_5m.synthetic.parquet").is_file());
}

#[test]
fn planner_llm_without_an_llm_says_what_to_set() {
    let home = tempfile::tempdir().unwrap();
    refused(
        home.path(),
        &["pipeline", "--planner", "llm"],
        "CHUTES_API_KEY",
    );
    refused(
        home.path(),
        &["pipeline", "--planner", "llm", "--builtin"],
        "cannot be used with",
    );
}

#[test]
fn python_block_and_head_names_are_aliases() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // Accepted: the history filter resolves them (an empty history is fine).
    let o = cli(
        h,
        &[
            "history",
            "--block",
            "TransformerBlock",
            "--head",
            "GBMHead",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // No equivalent: says what to type instead.
    refused(h, &["history", "--block", "RNNBlock"], "use gru");
    refused(
        h,
        &["experiment", "--blocks", "RevIN,RNNBlock", "--synthetic"],
        "use gru",
    );
}

#[test]
fn sweep_defaults_to_a_short_real_data_run() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // Real data: BTC in the shared folder (the dry run looks for the files, it does not read
    // them), the other SN50 assets but WTIOIL from the set embedded in the binary.
    let data = h.join("no-shared-data/data");
    std::fs::create_dir_all(&data).unwrap();
    for f in ["BTC_1m.csv.gz", "BTC_5m.csv.gz"] {
        std::fs::write(data.join(f), b"").unwrap();
    }
    let o = cli(h, &["sweep", "--dry-run", "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (v["folds"].as_u64(), v["max_prompts"].as_u64()),
        (Some(1), Some(8)),
        "{v}"
    );
    assert_eq!(v["data"], "real");
    for c in v["competitions"].as_array().unwrap() {
        let assets = c["assets"].as_array().unwrap();
        assert!(assets.contains(&serde_json::json!("BTC")), "{c}");
        assert!(!assets.contains(&serde_json::json!("WTIOIL")), "{c}");
    }
    assert!(
        v["competitions"][0]["skipped"]
            .to_string()
            .contains("WTIOIL: no real data"),
        "{v}"
    );
    // --synthetic includes every SN50 asset; explicit sizes win.
    let o = cli(
        h,
        &[
            "sweep",
            "--dry-run",
            "--json",
            "--synthetic",
            "--folds",
            "3",
            "--timeframe",
            "5m",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["folds"], 3);
    assert_eq!(
        v["competitions"][0]["assets"].as_array().unwrap().len(),
        12,
        "{v}"
    );
}

#[test]
fn assets_of_the_real_data_folder_are_known() {
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let data = h.join("mydata");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("OWNCOIN_5m.csv.gz"), b"").unwrap();
    refused(
        h,
        &["data", "synth", "--asset", "OWNCOIN", "--days", "1"],
        "unknown asset",
    );
    let o = Command::new(crate::bin())
        .args([
            "data",
            "synth",
            "--asset",
            "owncoin",
            "--days",
            "1",
            "--resolution",
            "5m",
        ])
        .env("SYNTH_CITY_HOME", h)
        .env("SYNTH_CITY_DATA", &data)
        .env_remove("SYNTH_CITY_PYTH_SYMBOLS")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// `synth-city history | head -1`: the reader goes away, the program ends without a panic
/// (killed by SIGPIPE, as `cat` is), for a command of every area that prints.
#[cfg(unix)]
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["presets"][..],
        &["blocks"],
        &["history"],
        &["data", "info"],
    ] {
        let mut child = Command::new(crate::bin())
            .args(args)
            .current_dir(home.path())
            .env("SYNTH_CITY_HOME", home.path())
            .env_remove("SYNTH_CITY_DATA")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the program has printed anything.
        drop(child.stdout.take());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        let sigpipe = o.status.signal() == Some(13);
        assert!(
            o.status.success() || sigpipe,
            "{args:?}: {:?} {err}",
            o.status
        );
    }
}
