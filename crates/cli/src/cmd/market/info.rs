//! `data info`: what the cache holds.

use std::process::ExitCode;

use market::cache::resolution_label;
use market::timeparse::format_utc;
use market::{Cache, Provenance};

use crate::{CliError, CliResult};

/// `synth-city data info [--json]`
pub fn run(json: bool) -> CliResult {
    let cache = Cache::open_default();
    let entries = cache.info().map_err(|e| CliError::runtime(e.to_string()))?;
    // The social data (Data Universe Parquet files) after the price cache.
    let social = services::data_universe::SocialStore::open_default();
    if json {
        let v = serde_json::json!({
            "cache_dir": cache.dir(),
            "cache": entries,
            "social_dir": social.dir(),
            "social": crate::cmd::intel::social::file_rows(&social)?,
        });
        let text = serde_json::to_string_pretty(&v)
            .map_err(|e| CliError::runtime(format!("JSON: {e}")))?;
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    }
    if entries.is_empty() {
        println!("cache {} is empty", cache.dir().display());
        crate::cmd::intel::social::print_files(&social)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("cache {}", cache.dir().display());
    println!(
        "{:<8} {:>4} {:<9} {:<16} {:<16} {:>9} {:>5} {:>10}",
        "asset", "res", "kind", "first (UTC)", "last (UTC)", "rows", "gaps", "size"
    );
    for e in entries {
        let kind = match e.provenance {
            Provenance::Real => "real",
            Provenance::Synthetic => "SYNTHETIC",
        };
        let t = |x: Option<i64>| x.map(format_utc).unwrap_or_else(|| "-".into());
        println!(
            "{:<8} {:>4} {:<9} {:<16} {:<16} {:>9} {:>5} {:>10}",
            e.asset,
            resolution_label(e.resolution_secs),
            kind,
            t(e.first),
            t(e.last),
            e.rows,
            e.gaps.gaps,
            human_bytes(e.bytes)
        );
    }
    crate::cmd::intel::social::print_files(&social)?;
    Ok(ExitCode::SUCCESS)
}

fn human_bytes(b: u64) -> String {
    match b {
        0..=1023 => format!("{b} B"),
        1024..=1_048_575 => format!("{:.1} KiB", b as f64 / 1024.0),
        _ => format!("{:.1} MiB", b as f64 / 1_048_576.0),
    }
}
