use super::*;

/// Runs `src` once on the LOW dry-run prompt under `caps`; the error text on failure.
fn run_src(src: &str, caps: &Caps) -> Result<Run, String> {
    let ast = compile(src, caps).map_err(|e| e.to_string())?;
    let prompts = inputs::dry_run_prompts().unwrap();
    let (hist, step, horizon) = &prompts[0];
    let req = request(hist, *step, *horizon, 8, 1);
    run(&ast, &req, caps).map_err(|e| e.to_string())
}

fn request(
    hist: &market::Candles,
    step: u32,
    horizon: u32,
    n: usize,
    seed: u64,
) -> ForecastRequest<'_> {
    ForecastRequest {
        asset: &hist.asset,
        history: hist,
        start_price: *hist.close.last().unwrap(),
        start_time: hist.ts.last().unwrap() + i64::from(hist.resolution_secs),
        time_increment: step,
        time_length: horizon,
        num_simulations: n,
        seed,
        context: Default::default(),
    }
}

fn err_of(src: &str, caps: &Caps) -> String {
    match run_src(src, caps) {
        Ok(_) => panic!("script should have failed: {src}"),
        Err(e) => e,
    }
}

const SIMPLE: &str = "#{ sigma: std(returns), dist: student_t(5) }";

#[test]
fn a_simple_description_gives_valid_paths() {
    let info = check(SIMPLE).unwrap();
    assert_eq!(info.answer, "description");
    assert!(info.operations < 1000, "{info:?}");
}

#[test]
fn an_infinite_loop_stops_at_the_operations_cap() {
    let caps = Caps {
        max_operations: 100_000,
        ..Caps::default()
    };
    let e = err_of("let x = 0; loop { x += 1; }", &caps);
    assert!(
        e.contains("CPU cap") && e.contains("100000 operations"),
        "{e}"
    );
}

#[test]
fn a_long_run_stops_at_the_wall_clock_backstop() {
    let caps = Caps {
        max_operations: u64::MAX,
        max_seconds: 1,
        ..Caps::default()
    };
    let e = err_of("let x = 0; loop { x += 1; }", &caps);
    assert!(
        e.contains("CPU cap") && e.contains("longer than 1 s"),
        "{e}"
    );
}

#[test]
fn vector_work_in_a_loop_hits_the_work_cap() {
    // Few operations, each a pass over a million floats.
    let caps = Caps {
        max_work: 50_000_000,
        ..Caps::default()
    };
    let e = err_of("let v = zeros(1000000); loop { sum(v); }", &caps);
    assert!(
        e.contains("CPU cap") && e.contains("50000000 vector elements"),
        "{e}"
    );
}

#[test]
fn unbounded_vectors_hit_the_memory_cap() {
    let e = err_of(
        "let keep = []; loop { keep.push(zeros(100000)); }",
        &Caps::default(),
    );
    assert!(
        e.contains("memory cap") && e.contains("16000000 floats"),
        "{e}"
    );
    // One huge vector is refused before it is allocated.
    let e = err_of("zeros(1000000000000)", &Caps::default());
    assert!(e.contains("memory cap"), "{e}");
}

#[test]
fn growing_strings_and_arrays_hit_their_caps() {
    let e = err_of("let s = \"xx\"; loop { s += s; }", &Caps::default());
    assert!(
        e.contains("memory cap: Length of string") && e.contains("65536"),
        "{e}"
    );
    let e = err_of("let a = [1, 2]; loop { a += a; }", &Caps::default());
    assert!(
        e.contains("memory cap: Size of array") && e.contains("100000"),
        "{e}"
    );
}

#[test]
fn deep_recursion_is_refused_at_the_call_depth_cap() {
    let f = "fn f(n) { if n == 0 { 0 } else { 1 + f(n - 1) } }";
    // Within the cap (32) it runs (above Rhai's own debug default of 8) ...
    run_src(
        &format!("{f} let d = f(20); #{{ sigma: 0.001 * d / 20 }}"),
        &Caps::default(),
    )
    .unwrap();
    // ... past it, refused (below Rhai's own release default of 64).
    let e = err_of(&format!("{f} f(48)"), &Caps::default());
    assert!(e.contains("call depth cap") && e.contains("32"), "{e}");
    let e = err_of(&format!("{f} f(1000000)"), &Caps::default());
    assert!(e.contains("call depth cap"), "{e}");
}

#[test]
fn no_eval_clock_io_or_modules() {
    for (src, want) in [
        ("eval(\"40 + 2\")", "reserved keyword 'eval' is disabled"),
        ("timestamp()", "Function not found: timestamp"),
        ("import \"os\" as os; 1", "'import' is a reserved keyword"),
        (
            "open_file(\"/etc/passwd\")",
            "Function not found: open_file",
        ),
        (
            "read_file(\"/etc/passwd\")",
            "Function not found: read_file",
        ),
        ("File.open(\"/etc/passwd\")", "Variable not found: File"),
        ("system(\"ls\")", "Function not found: system"),
    ] {
        let e = check(src).expect_err(src).to_string();
        assert!(e.contains(want), "{src}: {e}");
    }
}

