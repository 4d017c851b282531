//! `synth-city openclaw install --chutes`: the Chutes model provider in OpenClaw's config (the
//! served models when Chutes answers, else the recommended defaults), checked by OpenClaw's own
//! `openclaw config validate` when the CLI is installed.

use std::process::Command;

use bridge::skill::{self, OpenClawPaths};
use services::chutes::{openclaw_provider, Chutes, KEY_ENV, PROVIDER_ID};

use super::block_on;
use crate::CliError;

/// Writes the provider entry into the config at `paths` and validates it with OpenClaw.
pub fn install(paths: &OpenClawPaths) -> Result<(), CliError> {
    let served = match Chutes::from_env() {
        Ok(c) => match block_on(c.models())? {
            Ok(m) => m,
            Err(e) => {
                eprintln!("warning: {e}; writing the recommended models without live metadata");
                Vec::new()
            }
        },
        Err(e) => return Err(CliError::input(e.to_string())),
    };
    let base = services::env::base_url(services::chutes::URL_ENV, services::chutes::DEFAULT_URL);
    let entry = openclaw_provider(&served, Some(&base));
    let done = skill::install_provider(
        paths,
        PROVIDER_ID,
        entry.provider.clone(),
        &entry.aliases,
        entry.primary.as_deref(),
    )
    .map_err(|e| CliError::runtime(format!("cannot write the Chutes provider: {e}")))?;
    eprintln!(
        "OpenClaw config {}: models.providers.{PROVIDER_ID} (base {base}, key from the {KEY_ENV} \
         variable, never stored), models: {}{}",
        done.config.display(),
        [
            entry.recommended.tools.as_deref(),
            entry.recommended.reasoning.as_deref()
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", "),
        if done.set_primary {
            "; default model set"
        } else {
            "; your default model is kept"
        }
    );
    if std::env::var(KEY_ENV).map_or(true, |v| v.trim().is_empty()) {
        eprintln!("note: set {KEY_ENV} in the gateway's environment so OpenClaw can call Chutes");
    }
    let Some(bin) = skill::find_openclaw() else {
        eprintln!("openclaw CLI not found: the config was not validated by OpenClaw");
        return Ok(());
    };
    let out = Command::new(&bin)
        .args(["config", "validate", "--json"])
        .env("OPENCLAW_CONFIG_PATH", &paths.config)
        .output()
        .map_err(|e| CliError::runtime(format!("running openclaw: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let valid = serde_json::from_str::<serde_json::Value>(text.trim())
        .ok()
        .and_then(|v| v["valid"].as_bool())
        .unwrap_or(false);
    if out.status.success() && valid {
        eprintln!("ok    openclaw config validate: valid");
        Ok(())
    } else {
        Err(CliError::runtime(format!(
            "openclaw config validate refused the config: {}",
            text.chars().take(2000).collect::<String>()
        )))
    }
}
