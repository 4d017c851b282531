//! The work of `synth-city score --json` for a multi-miner prompt, built from the `sn50` crate
//! alone, so the scorer's whole-process speed can be measured without building the workspace.
//! Reads, parses and scores the files on `--threads` threads (default: every core the process
//! may use, as the CLI does), then prints the same JSON as the CLI, for `benches/sn50/compare.py`.
//!
//! ```sh
//! cargo build -p sn50 --profile ci --example score_prompt
//! score_prompt [score] --prediction F… --real F --time-increment 300 --prompt low [--threads N]
//! ```

use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Map, Value};
use sn50::{compute_prompt_scores, crps_for_miner, CrpsError, MinerCrps, HIGH, LOW};

struct Args {
    predictions: Vec<String>,
    real: String,
    time_increment: i64,
    high: bool,
    threads: Option<usize>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        predictions: Vec::new(),
        real: String::new(),
        time_increment: 0,
        high: false,
        threads: None,
    };
    let mut it = std::env::args().skip(1).peekable();
    if it.peek().map(String::as_str) == Some("score") {
        it.next();
    }
    while let Some(flag) = it.next() {
        if flag == "--json" {
            continue;
        }
        let v = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--prediction" => a.predictions.push(v),
            "--real" => a.real = v,
            "--time-increment" => a.time_increment = v.parse().map_err(|e| format!("{v}: {e}"))?,
            "--prompt" => a.high = v == "high",
            "--threads" => a.threads = Some(v.parse().map_err(|e| format!("{v}: {e}"))?),
            _ => return Err(format!("unknown argument {flag}")),
        }
    }
    if a.predictions.is_empty() || a.real.is_empty() || a.time_increment <= 0 {
        return Err("need --prediction, --real and a positive --time-increment".into());
    }
    Ok(a)
}

type Scored = Result<MinerCrps, CrpsError>;

fn score_file(file: &str, real: &[f64], a: &Args) -> Result<Scored, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    let paths = sn50::io::parse_prediction(&bytes).map_err(|e| format!("{file}: {e}"))?;
    if paths.n_points() != real.len() || paths.n_paths() == 0 {
        return Err(format!("{file}: shape does not match the real prices"));
    }
    let cfg = if a.high { &HIGH } else { &LOW };
    Ok(crps_for_miner(
        &paths,
        real,
        a.time_increment,
        cfg.scoring_intervals,
    ))
}

fn run() -> Result<(), String> {
    let a = parse_args()?;
    let real_bytes = std::fs::read(&a.real).map_err(|e| format!("{}: {e}", a.real))?;
    let real = sn50::io::parse_real(&real_bytes).map_err(|e| format!("{}: {e}", a.real))?;
    let workers = a
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, a.predictions.len());
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Scored, String>>>> =
        Mutex::new(a.predictions.iter().map(|_| None).collect());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(file) = a.predictions.get(i) else {
            break;
        };
        let r = score_file(file, &real, &a);
        results.lock().expect("no worker panics")[i] = Some(r);
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    let scored = results
        .into_inner()
        .map_err(|_| "a worker panicked")?
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("a worker panicked".into())))
        .collect::<Result<Vec<Scored>, String>>()?;
    let totals: Vec<f64> = scored
        .iter()
        .map(|s| match s {
            Ok(c) if !c.total.is_nan() => c.total,
            _ => -1.0,
        })
        .collect();
    let prompt = compute_prompt_scores(&totals);
    let miners: Vec<Value> = scored
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut ivs = Map::new();
            if let Some(c) = s.as_ref().ok().filter(|c| !c.total.is_nan()) {
                for iv in &c.intervals {
                    ivs.insert(iv.name.to_string(), json!(iv.total));
                }
            }
            json!({
                "file": a.predictions[i],
                "total": totals[i],
                "intervals": ivs,
                "prompt_score": prompt.as_ref().map(|p| p.scores[i]),
            })
        })
        .collect();
    let out = json!({
        "miners": miners,
        "percentile90": prompt.as_ref().map(|p| p.percentile90),
        "lowest": prompt.as_ref().map(|p| p.lowest),
    });
    println!("{out}");
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}
