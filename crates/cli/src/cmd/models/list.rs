//! `synth-city blocks | heads | presets`.

use std::process::ExitCode;

use models::presets::{PresetKind, PRESETS};
use models::registry::ComponentInfo;

use super::json_out;
use crate::CliResult;

/// Lists registry components, then the user components of that kind (marked `user`), as a
/// table or JSON.
pub fn components(
    items: Vec<&'static ComponentInfo>,
    user: Vec<research::StoredComponent>,
    what: &str,
    json: bool,
) -> CliResult {
    if json {
        let mut v: Vec<serde_json::Value> = items.iter().map(|c| c.to_json()).collect();
        v.extend(user.iter().map(|c| {
            serde_json::json!({"name": c.name, "kind": c.kind, "user": true, "owner": c.owner,
                "version": c.version, "hash": c.hash, "summary": c.description})
        }));
        json_out(&v)?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} {what}:", items.len() + user.len());
    for c in items {
        let params: Vec<&str> = c.params.iter().map(|p| p.name).collect();
        println!("  {:<14} {}", c.name, params.join(", "));
    }
    for c in &user {
        println!(
            "  {:<14} (user component v{} by {}) {}",
            c.name, c.version, c.owner, c.description
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Lists the presets.
pub fn presets(json: bool) -> CliResult {
    if json {
        json_out(&PRESETS)?;
        return Ok(ExitCode::SUCCESS);
    }
    for p in PRESETS {
        let what = match p.kind {
            PresetKind::Baseline { .. } => "baseline".to_string(),
            PresetKind::Neural { blocks, head } => format!("{} → {head}", blocks.join("+")),
        };
        println!("  {:<24} {:<22} {}", p.name, what, p.description);
    }
    Ok(ExitCode::SUCCESS)
}
