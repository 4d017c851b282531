//! `synth-city sn50 config`: the prompt configs as text or JSON.

use std::process::ExitCode;

use serde::Serialize;

use crate::{CliError, CliResult};

/// Arguments of `sn50 config`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only this prompt (default: both).
    #[arg(long, value_enum)]
    prompt: Option<super::Prompt>,
    /// Print JSON (`{"low": {…}, "high": {…}}`, with `asset_coefficients`).
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Out<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    low: Option<&'a sn50::PromptConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high: Option<&'a sn50::PromptConfig>,
    asset_coefficients: Coefs,
}

/// The coefficient table as an ordered JSON object.
struct Coefs;

impl Serialize for Coefs {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(sn50::config::ASSET_COEFFICIENTS.len()))?;
        for (a, c) in sn50::config::ASSET_COEFFICIENTS {
            m.serialize_entry(a, c)?;
        }
        m.end()
    }
}

pub fn run(a: Args) -> CliResult {
    let pick = |p| a.prompt.is_none() || a.prompt == Some(p);
    let low = pick(super::Prompt::Low).then_some(&sn50::LOW);
    let high = pick(super::Prompt::High).then_some(&sn50::HIGH);
    if a.json {
        let out = Out {
            low,
            high,
            asset_coefficients: Coefs,
        };
        let s = serde_json::to_string_pretty(&out).map_err(|e| CliError::runtime(e.to_string()))?;
        println!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    for c in low.into_iter().chain(high) {
        print_config(c);
    }
    println!("asset coefficients (1.0 for any other asset):");
    for (asset, c) in sn50::config::ASSET_COEFFICIENTS {
        println!("  {asset:<8}{c}");
    }
    Ok(ExitCode::SUCCESS)
}

fn print_config(c: &sn50::PromptConfig) {
    println!("[{}]", c.label);
    println!("  asset_list                  {}", c.asset_list.join(","));
    println!("  time_length                 {} s", c.time_length);
    println!("  time_increment              {} s", c.time_increment);
    println!("  points per path             {}", c.points());
    println!("  num_simulations             {}", c.num_simulations);
    println!("  initial_delay               {} s", c.initial_delay);
    println!("  cycle_interval_minutes      {}", c.cycle_interval_minutes);
    println!("  timeout_extra_seconds       {}", c.timeout_extra_seconds);
    let ivs: Vec<String> = c
        .scoring_intervals
        .iter()
        .map(|i| format!("{}={}", i.name, i.seconds))
        .collect();
    println!("  scoring_intervals           {}", ivs.join(","));
    println!("  window_days                 {}", c.window_days);
    println!("  softmax_beta                {}", c.softmax_beta);
    println!(
        "  smoothed_score_coefficient  {}",
        c.smoothed_score_coefficient
    );
    println!("  data_retention_days         {}", c.data_retention_days);
    println!("  thin_after_minutes          {}", c.thin_after_minutes);
    println!("  thin_bucket_seconds         {}", c.thin_bucket_seconds);
}
