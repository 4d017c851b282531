//! CLI tests of the `backtest` area: a tiny real-data run end to end, and bad input.

use std::process::Command;

#[test]
fn backtest_runs_on_real_data_and_writes_its_reports() {
    // The range is older than the embedded set's 1-minute BTC: the shared folder is needed. Its
    // absence fails the test under SYNTH_CITY_REQUIRE_SHARED (CI) and is a visible skip elsewhere.
    if market::home::shared_dir().is_none_or(|d| !d.join("data").is_dir()) {
        assert!(
            std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
            "the shared data folder (SYNTH_CITY_SHARED or ../shared/data) is required here"
        );
        eprintln!("SKIP: backtest_runs_on_real_data: no shared data folder");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(crate::bin())
        .args([
            "backtest",
            "--competitors",
            "gbm,ewma",
            "--assets",
            "BTC",
            "--timeframe",
            "high",
            "--from",
            "2026-04-01T00:00:00Z",
            "--to",
            "2026-04-01T01:00:00Z",
            "--max-prompts",
            "3",
            "--json",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("subsampled"), "{stderr}");
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["competitions"][0]["scored"], 3);
    let share: f64 = s["combined_share"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .sum();
    assert!((share - 1.0).abs() < 1e-9);
    for f in [
        "prompts.csv",
        "intervals.csv",
        "summary.json",
        "reward_share.png",
        "reward_share.svg",
        "crps_by_asset.png",
        "crps_by_asset.svg",
    ] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
    let csv = std::fs::read_to_string(dir.path().join("prompts.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3 * 2);
}

#[test]
fn backtest_refuses_bad_input_with_exit_code_2() {
    for (args, want) in [
        (vec!["--competitors", "gbm,nope"], "unknown competitor"),
        (vec!["--assets", "DOGE"], "--assets DOGE"),
        (
            vec!["--from", "2026-04-02", "--to", "2026-04-01"],
            "before --to",
        ),
        (
            vec!["--from", "yesterday", "--to", "2026-04-01"],
            "--from yesterday",
        ),
        (vec!["--stride", "0"], "--stride"),
    ] {
        let out = Command::new(crate::bin())
            .arg("backtest")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
}

#[test]
fn evaluate_walks_forward_on_real_data_and_refuses_bad_input() {
    for (args, want) in [
        (vec!["--against", "ewma"], "--against ewma"),
        (vec!["--assets", "DOGE"], "--assets DOGE"),
        (vec!["--warmup-days=-1"], "--warmup-days"),
        (vec!["--resamples", "0"], "--resamples"),
    ] {
        let out = Command::new(crate::bin())
            .arg("evaluate")
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    if market::home::shared_dir().is_none_or(|d| !d.join("data").is_dir()) {
        assert!(
            std::env::var_os("SYNTH_CITY_REQUIRE_SHARED").is_none(),
            "the shared data folder (SYNTH_CITY_SHARED or ../shared/data) is required here"
        );
        eprintln!("SKIP: evaluate_walks_forward_on_real_data: no shared data folder");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(crate::bin())
        .args([
            "evaluate",
            "--competitors",
            "ewma",
            "--against",
            "ewma",
            "--assets",
            "BTC",
            "--timeframe",
            "high",
            "--from",
            "2026-03-23",
            "--to",
            "2026-03-26",
            "--warmup-days",
            "1",
            "--prompts-per-block",
            "3",
            "--paths",
            "100",
            "--resamples",
            "50",
            "--json",
            "--out",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("subsampled"), "{stderr}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // gbm was added as the reference, first.
    assert_eq!(r["competitors"], serde_json::json!(["gbm", "ewma"]));
    assert_eq!(r["blocks"][0]["scored"], 3);
    assert!(r["groups"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["scope"] == "SN50-weighted" && g["regime"] == "all"));
    for f in ["walk_forward.json", "prompts.csv"] {
        assert!(dir.path().join(f).is_file(), "{f} missing");
    }
}
