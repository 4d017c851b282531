//! `synth-city validate`: the validator's response check on a file.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::{CliError, CliResult};

/// Arguments of `validate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Response file: a `simulation_output` array, or an object holding one (a whole response).
    #[arg(long)]
    prediction: PathBuf,
    /// The prompt's start time, ISO-8601 (e.g. 2026-05-14T14:07:00+00:00; naive means UTC).
    #[arg(long)]
    start_time: String,
    /// Seconds between points (300 LOW, 60 HIGH).
    #[arg(long)]
    time_increment: i64,
    /// Horizon in seconds (86400 LOW, 3600 HIGH).
    #[arg(long)]
    time_length: i64,
    /// Paths asked for.
    #[arg(long, default_value_t = 1000)]
    num_simulations: usize,
}

pub fn run(a: Args) -> CliResult {
    let start_unix = sn50::parse_iso_unix(&a.start_time)
        .map_err(|e| CliError::input(format!("--start-time: {e}")))?;
    let bytes = super::read_file(&a.prediction)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        CliError::input(format!(
            "{}: not valid JSON: {e}",
            super::shown(&a.prediction)
        ))
    })?;
    // A whole response object: the validator keeps only its `simulation_output`.
    let output = match &value {
        serde_json::Value::Object(m) if m.contains_key("simulation_output") => {
            &m["simulation_output"]
        }
        v => v,
    };
    let expected = sn50::Expected {
        start_unix,
        time_increment: a.time_increment,
        time_length: a.time_length,
        num_simulations: a.num_simulations,
    };
    match sn50::validate_response(Some(output), &expected, Some(0.0)) {
        Ok(()) => {
            println!("{}", sn50::CORRECT);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("{e}");
            Ok(ExitCode::from(1))
        }
    }
}
