//! `store sync | restore | status`.

use std::process::ExitCode;

use clap::Subcommand;
use research::Archive;

use super::{cli_err, print_json};
use crate::{CliError, CliResult};

#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Upload every queued result to the remote (HIPPIUS_*); exits 3 if some remain queued.
    Sync {
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Download the whole history named by the remote manifest into this machine.
    Restore {
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Registry, local artifacts, remote and the sync queue.
    Status {
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn open() -> Result<Archive, CliError> {
    Archive::open_default().map_err(cli_err)
}

pub fn run(cmd: StoreCmd) -> CliResult {
    match cmd {
        StoreCmd::Sync { json } => {
            let archive = open()?;
            let pending_pubs = archive
                .registry
                .publications(None, Some("pending"), 1)
                .map_err(cli_err)?;
            if archive.remote.is_none() && pending_pubs.is_empty() {
                return Err(CliError::input(
                    "no remote configured: set HIPPIUS_ACCESS_KEY and HIPPIUS_SECRET_KEY (and HIPPIUS_BUCKET, HIPPIUS_ENDPOINT)",
                ));
            }
            let mut failure = None;
            let mut out = serde_json::Map::new();
            if archive.remote.is_some() {
                let rep = archive.sync().map_err(cli_err)?;
                if !json {
                    println!(
                        "uploaded {} object(s) in {} manifest segment(s); {} pending",
                        rep.uploaded, rep.segments, rep.pending
                    );
                }
                if let Some(e) = &rep.error {
                    failure = Some(format!(
                        "sync stopped, {} object(s) still queued: {e}",
                        rep.pending
                    ));
                }
                if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(&rep) {
                    out = m;
                }
            }
            // Queued Hub / W&B publications (runs logged while offline, failed uploads).
            let pubs = crate::cmd::publish::retry_pending(&archive)?;
            if json {
                out.insert(
                    "publications".into(),
                    serde_json::to_value(&pubs).unwrap_or_default(),
                );
                print_json(&out)?;
            } else {
                crate::cmd::publish::print_retried(&pubs);
            }
            if failure.is_none()
                && pubs
                    .iter()
                    .any(|t| matches!(t.outcome, research::publish::Outcome::Failed { .. }))
            {
                failure = Some("some publications are still queued".into());
            }
            match failure {
                Some(e) => Err(CliError::runtime(e)),
                None => Ok(ExitCode::SUCCESS),
            }
        }
        StoreCmd::Restore { json } => {
            let archive = open()?;
            let rep = archive.restore().map_err(cli_err)?;
            if json {
                print_json(&rep)?;
            } else {
                println!(
                    "read {} manifest segment(s): {} object(s), {} downloaded, {} run(s) added",
                    rep.segments, rep.objects, rep.downloaded, rep.runs_added
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        StoreCmd::Status { json } => {
            let archive = open()?;
            let st = archive.status().map_err(cli_err)?;
            if json {
                print_json(&st)?;
            } else {
                println!("registry   {}", st.registry.display());
                println!("artifacts  {}", st.artifacts.display());
                println!(
                    "remote     {}",
                    st.remote.as_deref().unwrap_or("none (local only)")
                );
                println!("runs       {}", st.runs);
                println!(
                    "outbox     {} synced, {} pending ({} failing)",
                    st.outbox.synced, st.outbox.pending, st.outbox.failing
                );
                if let Some(e) = &st.outbox.last_error {
                    println!("last error {e}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
