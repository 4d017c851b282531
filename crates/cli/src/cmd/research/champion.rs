//! `champion` (`list`, the default), `champion history`, `champion promote RUN`,
//! `champion rollback`: the promoted champions the miner serves, how they got there, and the
//! one way to change them (`research::promotion`).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use research::{Archive, ModelsRunner, PromoteRequest, Promotion};

use super::history::{self, ChampionArgs};
use super::{cli_err, print_json};
use crate::{CliError, CliResult};

/// Arguments of `champion`: a subcommand, or the listing's flags.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ChampionCmdArgs {
    #[command(subcommand)]
    cmd: Option<ChampionCmd>,
    #[command(flatten)]
    list: ChampionArgs,
}

/// Subcommands of `champion`.
#[derive(Subcommand, Debug)]
enum ChampionCmd {
    /// The promoted champion per asset × timeframe (what the miner serves; where none is
    /// listed, it serves the default model).
    List(ChampionArgs),
    /// Every promotion and rollback, newest first: who, when, the paired comparison, the
    /// checker's verdict.
    History {
        /// Only this asset.
        #[arg(long, value_parser = crate::cmd::args::asset)]
        asset: Option<String>,
        /// Only this timeframe.
        #[arg(long, value_parser = crate::cmd::args::timeframe())]
        timeframe: Option<sn50::Timeframe>,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Make RUN the champion of each asset it was scored on: checked (successful, real data,
    /// valid spec, weights stored), then compared with the current champion (or the default
    /// model) on the same prompts (same folds, prompt times and seed; at least 100 paired
    /// prompts per competition). Refused, with the numbers, unless the 90% interval of its
    /// CRPS ratio lies below 1. Exit code 1 when nothing was promoted.
    Promote {
        /// Run id (or a unique prefix).
        run: String,
        /// Only this asset (repeatable; default: every asset the run was scored on).
        #[arg(long, value_parser = crate::cmd::args::asset)]
        asset: Vec<String>,
        /// Promote even when the comparison does not show it better (recorded as forced).
        /// Never overrides a failed check or too few prompts.
        #[arg(long)]
        force: bool,
        /// Walk-forward folds of the comparison.
        #[arg(long, default_value_t = 2)]
        folds: usize,
        /// Prompts per fold.
        #[arg(long, default_value_t = 100)]
        prompts: usize,
        /// Evaluation seed (prompt phase and every model's sampling).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Restore the champion the current one replaced (none: the default model serves again).
    Rollback {
        /// Asset.
        #[arg(long, value_parser = crate::cmd::args::asset)]
        asset: String,
        /// Timeframe.
        #[arg(long, value_parser = crate::cmd::args::timeframe())]
        timeframe: sn50::Timeframe,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn open() -> Result<Archive, CliError> {
    Archive::open(&market::home::data_dir(), None).map_err(cli_err)
}

/// Runs `champion` and its subcommands.
pub fn champion(a: ChampionCmdArgs) -> CliResult {
    match a.cmd {
        None => history::champion(a.list),
        Some(ChampionCmd::List(l)) => history::champion(l),
        Some(ChampionCmd::History {
            asset,
            timeframe,
            limit,
            json,
        }) => {
            let h = open()?
                .registry
                .promotions(
                    asset.as_deref(),
                    timeframe.map(sn50::Timeframe::as_str),
                    limit,
                )
                .map_err(cli_err)?;
            if json {
                print_json(&h)?;
            } else if h.is_empty() {
                println!(
                    "no promotion yet: the miner serves the default model ({})",
                    default()
                );
            } else {
                for p in &h {
                    println!("{}", line(p));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(ChampionCmd::Promote {
            run,
            asset,
            force,
            folds,
            prompts,
            seed,
            json,
        }) => {
            let archive = open()?;
            let mut req = PromoteRequest::new(&run, "cli");
            req.assets = asset;
            req.force = force;
            req.folds = Some(folds);
            req.max_prompts = Some(prompts);
            req.seed = Some(seed);
            if !json {
                eprintln!(
                    "comparing on the same prompts ({folds} folds × up to {prompts}, seed \
                     {seed}); a neural run is trained on each fold…"
                );
            }
            // Both sides of the comparison are experiments: on the workers of
            // SYNTH_CITY_WORKERS when it names any, else here.
            let runner = crate::cmd::worker::dispatch(ModelsRunner::new(), None)?;
            let out =
                research::promotion::promote(&archive, runner.as_ref(), &req).map_err(cli_err)?;
            if json {
                print_json(&out)?;
            } else {
                for o in &out {
                    println!(
                        "{} {} {}: {}",
                        o.asset,
                        o.timeframe,
                        if o.promoted {
                            "PROMOTED"
                        } else {
                            "not promoted"
                        },
                        o.reason
                    );
                }
            }
            Ok(if out.iter().any(|o| o.promoted) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Some(ChampionCmd::Rollback {
            asset,
            timeframe,
            json,
        }) => {
            let p = research::promotion::rollback(&open()?, &asset, timeframe.as_str(), "cli")
                .map_err(cli_err)?;
            if json {
                print_json(&p)?;
            } else {
                println!("{}", line(&p));
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn default() -> &'static str {
    models::baselines::DEFAULT_MODEL
}

/// One history entry for people.
fn line(p: &Promotion) -> String {
    let who = p.run_id.as_deref().map_or_else(
        || format!("none (default model {})", default()),
        |r| format!("run {r}"),
    );
    let ev = p.evidence.as_ref().map_or_else(String::new, |e| {
        format!(
            "; vs {}: ratio {:.4} (90% {:.4}–{:.4}) on {} prompts",
            e.incumbent, e.ratio, e.ratio_90.lo, e.ratio_90.hi, e.prompts
        )
    });
    let ck = p.checker.as_ref().map_or_else(String::new, |c| {
        format!(
            "; check {} ({})",
            if c.passed { "passed" } else { "FAILED" },
            c.by
        )
    });
    format!(
        "#{:<4} {} {:<6} {:<3} {:<8} {} by {}{ev}{ck}",
        p.id,
        p.promoted_at,
        p.asset,
        p.timeframe,
        p.action.as_str(),
        who,
        p.promoted_by
    )
}
