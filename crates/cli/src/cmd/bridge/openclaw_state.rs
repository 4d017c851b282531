//! `synth-city openclaw state push|pull|history|restore|watch`: an OpenClaw agent's workspace
//! (memory, skills, notes) and config (without secrets) as versioned snapshots on Hippius S3.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bridge::openclaw_state::{self, Target};
use bridge::skill::{self, OpenClawPaths};
use clap::{Args, Subcommand};
use research::store::block_on;
use research::store::snapshot::Snapshots;

use crate::{CliError, CliResult};

/// Where the state lives here and on the remote.
#[derive(Args, Debug, Clone)]
pub struct Where {
    /// OpenClaw workspace (default: the default agent's, as OpenClaw resolves it).
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// OpenClaw config file (default: OpenClaw's own, ~/.openclaw/openclaw.json).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Leave the config out (workspace only).
    #[arg(long)]
    no_config: bool,
    /// Agent name: its snapshots live under openclaw/<agent> in the bucket.
    #[arg(long, env = "OPENCLAW_STATE_AGENT", default_value = "main")]
    agent: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// State commands.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Upload the workspace and config (secrets stripped) as a new version; nothing is
    /// written when nothing changed. Blobs go first, the version's manifest last.
    Push(Where),
    /// Restore the latest version (same as `restore latest`).
    Pull(Where),
    /// List every version with its time and hash.
    History(Where),
    /// Restore a version: `latest`, its id, or a unique prefix of its id or hash. Everything
    /// is downloaded and checked first, then the workspace is swapped in whole; local-only
    /// files (.env, keys, .git, node_modules) are kept, and so are the local config's secrets.
    Restore {
        /// The version.
        #[arg(id = "state_version", value_name = "VERSION")]
        version: String,
        #[command(flatten)]
        at: Where,
    },
    /// Push now and then every --every, until stopped (for running as a service; each push
    /// is all-or-nothing, so stopping the process at any moment loses nothing already pushed).
    Watch {
        /// Interval: seconds, or a number with s, m or h (e.g. 15m).
        #[arg(long, default_value = "15m", value_parser = parse_interval)]
        every: Duration,
        #[command(flatten)]
        at: Where,
    },
}

/// Parses `90`, `90s`, `15m`, `2h` (at least 10 s, at most a day).
fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: a number with s, m or h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        _ => return Err(format!("{s:?}: unit must be s, m or h")),
    };
    if !(10..=86_400).contains(&secs) {
        return Err("the interval must be between 10 s and 24 h".into());
    }
    Ok(Duration::from_secs(secs))
}

fn target(w: &Where) -> Result<Target, CliError> {
    let paths = OpenClawPaths::from_env()
        .ok_or_else(|| CliError::input("no home directory: set HOME or OPENCLAW_HOME"))?;
    let config = w.config.clone().unwrap_or_else(|| paths.config.clone());
    let workspace = w
        .workspace
        .clone()
        .unwrap_or_else(|| skill::default_workspace(&paths));
    Ok(Target {
        workspace,
        config: (!w.no_config).then_some(config),
    })
}

fn snapshots(w: &Where) -> Result<Snapshots, CliError> {
    let cfg = research::RemoteConfig::from_env().ok_or_else(|| {
        CliError::input(
            "Hippius is not configured: set HIPPIUS_ACCESS_KEY and HIPPIUS_SECRET_KEY \
             (and HIPPIUS_BUCKET, default synth-city)",
        )
    })?;
    let remote = research::Remote::s3(&cfg).map_err(|e| CliError::runtime(e.to_string()))?;
    let space = openclaw_state::space_for(&w.agent).map_err(|e| CliError::input(e.to_string()))?;
    Snapshots::new(remote, &space).map_err(|e| CliError::input(e.to_string()))
}

fn fail(e: research::ResearchError) -> CliError {
    match e.kind {
        research::ErrorKind::InvalidConfig | research::ErrorKind::NotFound => {
            CliError::input(e.to_string())
        }
        _ => CliError::runtime(e.to_string()),
    }
}

fn run_blocking<T: Send>(
    fut: impl std::future::Future<Output = research::Result<T>> + Send,
) -> Result<T, CliError> {
    block_on(fut).map_err(fail)?.map_err(fail)
}

fn print_json(v: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

fn push_once(snaps: &Snapshots, t: &Target, json: bool) -> Result<(), CliError> {
    let out = run_blocking(openclaw_state::push_now(snaps, t))?;
    if json {
        print_json(&out);
        return Ok(());
    }
    let v = &out.report.version;
    if out.report.created {
        println!(
            "pushed {} ({} files, {} blobs uploaded, {} reused, {} bytes)",
            v.version,
            out.report.files,
            out.report.blobs_uploaded,
            out.report.blobs_reused,
            out.report.bytes_uploaded
        );
    } else {
        println!("unchanged since {}", v.version);
    }
    if !out.config_stripped.is_empty() {
        println!("config: {} secret(s) stripped", out.config_stripped.len());
    }
    if let Some(n) = &out.config_note {
        println!("config: {n}");
    }
    for s in &out.skipped {
        println!("kept local  {} ({})", s.path, s.why);
    }
    Ok(())
}

fn restore(w: &Where, version: &str) -> CliResult {
    let t = target(w)?;
    let snaps = snapshots(w)?;
    let out = run_blocking(openclaw_state::restore(&snaps, &t, version))?;
    if w.json {
        print_json(&out);
    } else {
        println!(
            "restored {} into {} ({} files{})",
            out.version.version,
            t.workspace.display(),
            out.files,
            if out.carried.is_empty() {
                String::new()
            } else {
                format!(", {} local-only kept", out.carried.len())
            }
        );
        match (&out.config_restored, &out.config_note) {
            (true, _) => println!("config restored (local secrets kept)"),
            (false, Some(n)) => println!("config: {n}"),
            _ => {}
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs one state command.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Push(w) => {
            let t = target(&w)?;
            push_once(&snapshots(&w)?, &t, w.json)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Pull(w) => restore(&w, "latest"),
        Cmd::Restore { version, at } => restore(&at, &version),
        Cmd::History(w) => {
            let snaps = snapshots(&w)?;
            let h = run_blocking(snaps.history())?;
            if w.json {
                print_json(&h);
            } else if h.is_empty() {
                println!("no version pushed yet for agent {}", w.agent);
            } else {
                for v in &h {
                    println!("{}  {}", &v.hash[..12], v.version);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Watch { every, at } => {
            let t = target(&at)?;
            let snaps = snapshots(&at)?;
            eprintln!(
                "pushing {} every {} s (Ctrl-C stops; every push is all-or-nothing)",
                t.workspace.display(),
                every.as_secs()
            );
            loop {
                // A failed push (remote down) is reported and tried again next time.
                if let Err(e) = push_once(&snaps, &t, at.json) {
                    eprintln!("push failed: {e}");
                }
                std::thread::sleep(every);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(parse_interval("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_interval("2h").unwrap(), Duration::from_secs(7200));
        assert!(parse_interval("5s").is_err());
        assert!(parse_interval("3d").is_err());
        assert!(parse_interval("x").is_err());
    }
}
