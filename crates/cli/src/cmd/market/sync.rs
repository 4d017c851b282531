//! `data sync`: every SN50 asset at 1 and 5 minutes brought up to now from Pyth (see
//! [`market::sync`]), once or on a schedule.

use std::process::ExitCode;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use market::pyth::{PythClient, PythConfig};
use market::sync::{sync_series, SyncOutcome};
use market::timeparse::format_utc;
use market::Cache;

use crate::{CliError, CliResult};

/// What `data sync` was asked to do.
pub struct SyncArgs<'a> {
    /// Assets (empty: every asset with a Pyth symbol).
    pub assets: &'a [String],
    /// Resolutions, e.g. `1m`, `5m`.
    pub resolutions: &'a [String],
    /// Furthest back a sync reaches.
    pub max_days: u32,
    /// Repeat every this long (`None`: once).
    pub every: Option<&'a str>,
    /// JSON lines instead of text.
    pub json: bool,
}

/// `synth-city data sync [--assets …] [--resolutions 1m,5m] [--max-days N] [--every 15m] [--json]`
pub fn run(args: &SyncArgs<'_>) -> CliResult {
    let mut resolutions = Vec::new();
    for r in args.resolutions {
        let secs = super::resolution(r)?;
        if secs != 60 && secs != 300 {
            return Err(CliError::input(format!("--resolutions {r}: use 1m or 5m")));
        }
        resolutions.push(secs);
    }
    let every = match args.every {
        Some(s) => Some(Duration::from_secs(u64::from(
            market::timeparse::parse_resolution(s)
                .map_err(|e| CliError::input(format!("--every: {e}")))?,
        ))),
        None => None,
    };
    let cfg = PythConfig::from_env().map_err(|e| CliError::input(e.to_string()))?;
    let assets: Vec<String> = if args.assets.is_empty() {
        cfg.symbols.assets()
    } else {
        args.assets.to_vec()
    };
    for a in &assets {
        cfg.symbols
            .symbol(a)
            .map_err(|e| CliError::input(e.to_string()))?;
    }
    let client = PythClient::new(cfg).map_err(|e| CliError::input(e.to_string()))?;
    let cache = Cache::open_default();
    loop {
        let failed = once(&client, &cache, &assets, &resolutions, args)?;
        match every {
            None if failed.is_empty() => return Ok(ExitCode::SUCCESS),
            None => {
                return Err(CliError::runtime(format!(
                    "sync failed for {} (what arrived is kept; run it again to resume)",
                    failed.join("; ")
                )))
            }
            Some(d) => {
                for f in &failed {
                    eprintln!("warning: {f} (kept what arrived; retrying next round)");
                }
                std::thread::sleep(d);
            }
        }
    }
}

/// One pass over every asset × resolution; returns the failures.
fn once(
    client: &PythClient,
    cache: &Cache,
    assets: &[String],
    resolutions: &[u32],
    args: &SyncArgs<'_>,
) -> Result<Vec<String>, CliError> {
    let now = super::now_floor(1);
    let bars = MultiProgress::new();
    if args.json {
        bars.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let style = ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} requests {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut failed = Vec::new();
    for asset in assets {
        for &res in resolutions {
            let label = format!("{asset} {}", market::cache::resolution_label(res));
            let bar = bars.add(ProgressBar::new(0).with_style(style.clone()));
            bar.set_prefix(label.clone());
            let result = sync_series(client, cache, asset, res, now, args.max_days, |d, n| {
                bar.set_length(n as u64);
                bar.set_position(d as u64);
            });
            match result {
                Ok(out) => {
                    bar.finish_with_message(format!("+{}", out.added));
                    report(&label, &out, args.json);
                }
                Err(e) => {
                    bar.abandon_with_message("failed");
                    if args.json {
                        println!(
                            "{}",
                            serde_json::json!({"asset": asset, "resolution_secs": res, "error": e.to_string()})
                        );
                    }
                    failed.push(format!("{label}: {e}"));
                }
            }
        }
    }
    Ok(failed)
}

fn report(label: &str, out: &SyncOutcome, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::json!({
                "asset": out.asset,
                "resolution_secs": out.resolution_secs,
                "added": out.added,
                "seeded_from": out.seeded_from,
                "last": out.last,
            })
        );
        return;
    }
    let seeded = out
        .seeded_from
        .as_deref()
        .map(|s| format!(" (seeded from {s})"))
        .unwrap_or_default();
    match out.last {
        Some(t) => println!(
            "{label}: +{} candles, up to {}{seeded}",
            out.added,
            format_utc(t)
        ),
        None => println!("{label}: no data"),
    }
}
