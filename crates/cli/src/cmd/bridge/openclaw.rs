//! `synth-city openclaw install|check`: put the skill into an OpenClaw workspace and its entry
//! (bridge URL, bot key) into OpenClaw's config, and verify that OpenClaw counts it as ready and
//! that its bot can reach the bridge.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use bridge::client::{Client, DEFAULT_URL, KEY_ENV, URL_ENV};
use bridge::skill::{self, OpenClawPaths};
use clap::Subcommand;

use crate::{CliError, CliResult};

/// OpenClaw commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Copy the skill to <workspace>/skills/synth-city and set its entry (bridge URL and key)
    /// in OpenClaw's config, `skills.entries.synth-city`.
    Install {
        /// OpenClaw workspace (default: the one OpenClaw uses for its default agent,
        /// ~/.openclaw/workspace unless OPENCLAW_* variables or its config say otherwise).
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// OpenClaw config file (default: OpenClaw's own, ~/.openclaw/openclaw.json, or
        /// OPENCLAW_CONFIG_PATH / OPENCLAW_STATE_DIR).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Bridge URL the bot will call.
        #[arg(long, env = URL_ENV, default_value = DEFAULT_URL)]
        url: String,
        /// The bot's key (from `synth-city bridge create-key BOT`).
        #[arg(long, env = KEY_ENV, hide_env_values = true)]
        key: Option<String>,
        /// Also write the Chutes (SN64) model provider into OpenClaw's config: the
        /// OpenAI-compatible base URL, the recommended models for tool use and reasoning, the key
        /// as a reference to CHUTES_API_KEY (never its value); validated by `openclaw config
        /// validate` when the openclaw CLI is installed.
        #[arg(long)]
        chutes: bool,
    },
    /// Check the skill's files and config entry, ask OpenClaw whether the skill is ready
    /// (`openclaw skills check --json`, when the openclaw CLI is installed), and check that its
    /// key works on the bridge.
    Check {
        /// OpenClaw workspace (default: as for install).
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// OpenClaw config file (default: as for install).
        #[arg(long)]
        config: Option<PathBuf>,
        /// OpenClaw agent whose view to check (default: OpenClaw's default agent).
        #[arg(long)]
        agent: Option<String>,
    },
    /// Package the skill as the `clawhub` CLI does and publish it on ClawHub (CLAWHUB_TOKEN;
    /// CLAWHUB_URL for another registry), refusing a version not above the published one.
    Publish(crate::cmd::publish::ClawHubArgs),
    /// The agent's state on Hippius S3: push, pull, history, restore VERSION, watch --every.
    /// Versioned and content-addressed; secrets never leave the machine.
    State {
        #[command(subcommand)]
        cmd: super::openclaw_state::Cmd,
    },
    /// Run the agent image on Basilica: deploy basilica, status, logs, stop.
    Deploy {
        #[command(subcommand)]
        cmd: super::openclaw_deploy::Cmd,
    },
}

/// OpenClaw's locations, with `--config` taking the place of its config file.
fn paths(config: Option<&Path>) -> Result<OpenClawPaths, CliError> {
    let mut p = OpenClawPaths::from_env()
        .ok_or_else(|| CliError::input("no home directory: set HOME or OPENCLAW_HOME"))?;
    if let Some(c) = config {
        p.config = c.to_path_buf();
    }
    Ok(p)
}

