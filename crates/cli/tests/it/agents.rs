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
