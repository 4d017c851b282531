//! `synth-city openclaw install|check`: put the skill into an OpenClaw workspace with the
//! bridge settings, and verify that a bot could use it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bridge::client::{Client, DEFAULT_URL, KEY_ENV, URL_ENV};
use bridge::skill;
use clap::Subcommand;

use crate::{CliError, CliResult};

/// OpenClaw commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Copy the skill to <workspace>/skills/synth-city and write the bridge URL and key.
    Install {
        /// OpenClaw workspace (default ~/.openclaw/workspace).
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// Bridge URL the bot will call.
        #[arg(long, env = URL_ENV, default_value = DEFAULT_URL)]
        url: String,
        /// The bot's key (from `synth-city bridge create-key BOT`).
        #[arg(long, env = KEY_ENV, hide_env_values = true)]
        key: Option<String>,
    },
    /// Check that the installed skill is complete and its bot can reach the bridge.
    Check {
        /// OpenClaw workspace (default ~/.openclaw/workspace).
        #[arg(long)]
        workspace: Option<PathBuf>,
    },
}

/// Runs one OpenClaw command.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Install {
            workspace,
            url,
            key,
        } => {
            let ws = workspace.unwrap_or_else(skill::default_workspace);
            let files = skill::install(&ws, &url, key.as_deref()).map_err(|e| {
                CliError::runtime(format!("cannot install into {}: {e}", ws.display()))
            })?;
            for f in &files {
                println!("{}", f.display());
            }
            eprintln!(
                "installed skill {} for bridge {url}{}",
                skill::NAME,
                if key.is_some() {
                    ""
                } else {
                    " (no key: open mode only)"
                }
            );
            eprintln!(
                "run `synth-city openclaw check --workspace {}` to verify",
                ws.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check { workspace } => check(workspace.unwrap_or_else(skill::default_workspace)),
    }
}

fn check(ws: PathBuf) -> CliResult {
    let dir = skill::skill_dir(&ws);
    let mut ok = true;
    for (rel, content, _) in skill::FILES {
        match std::fs::read_to_string(dir.join(rel)) {
            Ok(c) if c == *content => println!("ok    {rel}"),
            Ok(_) => {
                println!("stale {rel} (differs from this synth-city version; run openclaw install)")
            }
            Err(_) => {
                println!("MISSING {rel}");
                ok = false;
            }
        }
    }
    let (url, key) = skill::read_settings(&ws).map_err(|e| {
        CliError::input(format!(
            "no settings in {}: {e}; run `synth-city openclaw install`",
            dir.display()
        ))
    })?;
    let url = url.unwrap_or_else(|| DEFAULT_URL.to_string());
    let client = Client::new(&url, key.clone(), Duration::from_secs(10))
        .map_err(|e| CliError::input(e.to_string()))?;
    match client.call("GET", "/health", None) {
        Ok(a) if a.ok() => println!(
            "ok    bridge {url} is up ({})",
            a.body["auth"].as_str().unwrap_or("?")
        ),
        Ok(a) => {
            println!("FAIL  bridge {url}/health answered HTTP {}", a.status);
            ok = false;
        }
        Err(e) => {
            println!("FAIL  {e}");
            return Ok(ExitCode::from(1));
        }
    }
    match client.call("GET", "/me", None) {
        Ok(a) if a.ok() => println!(
            "ok    key accepted: bot {}",
            a.body["bot_id"].as_str().unwrap_or("?")
        ),
        Ok(a) => {
            println!(
                "FAIL  key refused: HTTP {} {}",
                a.status,
                a.body["error"]["message"].as_str().unwrap_or("")
            );
            ok = false;
        }
        Err(e) => {
            println!("FAIL  {e}");
            ok = false;
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