#[test]
fn print_goes_to_the_run_log_not_stdout() {
    let info = check("print(`sd ${std(returns)}`); #{ sigma: std(returns) }").unwrap();
    assert_eq!(info.printed.len(), 2, "{info:?}");
    assert!(info.printed[0].starts_with("sd 0.00"), "{info:?}");
}

#[test]
fn answers_are_checked_against_the_prompt() {
    let caps = Caps::default();
    let e = err_of("42", &caps);
    assert!(e.contains("must be a map"), "{e}");
    let e = err_of("#{ sigma: zeros(5) + 0.01 }", &caps);
    assert!(e.contains("`steps` = 288"), "{e}");
    let e = err_of("#{ sigma: 0.01, sigmaa: 2 }", &caps);
    assert!(e.contains("unknown key `sigmaa`"), "{e}");
    let e = err_of("#{ sigma: -0.01 }", &caps);
    assert!(e.contains("sigma[0]"), "{e}");
    let e = err_of("#{ sigma: 0.01, garch: #{ alpha: 0.5, beta: 0.6 } }", &caps);
    assert!(e.contains("alpha + beta"), "{e}");
    let e = err_of("sum([1, 2])", &caps);
    assert!(e.contains("convert an array with vector(a)"), "{e}");
    let e = err_of("#{ log_returns: zeros(7) }", &caps);
    assert!(e.contains("8 × 288"), "{e}");
}

#[test]
fn log_returns_answers_build_paths() {
    let src = "let r = sample(normal(), n_paths * steps) * 0.001; #{ log_returns: r }";
    let run = run_src(src, &Caps::default()).unwrap();
    assert_eq!(run.answer, "log_returns");
    assert_eq!((run.paths.n_paths(), run.paths.n_points()), (8, 289));
}

#[test]
fn the_library_computes_what_it_says() {
    let src = r#"
        let v = vector([1.0, 2, 3, 4]);
        let ok = sum(v) == 10.0 && mean(v) == 2.5 && quantile(v, 0.5) == 2.5
            && last(cumsum(v)) == 10.0 && len(diff(v)) == 3 && v[-1] == 4.0
            && len(tile(v, 3)) == 12 && sum(v * v) == 30.0 && sum(2 * v - 1) == 16.0
            && max(v) == 4.0 && min(v - 10) == -9.0 && len(tail(v, 2)) == 2
            && sum(log_returns(vector([1.0, 2.0, 4.0]))) == ln(4.0);
        let w = v; w[0] = 100.0;
        let ok = ok && v[0] == 1.0 && w[0] == 100.0;
        let d = mixture([normal(), student_t(4).scaled(3.0)], [0.9, 0.1]);
        let z = sample(d, 20000);
        let ok = ok && abs(std(z) - 1.0) < 0.1 && kurtosis(z) > 1.0;
        let j = sample(johnson_su(0.5, 1.5), 20000);
        let ok = ok && abs(mean(j)) < 0.05 && abs(std(j) - 1.0) < 0.1 && skewness(j) < 0.0;
        if !ok { throw "library mismatch"; }
        #{ sigma: 0.001 }
    "#;
    run_src(src, &Caps::default()).unwrap();
}

