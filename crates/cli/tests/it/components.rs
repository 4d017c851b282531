//! `synth-city components`: the shipped examples are accepted, listed with the built-ins,
//! trained by `experiment` by name, shown and removed; a bad definition is exit code 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn cli(home: &Path, args: &[&str]) -> Output {
    Command::new(crate::bin())
        .args(args)
        .env("SYNTH_CITY_HOME", home)
        .output()
        .unwrap()
}

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/components")
        .join(name)
}

#[test]
fn example_components_are_added_listed_trained_by_name_and_removed() {
    let home = tempfile::tempdir().unwrap();
    for f in ["gated_conv.json", "t_trunk.toml"] {
        let p = example(f);
        let o = cli(
            home.path(),
            &["components", "add", p.to_str().unwrap(), "--json"],
        );
        assert!(
            o.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["version"], 1, "{v}");
        assert_eq!(v["owner"], "local");
    }
    let o = cli(home.path(), &["components", "list", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
    // `blocks` / `heads` list them, marked.
    let o = cli(home.path(), &["blocks", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let user = v
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "gated_conv")
        .unwrap();
    assert_eq!(user["user"], true);
    assert!(v.as_array().unwrap().iter().any(|b| b["name"] == "wavenet"));
    let o = cli(home.path(), &["heads"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("t_trunk"));
    // An experiment trains them by name.
    let o = cli(
        home.path(),
        &[
            "experiment",
            "--blocks",
            "gated_conv",
            "--head",
            "t_trunk",
            "--timeframe",
            "1m",
            "--synthetic",
            "--epochs",
            "1",
            "--max-windows",
            "64",
            "--folds",
            "1",
            "--max-prompts",
            "2",
            "--d-model",
            "16",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v[0]["model_crps"].as_f64().unwrap() > 0.0, "{v}");
    // The recorded spec carries the definitions.
    let run_id = v[0]["run_id"].as_str().unwrap();
    let o = cli(home.path(), &["history", "show", run_id, "--json"]);
    let rec: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        rec["run"]["spec"]["blocks"][0]["definition"]["kind"], "block",
        "{rec}"
    );
    assert_eq!(
        rec["run"]["spec"]["head"]["definition"]["family"],
        "student_t"
    );
    // Show, remove.
    let o = cli(home.path(), &["components", "show", "t_trunk"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("student_t"));
    let o = cli(home.path(), &["components", "remove", "t_trunk"]);
    assert!(o.status.success());
    let o = cli(home.path(), &["components", "show", "t_trunk"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn a_bad_definition_or_a_built_in_name_is_exit_code_2() {
    let home = tempfile::tempdir().unwrap();
    let bad = home.path().join("bad.json");
    std::fs::write(&bad, r#"{"kind": "block", "layers": [{"op": "linear", "out": 1000000}, {"op": "linear", "out": 1000000}, {"op": "linear", "out": 32}]}"#).unwrap();
    let o = cli(home.path(), &["components", "add", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("parameters"));
    let p = example("gated_conv.json");
    let o = cli(
        home.path(),
        &["components", "add", p.to_str().unwrap(), "--name", "lstm"],
    );
    assert_eq!(o.status.code(), Some(2));
}
