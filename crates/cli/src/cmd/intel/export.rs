//! `synth-city agents export-dataset`: the transcripts of the pipeline's successful runs
//! (plans that led to promoted champions, the checker's and debugger's passing fixes) as a JSONL
//! chat training set, for `gradients upload` and `gradients submit`.

use std::path::PathBuf;
use std::process::ExitCode;

use agents::export::{records_of_loop, to_jsonl, ExportOptions, EXPORTED_AGENTS};
use research::Archive;

use crate::{CliError, CliResult};

/// Arguments of `agents export-dataset`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the JSONL set (written atomically).
    #[arg(long, short, default_value = "synth-city-train.jsonl")]
    pub out: PathBuf,
    /// Agents to export, comma-separated (planner, codechecker, debugger).
    #[arg(long, default_value = "planner,codechecker,debugger")]
    pub agents: String,
    /// Also export plans of successful loops that did not promote a champion.
    #[arg(long)]
    pub all_plans: bool,
    /// Most saved loops read, newest first.
    #[arg(long, default_value_t = 10_000)]
    pub max_loops: usize,
    /// Longest message kept, in characters.
    #[arg(long, default_value_t = 8000)]
    pub max_chars: usize,
    /// Print a JSON summary on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Writes the training set.
pub fn run(a: Args) -> CliResult {
    let agents: Vec<String> = a
        .agents
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    if let Some(bad) = agents
        .iter()
        .find(|x| !EXPORTED_AGENTS.contains(&x.as_str()))
    {
        return Err(CliError::input(format!(
            "--agents: {bad:?} is not one of {}",
            EXPORTED_AGENTS.join(", ")
        )));
    }
    if agents.is_empty() || a.max_chars < 100 {
        return Err(CliError::input("name an agent; --max-chars at least 100"));
    }
    let opts = ExportOptions {
        agents,
        max_chars: a.max_chars,
        planner_needs_promotion: !a.all_plans,
    };
    let archive = Archive::open(&market::home::data_dir(), None)
        .map_err(|e| CliError::runtime(e.to_string()))?;
    let loops = agents::saved::list(&archive, a.max_loops);
    let mut records = Vec::new();
    let mut sources = Vec::new();
    for l in &loops {
        let Ok(bytes) = archive.local.read(&l.key) else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            continue;
        };
        for (r, s) in records_of_loop(&v, &opts) {
            records.push(r);
            sources.push(s);
        }
    }
    if records.is_empty() {
        return Err(CliError {
            code: 1,
            message: format!(
                "no successful transcripts among {} saved pipeline loops: run `synth-city agents pipeline` \
                 with an LLM until a champion is promoted (the built-in planner leaves no transcripts)",
                loops.len()
            ),
        });
    }
    let text = to_jsonl(&records);
    market::atomic::write_atomic(&a.out, text.as_bytes())
        .map_err(|e| CliError::runtime(format!("writing {}: {e}", a.out.display())))?;
    let by = |agent: &str| sources.iter().filter(|s| s.agent == agent).count();
    if a.json {
        println!(
            "{}",
            serde_json::json!({"file": a.out, "records": records.len(), "loops": loops.len(),
                               "sources": sources})
        );
    } else {
        println!(
            "{} records ({} planner, {} codechecker, {} debugger) from {} saved loops → {}",
            records.len(),
            by("planner"),
            by("codechecker"),
            by("debugger"),
            loops.len(),
            a.out.display()
        );
        println!(
            "next: synth-city gradients upload {} --repo <you>/<name>",
            a.out.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
