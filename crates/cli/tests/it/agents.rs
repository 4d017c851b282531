//! CLI tests of the `agents` area.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String, String) {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(crate::bin())
        .args(args)
        .env("SYNTH_CITY_HOME", home.path())
        .env_remove("CHUTES_API_KEY")
        .env_remove("LLM_BASE_URL")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn pipeline_rejects_bad_arguments_with_exit_2() {
    let (code, _, err) = run(&["pipeline", "--temperature", "5"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--temperature"), "{err}");
    let (code, _, err) = run(&["pipeline", "--max-experiments", "0"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = run(&["pipeline", "--timeframe", "15m"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn pipeline_rejects_an_invalid_stage_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.json");
    std::fs::write(
        &p,
        r#"{"stages":[{"name":"x","agent":"wizard","position":"plan"}]}"#,
    )
    .unwrap();
    let (code, _, err) = run(&["pipeline", "--pipeline", p.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown agent `wizard`"), "{err}");
}

#[test]
fn agent_names_are_checked() {
    let (code, _, err) = run(&["agent", "--name", "wizard"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("known: planner, trainer, codechecker, debugger, publisher"),
        "{err}"
    );
}

#[test]
fn guidance_and_evolve_arguments_are_checked() {
    let long = "x".repeat(2_001);
    let (code, _, err) = run(&["pipeline", "--guidance", &long]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("at most 2000 characters"), "{err}");
    let (code, _, err) = run(&["evolve", "--population", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--population"), "{err}");
    let (code, _, err) = run(&["evolve", "--timeframe", "15m"]);
    assert_eq!(code, 2, "{err}");
}

/// Offline (no LLM): the built-in planner mutates parameters only and says so; every candidate
/// after the first generation names its parent.
#[test]
fn evolve_offline_mutates_parameters_and_records_lineage() {
    let (code, out, err) = run(&[
        "evolve",
        "--generations",
        "1",
        "--population",
        "2",
        "--epochs",
        "1",
        "--max-windows",
        "8",
        "--asset",
        "BTC",
        "--timeframe",
        "1m",
        "--no-promote",
        "--json",
    ]);
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    let rep: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    assert!(
        rep["mutator"].as_str().unwrap().starts_with("builtin"),
        "{rep}"
    );
    let cands = rep["candidates"].as_array().unwrap();
    assert!(cands.len() >= 3, "{rep}");
    assert!(
        cands
            .iter()
            .filter(|c| c["generation"] == 1)
            .all(|c| c["parent"].is_string()),
        "{rep}"
    );
}
