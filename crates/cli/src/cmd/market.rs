//! Commands of the `market` area: `synth-city data …` (download, import, info, synth).

use std::path::PathBuf;

use clap::Subcommand;

use crate::{CliError, CliResult};

mod download;
mod info;
mod local;
mod sync;

/// Commands of the `market` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Market data: download Pyth history, import CSV files, list the cache, make synthetic data.
    Data {
        #[command(subcommand)]
        cmd: DataCmd,
    },
}

/// `synth-city data …`
#[derive(Subcommand, Debug)]
pub enum DataCmd {
    /// Download Pyth history candles into the local cache (only what is missing).
    ///
    /// The endpoint is the Pyth Pro history service; SYNTH_CITY_PYTH_URL overrides it and
    /// SYNTH_CITY_PYTH_SYMBOLS adds ASSET=SYMBOL pairs.
    Download {
        /// Comma-separated SN50 assets (default: all with a Pyth symbol).
        #[arg(long, value_delimiter = ',', value_parser = super::args::asset)]
        assets: Vec<String>,
        /// Start (date, ISO time or unix seconds; default: 30 days before --to).
        #[arg(long)]
        from: Option<String>,
        /// End, exclusive (default: now).
        #[arg(long)]
        to: Option<String>,
        /// Candle resolution: 1m or 5m.
        #[arg(long, default_value = "1m")]
        resolution: String,
    },
    /// Bring every cached series up to now from Pyth: incremental and resumable.
    ///
    /// For each asset at each resolution the sync starts where the cache ends; an empty cache is
    /// first seeded with the real history the binary already has (shared folder or embedded set),
    /// so the sync extends it. What arrives is merged as it comes: an interrupted sync resumes.
    /// Missing candles stay missing (gaps are never filled). With --every it runs on a schedule.
    Sync {
        /// Comma-separated SN50 assets (default: all with a Pyth symbol).
        #[arg(long, value_delimiter = ',', value_parser = super::args::asset)]
        assets: Vec<String>,
        /// Candle resolutions to sync.
        #[arg(long, value_delimiter = ',', default_value = "1m,5m")]
        resolutions: Vec<String>,
        /// Never reach further back than this many days (1 to 3650).
        #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u32).range(1..=3650))]
        max_days: u32,
        /// Repeat every this long (e.g. 15m, 1h) until stopped; failures are retried next round.
        #[arg(long)]
        every: Option<String>,
        /// One JSON object per series instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Import a CSV or CSV.gz candle file into the cache as real data.
    Import {
        /// The file (the ../shared/data format, Binance klines, or timestamp,open,high,low,close).
        file: PathBuf,
        /// Asset name to store it under (letters, digits, _ and -; a new name is fine).
        #[arg(long, value_parser = super::args::asset_name)]
        asset: String,
        /// Candle resolution (default: inferred from the file).
        #[arg(long)]
        resolution: Option<String>,
    },
    /// List the cached series: first and last candle, rows, gaps, size.
    Info {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write a synthetic series to the cache (file name ends in .synthetic.parquet).
    Synth {
        /// Asset whose parameters to use (an SN50 asset, or one with real data in the cache).
        #[arg(long, value_parser = super::args::asset)]
        asset: String,
        /// Days of candles (1 to 3650; at most 1.1 million candles).
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Candle resolution.
        #[arg(long, default_value = "1m")]
        resolution: String,
        /// Random seed (same seed, same series).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// End of the series, exclusive (default: now).
        #[arg(long)]
        to: Option<String>,
    },
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Data { cmd } => match cmd {
            DataCmd::Download {
                assets,
                from,
                to,
                resolution,
            } => download::run(&assets, from.as_deref(), to.as_deref(), &resolution),
            DataCmd::Sync {
                assets,
                resolutions,
                max_days,
                every,
                json,
            } => sync::run(&sync::SyncArgs {
                assets: &assets,
                resolutions: &resolutions,
                max_days,
                every: every.as_deref(),
                json,
            }),
            DataCmd::Import {
                file,
                asset,
                resolution,
            } => local::import(&file, &asset, resolution.as_deref()),
            DataCmd::Info { json } => info::run(json),
            DataCmd::Synth {
                asset,
                days,
                resolution,
                seed,
                to,
            } => local::synth(&asset, days, &resolution, seed, to.as_deref()),
        },
    }
}

/// Parses a `--resolution` value.
fn resolution(s: &str) -> Result<u32, CliError> {
    market::timeparse::parse_resolution(s)
        .map_err(|e| CliError::input(format!("--resolution: {e}")))
}

/// Parses a `--from`/`--to` value.
fn time_arg(name: &str, s: &str) -> Result<i64, CliError> {
    market::timeparse::parse_timestamp(s).map_err(|e| CliError::input(format!("--{name}: {e}")))
}

/// Now, floored to `res` seconds.
fn now_floor(res: u32) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    now - now.rem_euclid(i64::from(res.max(1)))
}
