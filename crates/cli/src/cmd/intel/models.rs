//! `synth-city agents models`: the models Chutes serves, with the recommended ones marked.

use std::process::ExitCode;

use serde_json::json;
use services::chutes::{recommend, Chutes};

use super::{block_on, service_error};
use crate::CliResult;

/// Arguments of `synth-city agents models`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only models that list this feature (e.g. tools, reasoning).
    #[arg(long)]
    pub feature: Option<String>,
    /// Print the list as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn price(p: Option<f64>) -> String {
    p.map(|x| format!("{x:.2}")).unwrap_or_else(|| "-".into())
}

/// Lists the models.
pub fn run(a: Args) -> CliResult {
    let client = Chutes::from_env().map_err(service_error)?;
    let mut models = block_on(client.models())?.map_err(service_error)?;
    let rec = recommend(&models);
    if let Some(f) = &a.feature {
        models.retain(|m| m.has(f));
    }
    if a.json {
        let out = json!({"models": models, "recommended": rec});
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<48} {:>9} {:>8} {:>8}  features",
        "model", "context", "$/1M in", "$/1M out"
    );
    for m in &models {
        let mark = if rec.tools.as_deref() == Some(m.id.as_str()) {
            "  [recommended: tool use]"
        } else if rec.reasoning.as_deref() == Some(m.id.as_str()) {
            "  [recommended: reasoning]"
        } else {
            ""
        };
        let p = m.pricing.unwrap_or_default();
        println!(
            "{:<48} {:>9} {:>8} {:>8}  {}{mark}",
            m.id,
            m.context_length
                .map(|c| c.to_string())
                .unwrap_or_else(|| "-".into()),
            price(p.prompt),
            price(p.completion),
            m.supported_features.join(",")
        );
    }
    eprintln!(
        "{} models; use one with LLM_MODEL=<model> (the agents' default model)",
        models.len()
    );
    Ok(ExitCode::SUCCESS)
}
