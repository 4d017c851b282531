//! `synth-city score`: CRPS and prompt scores of prediction files, as a validator computes them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use sn50::{CrpsError, MinerCrps};

use crate::{CliError, CliResult};

/// Arguments of `score`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Prediction file (repeatable): a JSON array of paths, an SN50 `simulation_output`, or a
    /// response object holding one.
    #[arg(long, required = true)]
    prediction: Vec<PathBuf>,
    /// Realised prices: a JSON array of numbers, `null` where a price is missing.
    #[arg(long)]
    real: PathBuf,
    /// Seconds between points (300 LOW, 60 HIGH).
    #[arg(long)]
    time_increment: i64,
    /// Which competition's scoring intervals to use.
    #[arg(long, value_enum)]
    prompt: super::Prompt,
    /// Print JSON: `{"total", "intervals"}` for one prediction; with several,
    /// `{"miners": [{"file", "total", "intervals", "prompt_score"}…], "percentile90", "lowest"}`.
    #[arg(long)]
    json: bool,
}

/// One scored miner: the CRPS breakdown, or why it scores -1.
type Scored = Result<MinerCrps, CrpsError>;

/// The score as the validator records it: the total, or -1 for an error or a NaN total.
fn total(s: &Scored) -> f64 {
    match s {
        Ok(c) if !c.total.is_nan() => c.total,
        _ => -1.0,
    }
}

/// Interval totals as an ordered JSON object (validator order), empty when the miner scores -1.
struct Intervals<'a>(&'a Scored);

impl Serialize for Intervals<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ivs = match self.0 {
            Ok(c) if !c.total.is_nan() => c.intervals.as_slice(),
            _ => &[],
        };
        let mut m = s.serialize_map(Some(ivs.len()))?;
        for iv in ivs {
            m.serialize_entry(iv.name, &iv.total)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct One<'a> {
    total: f64,
    intervals: Intervals<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Miner<'a> {
    file: String,
    total: f64,
    intervals: Intervals<'a>,
    prompt_score: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct Many<'a> {
    miners: Vec<Miner<'a>>,
    percentile90: Option<f64>,
    lowest: Option<f64>,
}

fn error_of(s: &Scored) -> Option<String> {
    match s {
        Err(e) => Some(e.to_string()),
        Ok(c) if c.total.is_nan() => Some("CRPS total is NaN".into()),
        Ok(_) => None,
    }
}

pub fn run(a: Args) -> CliResult {
    if a.time_increment <= 0 {
        return Err(CliError::input(
            "--time-increment must be a positive number of seconds",
        ));
    }
    let real_bytes = super::read_file(&a.real)?;
    let real = sn50::io::parse_real(&real_bytes).map_err(|e| {
        CliError::input(format!(
            "{}: expected a JSON array of prices or null: {e}",
            a.real.display()
        ))
    })?;
    if real.is_empty() {
        return Err(CliError::input(format!(
            "{}: no real prices",
            a.real.display()
        )));
    }
    let intervals = a.prompt.config().scoring_intervals;
    let scored = score_all(&a.prediction, &real, a.time_increment, intervals)?;
    if let [one] = scored.as_slice() {
        print_one(one, a.json)
    } else {
        print_many(&a.prediction, &scored, a.json)
    }
}

/// Reads, parses and scores every file, several at a time; the first bad file is the error.
fn score_all(
    files: &[PathBuf],
    real: &[f64],
    inc: i64,
    intervals: &[sn50::ScoringInterval],
) -> Result<Vec<Scored>, CliError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Scored, CliError>>>> =
        Mutex::new((0..files.len()).map(|_| None).collect());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len());
    let work = || loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(file) = files.get(i) else { break };
        let r = score_file(file, real, inc, intervals);
        if let Ok(mut g) = results.lock() {
            g[i] = Some(r);
        }
    };
    std::thread::scope(|s| {
        for _ in 1..workers {
            s.spawn(work);
        }
        work();
    });
    let results = results
        .into_inner()
        .map_err(|_| CliError::runtime("a scoring thread panicked"))?;
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(CliError::runtime("a scoring thread panicked"))))
        .collect()
}

fn score_file(
    file: &Path,
    real: &[f64],
    inc: i64,
    intervals: &[sn50::ScoringInterval],
) -> Result<Scored, CliError> {
    let bytes = super::read_file(file)?;
    let paths = sn50::io::parse_prediction(&bytes)
        .map_err(|e| CliError::input(format!("{}: {e}", super::shown(file))))?;
    if paths.n_paths() == 0 {
        return Err(CliError::input(format!("{}: no paths", super::shown(file))));
    }
    if paths.n_points() != real.len() {
        return Err(CliError::input(format!(
            "{}: paths have {} points but the real prices have {}",
            super::shown(file),
            paths.n_points(),
            real.len()
        )));
    }
    Ok(sn50::crps_for_miner(&paths, real, inc, intervals))
}

fn json_line<T: Serialize>(v: &T) -> Result<(), CliError> {
    let s = serde_json::to_string(v).map_err(|e| CliError::runtime(e.to_string()))?;
    println!("{s}");
    Ok(())
}

fn print_one(s: &Scored, json: bool) -> CliResult {
    if json {
        json_line(&One {
            total: total(s),
            intervals: Intervals(s),
            error: error_of(s),
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("total  {}", total(s));
    match s {
        Ok(c) if !c.total.is_nan() => {
            for iv in &c.intervals {
                println!(
                    "  {:<14}{}  ({} points)",
                    iv.name,
                    iv.total,
                    iv.points.len()
                );
            }
        }
        _ => println!("  scores -1: {}", error_of(s).unwrap_or_default()),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_many(files: &[PathBuf], scored: &[Scored], json: bool) -> CliResult {
    let totals: Vec<f64> = scored.iter().map(total).collect();
    let prompt = sn50::compute_prompt_scores(&totals);
    let prompt_score = |i: usize| prompt.as_ref().map(|p| p.scores[i]);
    if json {
        let miners = files
            .iter()
            .zip(scored)
            .enumerate()
            .map(|(i, (f, s))| Miner {
                file: super::shown(f),
                total: totals[i],
                intervals: Intervals(s),
                prompt_score: prompt_score(i),
                error: error_of(s),
            })
            .collect();
        let (percentile90, lowest) = match &prompt {
            Some(p) => (Some(p.percentile90), Some(p.lowest)),
            None => (None, None),
        };
        json_line(&Many {
            miners,
            percentile90,
            lowest,
        })?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<24} {:>24} {:>24}", "prompt_score", "crps_total", "file");
    for (i, f) in files.iter().enumerate() {
        let ps = prompt_score(i).map_or("-".to_string(), |v| v.to_string());
        println!("{ps:<24} {:>24} {:>24}", totals[i], super::shown(f));
    }
    match prompt {
        Some(p) => println!("percentile90 {}  lowest {}", p.percentile90, p.lowest),
        None => println!("every miner is invalid: the validator leaves this prompt unscored"),
    }
    Ok(ExitCode::SUCCESS)
}
