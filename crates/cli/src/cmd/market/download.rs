//! `data download`: Pyth history into the cache, fetching only what the cache lacks.

use std::process::ExitCode;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use market::pyth::{PythClient, PythConfig};
use market::timeparse::format_utc;
use market::{Cache, Candles, MarketError};

use crate::{CliError, CliResult};

/// Default span when `--from` is not given.
const DEFAULT_DAYS: i64 = 30;

/// `synth-city data download [--assets …] [--from …] [--to …] [--resolution …]`
pub fn run(assets: &[String], from: Option<&str>, to: Option<&str>, resolution: &str) -> CliResult {
    let res = super::resolution(resolution)?;
    if res != 60 && res != 300 {
        return Err(CliError::input(format!(
            "--resolution {resolution}: use 1m or 5m"
        )));
    }
    let to = match to {
        Some(s) => super::time_arg("to", s)?,
        None => super::now_floor(res),
    };
    let from = match from {
        Some(s) => super::time_arg("from", s)?,
        None => to - DEFAULT_DAYS * 86_400,
    };
    if from >= to {
        return Err(CliError::input(format!(
            "--from {from} is not before --to {to}"
        )));
    }
    let cfg = PythConfig::from_env().map_err(|e| CliError::input(e.to_string()))?;
    let assets: Vec<String> = if assets.is_empty() {
        cfg.symbols.assets()
    } else {
        assets
            .iter()
            .map(|a| a.trim().to_ascii_uppercase())
            .filter(|a| !a.is_empty())
            .collect()
    };
    for a in &assets {
        cfg.symbols
            .symbol(a)
            .map_err(|e| CliError::input(e.to_string()))?;
    }
    let client = PythClient::new(cfg).map_err(|e| CliError::input(e.to_string()))?;
    let cache = Cache::open_default();
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>7} [{bar:30}] {pos}/{len} requests {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let mut lines = Vec::new();
    let mut failed = Vec::new();
    for asset in &assets {
        let bar = bars.add(ProgressBar::new(0).with_style(style.clone()));
        bar.set_prefix(asset.clone());
        match one_asset(&client, &cache, asset, res, from, to, &bar) {
            Ok(line) => {
                bar.finish_with_message("done");
                lines.push(line);
            }
            Err(e) => {
                bar.abandon_with_message("failed");
                failed.push(format!("{asset}: {e}"));
            }
        }
    }
    for l in &lines {
        println!("{l}");
    }
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(CliError::runtime(format!(
            "download failed for {}",
            failed.join("; ")
        )))
    }
}

/// Ranges of `[from, to)` not covered by the cached span `[first, last]`.
fn missing_ranges(cached: Option<&Candles>, res: i64, from: i64, to: i64) -> Vec<(i64, i64)> {
    let Some(c) = cached.filter(|c| !c.is_empty()) else {
        return vec![(from, to)];
    };
    let (first, after_last) = (c.ts[0], c.ts[c.len() - 1] + res);
    let mut out = Vec::new();
    if from < first {
        out.push((from, first.min(to)));
    }
    if to > after_last {
        out.push((after_last.max(from), to));
    }
    out
}

fn one_asset(
    client: &PythClient,
    cache: &Cache,
    asset: &str,
    res: u32,
    from: i64,
    to: i64,
    bar: &ProgressBar,
) -> Result<String, MarketError> {
    let cached = cache.load(asset, res)?;
    let ranges = missing_ranges(cached.as_ref(), i64::from(res), from, to);
    let total: usize = ranges
        .iter()
        .map(|&(a, b)| client.chunk_count(res, a, b))
        .sum();
    bar.set_length(total as u64);
    let mut added = 0;
    let mut offset = 0;
    for &(a, b) in &ranges {
        let n = client.chunk_count(res, a, b);
        match client.candles(asset, res, a, b, |done, _| {
            bar.set_position((offset + done) as u64)
        }) {
            Ok(c) => {
                added += c.len();
                cache.merge(&c)?;
            }
            Err(MarketError::NoData { .. }) => {}
            Err(e) => return Err(e),
        }
        offset += n;
    }
    let now = cache.load(asset, res)?;
    Ok(match now.filter(|c| !c.is_empty()) {
        Some(c) => format!(
            "{asset}: +{added} candles; cache {} .. {} ({} candles)",
            format_utc(c.ts[0]),
            format_utc(c.ts[c.len() - 1]),
            c.len()
        ),
        None => format!(
            "{asset}: no data from {} to {}",
            format_utc(from),
            format_utc(to)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use market::Provenance;

    #[test]
    fn only_uncovered_ranges_are_fetched() {
        assert_eq!(missing_ranges(None, 60, 0, 600), vec![(0, 600)]);
        let mut c = Candles::empty("BTC", 60, Provenance::Real);
        c.ts = vec![120, 180, 240];
        assert_eq!(
            missing_ranges(Some(&c), 60, 0, 600),
            vec![(0, 120), (300, 600)]
        );
        assert_eq!(
            missing_ranges(Some(&c), 60, 180, 300),
            Vec::<(i64, i64)>::new()
        );
        assert_eq!(missing_ranges(Some(&c), 60, 400, 600), vec![(400, 600)]);
    }
}
