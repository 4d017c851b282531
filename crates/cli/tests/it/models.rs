//! CLI tests of the `models` area: listings, and a baseline sweep on the synthetic market.

use std::path::Path;
use std::process::{Command, Output};

fn cli(home: &Path, args: &[&str]) -> Output {
    Command::new(crate::bin())
        .args(args)
        .env("SYNTH_CITY_HOME", home)
        .output()
        .unwrap()
}

#[test]
fn listings_name_every_block_head_and_preset() {
    let home = tempfile::tempdir().unwrap();
    let o = cli(home.path(), &["blocks", "--json"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["name"].as_str())
        .collect();
    assert!(
        names.contains(&"lstm") && names.contains(&"transformer"),
        "{names:?}"
    );
    let o = cli(home.path(), &["heads"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("mixture"));
    let o = cli(home.path(), &["presets", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v.as_array().unwrap().iter().any(|p| p["name"] == "garch_t"));
}

#[test]
fn sweep_on_the_synthetic_market_says_so_and_scores_against_gbm() {
    let home = tempfile::tempdir().unwrap();
    let o = cli(
        home.path(),
        &[
            "sweep",
            "--presets",
            "gbm,garch_t",
            "--assets",
            "BTC",
            "--timeframe",
            "1m",
            "--synthetic",
            "--folds",
            "1",
            "--max-prompts",
            "3",
            "--json",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("SYNTHETIC"), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rows = v["results"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let gbm = rows.iter().find(|r| r["model"] == "gbm").unwrap();
    assert_eq!(gbm["ratio"].as_f64(), Some(1.0));
    assert_eq!(gbm["provenance"], "synthetic");
    assert_eq!(gbm["n_prompts"].as_u64(), Some(3));
    let garch = rows.iter().find(|r| r["model"] == "garch_t").unwrap();
    assert!(garch["model_crps"].as_f64().unwrap() > 0.0);
    assert!(garch["per_interval"]["0_5min_gaps"].as_f64().is_some());
}

#[test]
fn bad_input_is_exit_code_2() {
    let home = tempfile::tempdir().unwrap();
    let o = cli(home.path(), &["sweep", "--presets", "nope", "--synthetic"]);
    assert_eq!(o.status.code(), Some(2));
    let o = cli(
        home.path(),
        &["experiment", "--blocks", "nope", "--synthetic"],
    );
    assert_eq!(o.status.code(), Some(2));
}