/// Runs one OpenClaw command.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Publish(a) => crate::cmd::publish::openclaw_publish(a),
        Cmd::State { cmd } => super::openclaw_state::run(cmd),
        Cmd::Deploy { cmd } => super::openclaw_deploy::run(cmd),
        Cmd::Install {
            workspace,
            config,
            url,
            key,
            chutes,
        } => {
            let p = paths(config.as_deref())?;
            let done = skill::install(&p, workspace.as_deref(), &url, key.as_deref()).map_err(
                |e| match e {
                    skill::SkillError::InvalidSetting(m) => CliError::input(m),
                    e => CliError::runtime(format!("cannot install the skill: {e}")),
                },
            )?;
            for f in &done.files {
                println!("{}", f.display());
            }
            println!("{}", done.config.display());
            eprintln!(
                "installed skill {} into {} for bridge {url}",
                skill::NAME,
                done.workspace.display()
            );
            eprintln!(
                "OpenClaw config {}: skills.entries.{}{}{}",
                done.config.display(),
                skill::NAME,
                if key.is_some() {
                    ".apiKey (the bot's key) and .env.SYNTH_BRIDGE_URL set"
                } else {
                    ".env.SYNTH_BRIDGE_URL set; no key given, so OpenClaw lists the skill as \
                     needing SYNTH_BRIDGE_KEY until you rerun with --key"
                },
                if done.via_openclaw {
                    " (through `openclaw config set`)"
                } else {
                    ""
                }
            );
            eprintln!(
                "run `synth-city openclaw check` to verify; a running OpenClaw picks the skill up \
                 on the next agent turn"
            );
            if chutes {
                crate::cmd::intel::openclaw_chutes::install(&p)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check {
            workspace,
            config,
            agent,
        } => {
            let p = paths(config.as_deref())?;
            let ws = workspace.unwrap_or_else(|| skill::default_workspace(&p));
            check(&p, ws, agent.as_deref(), config.as_deref())
        }
    }
}

fn check(p: &OpenClawPaths, ws: PathBuf, agent: Option<&str>, config: Option<&Path>) -> CliResult {
    let dir = skill::skill_dir(&ws);
    let mut ok = true;
    for (rel, content, _) in skill::FILES {
        match std::fs::read_to_string(dir.join(rel)) {
            Ok(c) if c == *content => println!("ok    {rel}"),
            Ok(_) => {
                println!("stale {rel} (differs from this synth-city version; run openclaw install)")
            }
            Err(_) => {
                println!("MISSING {}", dir.join(rel).display());
                ok = false;
            }
        }
    }
    match skill::config_entry_state(p) {
        Ok((true, false)) => println!(
            "ok    {}: skills.entries.{} has a key",
            p.config.display(),
            skill::NAME
        ),
        Ok((has_key, disabled)) => {
            println!(
                "FAIL  {}: skills.entries.{} {}; run `synth-city openclaw install --key sck_...`",
                p.config.display(),
                skill::NAME,
                if disabled {
                    "is disabled"
                } else {
                    "has no key"
                }
            );
            ok &= has_key && !disabled;
        }
        Err(e) => println!("WARN  {e}"),
    }
    ok &= openclaw_view(agent, config);
    let (url, key) = skill::read_settings(p, &ws).unwrap_or((None, None));
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

/// Asks OpenClaw itself (`openclaw skills check --json`); false when it says not ready. Without
/// the CLI (or when it cannot run) says so and leaves the verdict to the file checks.
fn openclaw_view(agent: Option<&str>, config: Option<&Path>) -> bool {
    let Some(bin) = skill::find_openclaw() else {
        println!(
            "note  openclaw CLI not found (PATH or {}): checked files only, not OpenClaw's own view",
            skill::BIN_ENV
        );
        return true;
    };
    match skill::skills_check(&bin, agent, config) {
        Ok(r) if r.ready => {
            println!(
                "ok    OpenClaw (`openclaw skills check`): {} is ready",
                skill::NAME
            );
            true
        }
        Ok(r) if !r.found => {
            println!(
                "FAIL  OpenClaw does not see skill {} (its workspace: {}); install into that \
                 workspace",
                skill::NAME,
                r.workspace.as_deref().unwrap_or("?")
            );
            false
        }
        Ok(r) => {
            println!(
                "FAIL  OpenClaw (`openclaw skills check`): {} is not ready: {}",
                skill::NAME,
                r.problems.join(", ")
            );
            false
        }
        Err(e) => {
            println!("WARN  {e}; falling back to file checks only");
            true
        }
    }
}
