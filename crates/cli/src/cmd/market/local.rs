//! `data import` and `data synth`: series made or read locally, stored in the cache.

use std::path::Path;
use std::process::ExitCode;

use market::import::{read_csv_file_with, ImportOptions};
use market::timeparse::format_utc;
use market::{Cache, MarketError, SyntheticParams};

use crate::{CliError, CliResult};

fn input(e: MarketError) -> CliError {
    CliError::input(e.to_string())
}

fn runtime(e: MarketError) -> CliError {
    CliError::runtime(e.to_string())
}

/// Most candles `data synth` writes (about two years at 1 minute, ten at 5 minutes).
pub const MAX_SYNTH_CANDLES: u64 = 1_100_000;

/// `synth-city data import FILE --asset A [--resolution R]` (`asset` checked by clap).
pub fn import(file: &Path, asset: &str, resolution: Option<&str>) -> CliResult {
    let resolution_secs = resolution.map(super::resolution).transpose()?;
    let (c, r) =
        read_csv_file_with(file, asset, &ImportOptions { resolution_secs }).map_err(input)?;
    let merged = Cache::open_default().merge(&c).map_err(runtime)?;
    println!(
        "imported {} candles of {asset} ({} s) from {}: {} .. {}",
        r.rows,
        r.resolution_secs,
        file.display(),
        format_utc(c.ts[0]),
        format_utc(c.ts[c.len() - 1]),
    );
    println!(
        "  rows read {}, duplicates {} ({} with different prices), out of order {}, off grid {}, \
         OHLC violations {}, gaps {} ({} missing candles)",
        r.rows_read,
        r.duplicates,
        r.conflicting_duplicates,
        r.out_of_order,
        r.off_grid,
        r.ohlc_violations,
        r.gaps.gaps,
        r.gaps.missing
    );
    for e in &r.examples {
        println!("  {e}");
    }
    println!(
        "  cache: {} -> {} candles ({} replaced)",
        merged.before, merged.after, merged.replaced
    );
    Ok(ExitCode::SUCCESS)
}

/// `synth-city data synth --asset A --days N` (`asset` and the range of `days` checked by clap).
pub fn synth(asset: &str, days: u32, resolution: &str, seed: u64, to: Option<&str>) -> CliResult {
    let res = super::resolution(resolution)?;
    if days == 0 {
        return Err(CliError::input("--days must be at least 1"));
    }
    let end = match to {
        Some(s) => super::time_arg("to", s)?,
        None => super::now_floor(res),
    };
    let n = u64::from(days) * 86_400 / u64::from(res.max(1));
    if n == 0 || n > MAX_SYNTH_CANDLES {
        return Err(CliError::input(format!(
            "--days {days} at {res} s makes {n} candles; 1 to {MAX_SYNTH_CANDLES} allowed"
        )));
    }
    let start = i64::try_from(n)
        .ok()
        .and_then(|n| n.checked_mul(i64::from(res)))
        .and_then(|span| end.checked_sub(span))
        .ok_or_else(|| {
            CliError::input(format!("--to {end}: the series would start before year 0"))
        })?;
    let n = n as usize;
    let params = SyntheticParams::for_asset(asset);
    let c = params.generate(start, res, n, seed).map_err(input)?;
    let path = Cache::open_default().store(&c).map_err(runtime)?;
    println!(
        "wrote {} SYNTHETIC candles of {} ({} s, seed {seed}) {} .. {} to {}",
        c.len(),
        c.asset,
        res,
        format_utc(c.ts[0]),
        format_utc(c.ts[c.len() - 1]),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}