#[test]
fn the_same_seed_gives_the_same_paths() {
    let prompts = inputs::dry_run_prompts().unwrap();
    let (hist, step, horizon) = &prompts[0];
    let m = ScriptModel::new(
        "t",
        "#{ sigma: std(returns) * (1 + uniform(steps)), dist: student_t(5) }",
    );
    let a = m.forecast(&request(hist, *step, *horizon, 16, 3)).unwrap();
    let b = m.forecast(&request(hist, *step, *horizon, 16, 3)).unwrap();
    let c = m.forecast(&request(hist, *step, *horizon, 16, 4)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(m.name(), "script:t");
}

#[test]
fn settings_rebuild_the_model() {
    let m = ScriptModel::new("simple", SIMPLE).with_hash("abc");
    let s = m.settings();
    let back = ScriptModel::from_settings(&s).unwrap();
    assert_eq!(
        (back.name.as_str(), back.source.as_str(), back.hash.as_str()),
        ("simple", SIMPLE, "abc")
    );
    assert!(ScriptModel::from_settings(&serde_json::json!({"name": 1})).is_err());
    assert_eq!(script_name("script:abc"), Some("abc"));
    assert_eq!(script_name("script:"), None);
    assert_eq!(script_name("garch_t"), None);
}

#[test]
fn syntax_errors_name_the_place() {
    let e = check("let x = ;\n#{ sigma: 0.01 }")
        .unwrap_err()
        .to_string();
    assert!(e.contains("syntax") && e.contains("line 1"), "{e}");
    let e = check("").unwrap_err().to_string();
    assert!(e.contains("empty"), "{e}");
    let big = "1;".repeat(40_000);
    let e = check(&big).unwrap_err().to_string();
    assert!(e.contains("source cap"), "{e}");
}

/// Every shipped example checks and gives 1000 × 289 paths the validator accepts.
#[test]
fn shipped_examples_check_and_answer_in_the_sn50_format() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/components");
    let mut n = 0;
    let prompts = inputs::dry_run_prompts().unwrap();
    let (hist, step, horizon) = &prompts[0];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rhai") {
            continue;
        }
        n += 1;
        let src = std::fs::read_to_string(&path).unwrap();
        let info = check(&src).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(info.answer, "description", "{}", path.display());
        let model = ScriptModel::new("example", src);
        let req = request(hist, *step, *horizon, 1000, 11);
        let paths = model
            .forecast(&req)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let out = sn50::format_paths(&paths, req.start_time, i64::from(*step)).unwrap();
        let json = serde_json::to_value(&out).unwrap();
        let expected = sn50::Expected {
            start_unix: req.start_time,
            time_increment: i64::from(*step),
            time_length: i64::from(*horizon),
            num_simulations: 1000,
        };
        sn50::validate_response(Some(&json), &expected, Some(1.0))
            .unwrap_or_else(|e| panic!("{}: sn50 rejects the paths: {e}", path.display()));
        // The spread is that of a market, not of a broken scale: 1-day log-return sd between
        // 0.3% and 20%.
        let ends: Vec<f64> = paths
            .paths()
            .map(|p| (p[p.len() - 1] / p[0]).ln())
            .collect();
        let m = ends.iter().sum::<f64>() / ends.len() as f64;
        let sd = (ends.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / ends.len() as f64).sqrt();
        assert!(
            (0.003..0.2).contains(&sd),
            "{}: 1-day sd {sd}",
            path.display()
        );
    }
    assert!(n >= 1, "no .rhai example in {}", dir.display());
}

/// `script:<name>` resolves where baseline names do, from a file or an installed script, and
/// what is recorded embeds the source: an experiment runs it and its settings replay it.
#[test]
fn scripts_run_where_baselines_do_and_record_their_source() {
    use crate::baselines::{baseline, baseline_from_settings, baseline_settings};
    use crate::data::DataPolicy;
    use crate::experiment::{prepare, run_trained, ExperimentConfig, ModelChoice};
    use crate::spec::Timeframe;
    use crate::trained::TrainedModel;

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t5.rhai");
    std::fs::write(&file, SIMPLE).unwrap();
    let by_file = format!("script:{}", file.display());
    assert!(baseline(&by_file).is_some());
    let s = baseline_settings(&by_file).unwrap();
    assert_eq!(s["source"], SIMPLE);
    // The file can go: the settings replay the model.
    std::fs::remove_file(&file).unwrap();
    assert!(baseline(&by_file).is_none());
    let m = baseline_from_settings(&by_file, &s).unwrap();
    assert_eq!(m.name(), by_file);
    // Unknown scripts say what to do.
    let e = resolve("script:nope").unwrap_err().to_string();
    assert!(e.contains("components add"), "{e}");
    assert!(resolve("garch_t").unwrap().is_none());

    // Installed (as the research layer does from the component store) and run by an experiment.
    install(ScriptModel::new("t5_test", SIMPLE)).unwrap();
    assert!(install(ScriptModel::new("broken_test", "loop {}")).is_err());
    let mut cfg = ExperimentConfig::new(
        "BTC",
        Timeframe::High1m,
        ModelChoice::Baseline("script:t5_test".into()),
    );
    cfg.folds = 1;
    cfg.eval.max_prompts = 3;
    cfg.eval.seed = 11;
    cfg.data = DataPolicy::SyntheticOnly;
    let data = prepare(&cfg).unwrap();
    let run = run_trained(&cfg, &data, &mut |_, _| {}).unwrap();
    assert_eq!(run.result.n_prompts, 3);
    let TrainedModel::Baseline { name, settings } = &run.model else {
        panic!("expected a baseline-like model, got {:?}", run.model);
    };
    assert_eq!(name, "script:t5_test");
    assert_eq!(settings["source"], SIMPLE);
    let sample = run.sample.expect("a held-out prompt");
    assert_eq!(
        (sample.paths.n_paths(), sample.paths.n_points()),
        (1000, 61)
    );
}
