//! CLI tests of the `sn50` area: `score`, `validate`, `sn50 config`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn run(args: &[&str]) -> Output {
    Command::new(crate::bin()).args(args).output().unwrap()
}

fn write(dir: &Path, name: &str, body: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_string()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn score_one_prediction_matches_the_validator_vector() {
    let d = tempfile::tempdir().unwrap();
    let pred = write(
        d.path(),
        "p.json",
        "[[90000,91000,92000],[90000,91000,92000]]",
    );
    let real = write(d.path(), "r.json", "[92600, 92500, 93500]");
    let o = run(&[
        "score",
        "--prediction",
        &pred,
        "--real",
        &real,
        "--time-increment",
        "300",
        "--prompt",
        "low",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let s = stdout(&o);
    // Interval names in the validator's order.
    assert!(
        s.find("\"5min\"").unwrap() < s.find("\"24hour_abs\"").unwrap(),
        "{s}"
    );
    let v: Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["total"].as_f64(), Some(284.1200564488584));
    assert_eq!(v["intervals"]["5min"].as_f64(), Some(123.69224896222737));
    assert_eq!(
        v["intervals"]["24hour_abs"].as_f64(),
        Some(160.42780748663102)
    );
    assert_eq!(v["intervals"].as_object().unwrap().len(), 2);
}

#[test]
fn score_several_predictions_gives_prompt_scores() {
    let d = tempfile::tempdir().unwrap();
    let good = write(
        d.path(),
        "a.json",
        "[1, 300, [90000,91000,92000],[90000,91000,92000]]",
    );
    let bad = write(
        d.path(),
        "b.json",
        r#"{"simulation_input":{},"simulation_output":[1,300,[50000,51000,52000]]}"#,
    );
    let zero = write(d.path(), "c.json", "[[50000,0,52000]]");
    let real = write(d.path(), "r.json", "[92600, null, 93500]");
    let full = write(d.path(), "r2.json", "[92600, 92500, 93500]");
    let o = run(&[
        "score",
        "--prediction",
        &good,
        "--prediction",
        &bad,
        "--prediction",
        &zero,
        "--real",
        &full,
        "--time-increment",
        "300",
        "--prompt",
        "low",
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let m = v["miners"].as_array().unwrap();
    assert_eq!(m[0]["total"].as_f64(), Some(284.1200564488584));
    assert_eq!(m[1]["total"].as_f64(), Some(4737.272133130346));
    assert_eq!(m[2]["total"].as_f64(), Some(-1.0));
    assert_eq!(m[1]["file"].as_str(), Some(bad.as_str()));
    let (p90, lowest) = (
        v["percentile90"].as_f64().unwrap(),
        v["lowest"].as_f64().unwrap(),
    );
    // numpy linear percentile of [284.12…, 4737.27…] at 90: vi = 0.9, g >= 0.5.
    let d90 = 4737.272133130346 - 284.1200564488584;
    assert_eq!(p90, 4737.272133130346 - d90 * (1.0 - 0.9));
    assert_eq!(lowest, 284.1200564488584);
    assert_eq!(m[0]["prompt_score"].as_f64(), Some(0.0));
    assert_eq!(m[1]["prompt_score"].as_f64(), Some(p90 - lowest));
    assert_eq!(m[2]["prompt_score"].as_f64(), Some(p90 - lowest));
    assert!(m[2]["error"].as_str().unwrap().contains("Zero price"));

    // A missing middle point only drops the changes that touch it.
    let o = run(&[
        "score",
        "--prediction",
        &good,
        "--real",
        &real,
        "--time-increment",
        "300",
        "--prompt",
        "low",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["intervals"]["5min"].as_f64(), Some(0.0));
}

#[test]
fn score_rejects_bad_input_with_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let real = write(d.path(), "r.json", "[1, 2, 3]");
    let ragged = write(d.path(), "ragged.json", "[[1,2,3],[1,2]]");
    let junk = write(d.path(), "junk.json", "{not json");
    let short = write(d.path(), "short.json", "[[1,2]]");
    let missing = d.path().join("nope.json");
    let missing = missing.to_str().unwrap();
    for (file, needle) in [
        (ragged.as_str(), "ragged"),
        (junk.as_str(), "junk.json"),
        (short.as_str(), "2 points but the real prices have 3"),
        (missing, "nope.json"),
    ] {
        let o = run(&[
            "score",
            "--prediction",
            file,
            "--real",
            &real,
            "--time-increment",
            "300",
            "--prompt",
            "low",
        ]);
        assert_eq!(o.status.code(), Some(2), "{file}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains(needle), "{e}");
        assert_eq!(e.trim().lines().count(), 1, "{e}");
    }
    let o = run(&[
        "score",
        "--prediction",
        &short,
        "--real",
        &ragged,
        "--time-increment",
        "300",
        "--prompt",
        "low",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("ragged.json"));
}

#[test]
fn validate_prints_correct_or_the_exact_error() {
    let d = tempfile::tempdir().unwrap();
    let ok = write(
        d.path(),
        "ok.json",
        "[1672531200, 1, [123.45678, 123.45678, 123.45678, 12345678]]",
    );
    let args = |f: &str| {
        run(&[
            "validate",
            "--prediction",
            f,
            "--start-time",
            "2023-01-01T00:00:00+00:00",
            "--time-increment",
            "1",
            "--time-length",
            "3",
            "--num-simulations",
            "1",
        ])
    };
    let o = args(&ok);
    assert_eq!((o.status.code(), stdout(&o).trim()), (Some(0), "CORRECT"));
    let bad = write(
        d.path(),
        "bad.json",
        "[1672531200, 1, [123.45678, 12345678.0, 1, 2]]",
    );
    let o = args(&bad);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o).trim(),
        "Price format is incorrect: too many digits 12345678.0"
    );
    let late = write(
        d.path(),
        "late.json",
        r#"{"simulation_output": [1672531201, 1, [1,2,3,4]]}"#,
    );
    let o = args(&late);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o).trim(),
        "Start time timestamp is incorrect: expected 1672531200, got 1672531201"
    );
    let o = args(d.path().join("none.json").to_str().unwrap());
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("none.json"));
}

#[test]
fn config_prints_both_prompts() {
    let o = run(&["sn50", "config", "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["low"]["time_increment"], 300);
    assert_eq!(v["low"]["scoring_intervals"][3]["name"], "24hour_abs");
    assert_eq!(v["high"]["scoring_intervals"].as_array().unwrap().len(), 18);
    assert_eq!(v["high"]["softmax_beta"].as_f64(), Some(-0.2));
    assert_eq!(
        v["asset_coefficients"]["XAU"].as_f64(),
        Some(1.7370922597118699)
    );
    let o = run(&["sn50", "config"]);
    let s = stdout(&o);
    assert!(
        s.contains("[low]") && s.contains("[high]") && s.contains("window_days"),
        "{s}"
    );
}
