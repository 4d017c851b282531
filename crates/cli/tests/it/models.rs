//! CLI tests of the `models` area: listings, a baseline sweep on the synthetic market, and an
//! experiment stored in the registry with its weights.

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

#[test]
fn runs_are_stored_with_their_weights_and_an_identical_run_is_reused() {
    let home = tempfile::tempdir().unwrap();
    let args = [
        "quick",
        "--timeframe",
        "1m",
        "--synthetic",
        "--epochs",
        "1",
        "--max-prompts",
        "2",
        "--max-windows",
        "128",
        "--json",
    ];
    let o = cli(home.path(), &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let row = &v[0];
    let run_id = row["run_id"].as_str().unwrap().to_string();
    assert_eq!(row["reused"], false);
    assert_eq!(row["n_prompts"].as_u64(), Some(2));
    assert!(row["model_crps"].as_f64().unwrap() > 0.0);

    // The registry holds it, with its weights.
    let o = cli(home.path(), &["history", "show", &run_id, "--json"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rec: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let artifacts = rec["artifacts"].to_string();
    assert!(artifacts.contains("weights.safetensors"), "{artifacts}");
    assert_eq!(rec["run"]["requested_by"]["by"], "cli", "{rec}");
    assert_eq!(rec["run"]["spec"]["training"]["max_windows"], 128, "{rec}");
    assert_eq!(
        rec["run"]["spec"]["eval"],
        serde_json::json!({"folds": 1, "max_prompts": 2}),
        "{rec}"
    );

    // Same spec, data and seed: shown from the registry; --force trains again, identically.
    let o = cli(home.path(), &args);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["run_id"], run_id.as_str());
    assert_eq!(v[0]["reused"], true);
    let mut forced = args.to_vec();
    forced.push("--force");
    let o = cli(home.path(), &forced);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_ne!(v[0]["run_id"], run_id.as_str());
    assert_eq!(
        v[0]["model_crps"], row["model_crps"],
        "same seed, same result"
    );

    // `experiment` goes through the registry too.
    let o = cli(
        home.path(),
        &[
            "experiment",
            "--baseline",
            "garch_t",
            "--timeframe",
            "1m",
            "--synthetic",
            "--folds",
            "1",
            "--max-prompts",
            "2",
        ],
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("run "), "{out}");
    let o = cli(home.path(), &["history", "--json"]);
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(h["count"], 3, "{h}");
}
