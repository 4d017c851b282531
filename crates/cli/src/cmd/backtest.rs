//! `synth-city backtest`: replays the SN50 validators' prompts over historical data with
//! competitors as miners, and reports how each would have been scored and paid.

use std::path::PathBuf;

use backtest::{BacktestConfig, BacktestError, Competition};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use crate::{CliError, CliResult};

/// Commands of the `backtest` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Replay the validators' prompt schedule on real history: competitors (baselines, registry
    /// runs) answer as miners, scored with the sn50 CRPS, prompt scores, moving average and
    /// reward weights exactly as validators compute them.
    Backtest(BacktestArgs),
    /// Walk-forward evaluation over every contiguous block of the real history: per asset,
    /// competition and volatility regime (terciles of realised vol), each competitor's mean CRPS
    /// over the reference GBM's on the same prompts with paired 90% bootstrap intervals, the
    /// difference to one compared model, and reward shares per period. Every model fits on each
    /// prompt's past only. Prompts are the validators' schedule, evenly thinned per block
    /// (--prompts-per-block; deterministic). Writes walk_forward.json and prompts.csv.
    Evaluate(EvaluateArgs),
}

/// Options of `synth-city evaluate`.
#[derive(Args, Debug)]
pub struct EvaluateArgs {
    /// Competitors, comma-separated, as for `backtest` (gbm is added when absent: every ratio is
    /// to it), plus `oracle_hourly_vol`: an evaluation-only ceiling told each hour's realised
    /// volatility in advance (never a model a miner can serve; it takes a reward share), and
    /// spread diagnostics of a statistical model, also evaluation-only: `<model>*<k>` scales
    /// every path's log move from the start price by k (e.g. `mix_sess*0.93`), `<model>*<k>~<d>`
    /// gives each path its own factor k·exp(d·z).
    #[arg(long, value_delimiter = ',', default_values_t = ["gbm", "garch_t", "bootstrap_sess", "mix_sess", "mix_range"].map(String::from))]
    competitors: Vec<String>,
    /// The competitor the others are compared with, paired (default: the miner's default model).
    #[arg(long, default_value = "mix_range")]
    against: String,
    /// SN50 assets, comma-separated (default: every SN50 asset with real 1-minute data).
    #[arg(long, value_delimiter = ',')]
    assets: Vec<String>,
    /// low, high or both.
    #[arg(long, default_value = "both", value_parser = super::args::competitions)]
    timeframe: &'static [Competition],
    /// Prompts per block, asset and competition, evenly spaced over the block (0 = the
    /// validators' full schedule: slow).
    #[arg(long, default_value_t = 24)]
    prompts_per_block: usize,
    /// Days of history inside a block before its first prompt.
    #[arg(long, default_value_t = 3.0)]
    warmup_days: f64,
    /// Gaps in the 1-minute history longer than this many days split blocks.
    #[arg(long, default_value_t = 4.0)]
    gap_days: f64,
    /// Only data from this time (date or ISO, UTC).
    #[arg(long)]
    from: Option<String>,
    /// Only data before this time.
    #[arg(long)]
    to: Option<String>,
    /// Bootstrap resamples behind each interval.
    #[arg(long, default_value_t = 2000)]
    resamples: usize,
    /// Seed of the competitors' sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Paths per prompt (the validators ask for 1000).
    #[arg(long, default_value_t = 1000)]
    paths: usize,
    /// Worker threads (0 = all cores); the results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Output folder for walk_forward.json and prompts.csv.
    #[arg(long, default_value = "evaluate-out")]
    out: PathBuf,
    /// Print the report JSON on stdout instead of the tables.
    #[arg(long)]
    json: bool,
}

/// Options of `synth-city backtest`.
#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// Competitors (miners), comma-separated: any preset (`synth-city presets`: statistical ones
    /// by name, a neural one as its newest trained registry run), `default` (what the miner
    /// serves without a champion: mix_range), `run:<registry run id>`, or `champion` (what the
    /// miner serves: the promoted champion, else the default).
    #[arg(long, value_delimiter = ',', default_values_t = backtest::DEFAULT_COMPETITORS.iter().map(|s| s.to_string()))]
    competitors: Vec<String>,
    /// SN50 assets, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = ["BTC".to_string(), "ETH".to_string()])]
    assets: Vec<String>,
    /// Competitions to replay: low (24 h at 5 min), high (1 h at 1 min) or both, combined as
    /// the validator combines them.
    #[arg(long, default_value = "both", value_parser = super::args::competitions)]
    timeframe: &'static [Competition],
    /// First prompt start (date or ISO time, UTC). Needs --to.
    #[arg(long, requires = "to", conflicts_with = "days")]
    from: Option<String>,
    /// End of the prompt starts (exclusive). Needs --from.
    #[arg(long, requires = "from", conflicts_with = "days")]
    to: Option<String>,
    /// Days of prompts ending where the data of every asset ends (when --from/--to are absent).
    #[arg(long, default_value_t = 2)]
    days: u32,
    /// Seed of the competitors' sampling.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Keep every N-th prompt of each asset (1 = the validators' full schedule).
    #[arg(long, default_value_t = 1)]
    stride: usize,
    /// At most N prompts per asset and competition (evenly thinned).
    #[arg(long)]
    max_prompts: Option<usize>,
    /// Worker threads (0 = all cores); the results do not depend on it.
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Output folder for prompts.csv, intervals.csv, summary.json and the plots.
    #[arg(long, default_value = "backtest-out")]
    out: PathBuf,
    /// Print the summary JSON on stdout instead of the tables.
    #[arg(long)]
    json: bool,
}

/// Runs a command of the area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Backtest(a) => backtest_cmd(a),
        Cmd::Evaluate(a) => evaluate_cmd(a),
    }
}

fn err(e: BacktestError) -> CliError {
    match e {
        BacktestError::Invalid(m) => CliError::input(m),
        BacktestError::Env(m) => CliError::runtime(m),
    }
}

fn parse_time(flag: &str, s: &str) -> Result<i64, CliError> {
    market::timeparse::parse_timestamp(s).map_err(|e| CliError::input(format!("{flag} {s}: {e}")))
}

fn backtest_cmd(a: BacktestArgs) -> CliResult {
    let competitions = a.timeframe.to_vec();
    let assets: Vec<String> = a
        .assets
        .iter()
        .map(|s| sn50::asset::canonical_asset(s))
        .filter(|s| !s.is_empty())
        .collect();
    if assets.is_empty() {
        return Err(CliError::input("--assets is empty"));
    }
    for asset in &assets {
        if !competitions
            .iter()
            .any(|c| c.cfg().asset_list.contains(&asset.as_str()))
        {
            return Err(CliError::input(format!(
                "--assets {asset}: not an asset of the {} competition(s) ({})",
                competitions
                    .iter()
                    .map(|c| c.label())
                    .collect::<Vec<_>>()
                    .join("/"),
                competitions
                    .iter()
                    .map(|c| c.cfg().asset_list.join(","))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )));
        }
    }
    if a.stride == 0 {
        return Err(CliError::input("--stride must be at least 1"));
    }
    if a.max_prompts == Some(0) {
        return Err(CliError::input("--max-prompts must be at least 1"));
    }
    let (competitors, mut notes) =
        backtest::resolve_competitors(&a.competitors, &assets, &competitions, &mut || {
            research::Archive::open(&market::home::data_dir(), None)
                .map_err(|e| BacktestError::Env(format!("registry: {e}")))
        })
        .map_err(err)?;
    let (from, to) = match (&a.from, &a.to) {
        (Some(f), Some(t)) => (parse_time("--from", f)?, parse_time("--to", t)?),
        _ => {
            if a.days == 0 {
                return Err(CliError::input("--days must be at least 1"));
            }
            let end = backtest::data::common_end(&assets).ok_or_else(|| {
                CliError::input(format!("no real 1-minute data for {}", assets.join(",")))
            })?;
            let longest = competitions
                .iter()
                .map(|c| c.cfg().time_length)
                .max()
                .unwrap_or(0);
            let to = (end - longest - 600).div_euclid(3600) * 3600;
            (to - i64::from(a.days) * 86_400, to)
        }
    };
    if to <= from {
        return Err(CliError::input(format!(
            "--from must be before --to ({} >= {})",
            market::timeparse::format_utc(from),
            market::timeparse::format_utc(to)
        )));
    }
    notes.extend(backtest::in_sample_notes(&competitors, from));
    let mut cfg = BacktestConfig::new(assets.clone(), from, to);
    cfg.competitions = competitions.clone();
    cfg.seed = a.seed;
    cfg.stride = a.stride;
    cfg.max_prompts = a.max_prompts;
    cfg.threads = a.threads;
    let longest = competitions
        .iter()
        .map(|c| c.cfg().time_length)
        .max()
        .unwrap_or(0);
    let (data, data_notes) = backtest::load_market(
        &assets,
        from - cfg.lookback_secs - 3600,
        to + longest + 3600,
    )
    .map_err(err)?;
    notes.extend(data_notes);
    for n in &notes {
        eprintln!("note: {n}");
    }
    let sub = if a.stride > 1 || a.max_prompts.is_some() {
        format!(
            " (subsampled: stride {}{})",
            a.stride,
            a.max_prompts
                .map_or(String::new(), |m| format!(", at most {m} per asset"))
        )
    } else {
        String::new()
    };
    eprintln!(
        "backtest {} → {}: {} competitors, assets {}, {}{sub}",
        market::timeparse::format_utc(from),
        market::timeparse::format_utc(to),
        competitors.len(),
        assets.join(","),
        competitions
            .iter()
            .map(|c| c.label())
            .collect::<Vec<_>>()
            .join("+"),
    );
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("prompts [{bar:30}] {pos}/{len} {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let results = backtest::run(&cfg, &competitors, &data, &|done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })
    .map_err(err)?;
    bar.finish_and_clear();
    let names: Vec<String> = competitors.iter().map(|c| c.name.clone()).collect();
    if !sub.is_empty() {
        notes.push(format!("prompts subsampled{sub}"));
    }
    let summary = backtest::summarise(&cfg, &names, &results, notes);
    let files = backtest::write_outputs(&a.out, &summary, &results).map_err(err)?;
    if a.json {
        let j = serde_json::to_string_pretty(&summary)
            .map_err(|e| CliError::runtime(format!("json: {e}")))?;
        println!("{j}");
    } else {
        print!("{}", backtest::report::table(&summary));
        println!(
            "wrote {}",
            files
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if summary.competitions.iter().all(|c| c.scored == 0) {
        return Err(CliError::input(
            "no prompt could be scored in this range (missing real 1-minute prices?)",
        ));
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn evaluate_cmd(a: EvaluateArgs) -> CliResult {
    let competitions = a.timeframe.to_vec();
    let mut assets: Vec<String> = a
        .assets
        .iter()
        .map(|s| sn50::asset::canonical_asset(s))
        .filter(|s| !s.is_empty())
        .collect();
    if assets.is_empty() {
        assets = sn50::Asset::ALL_NAMES
            .iter()
            .filter(|n| competitions.iter().any(|c| c.cfg().asset_list.contains(*n)))
            .map(|s| s.to_string())
            .collect();
    }
    for asset in &assets {
        if !competitions
            .iter()
            .any(|c| c.cfg().asset_list.contains(&asset.as_str()))
        {
            return Err(CliError::input(format!(
                "--assets {asset}: not an asset of the chosen competition(s)"
            )));
        }
    }
    for (flag, v) in [("--warmup-days", a.warmup_days), ("--gap-days", a.gap_days)] {
        if !(0.0..=3650.0).contains(&v) {
            return Err(CliError::input(format!(
                "{flag} must be between 0 and 3650"
            )));
        }
    }
    if a.resamples == 0 || a.resamples > 100_000 {
        return Err(CliError::input("--resamples must be between 1 and 100000"));
    }
    if a.paths == 0 || a.paths > 10_000 {
        return Err(CliError::input("--paths must be between 1 and 10000"));
    }
    let mut names: Vec<String> = a.competitors.iter().map(|s| s.trim().to_string()).collect();
    if !names.iter().any(|n| n == backtest::walk_forward::REFERENCE) {
        names.insert(0, backtest::walk_forward::REFERENCE.to_string());
    }
    if !names.contains(&a.against) {
        return Err(CliError::input(format!(
            "--against {}: not among the competitors ({})",
            a.against,
            names.join(",")
        )));
    }
    let (competitors, mut notes) =
        backtest::walk_forward::resolve(&names, &assets, &competitions, &mut || {
            research::Archive::open(&market::home::data_dir(), None)
                .map_err(|e| BacktestError::Env(format!("registry: {e}")))
        })
        .map_err(err)?;
    let from = a
        .from
        .as_deref()
        .map(|s| parse_time("--from", s))
        .transpose()?;
    let to = a.to.as_deref().map(|s| parse_time("--to", s)).transpose()?;
    let (from, to) = (from.unwrap_or(0), to.unwrap_or(i64::MAX / 4));
    if to <= from {
        return Err(CliError::input("--from must be before --to"));
    }
    notes.extend(backtest::in_sample_notes(&competitors, from));
    let (data, data_notes) = backtest::load_market(&assets, from, to).map_err(err)?;
    notes.extend(data_notes);
    let mut cfg = backtest::WalkForwardConfig::new(&a.against);
    cfg.competitions = competitions;
    cfg.prompts_per_block = a.prompts_per_block;
    cfg.warmup_secs = (a.warmup_days * 86_400.0) as i64;
    cfg.gap_secs = (a.gap_days * 86_400.0) as i64;
    cfg.resamples = a.resamples;
    cfg.replay.seed = a.seed;
    cfg.replay.threads = a.threads;
    cfg.replay.num_simulations = a.paths;
    for n in &notes {
        eprintln!("note: {n}");
    }
    eprintln!(
        "evaluate: {} competitors, assets {}, {} prompts per block{}",
        competitors.len(),
        data.keys().cloned().collect::<Vec<_>>().join(","),
        a.prompts_per_block,
        if a.prompts_per_block > 0 {
            " (subsampled: evenly spaced over each block's schedule)"
        } else {
            ""
        }
    );
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("prompts [{bar:30}] {pos}/{len} {elapsed} (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (report, results) =
        backtest::walk_forward::run(&cfg, &competitors, &data, notes, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })
        .map_err(err)?;
    bar.finish_and_clear();
    let json = serde_json::to_string_pretty(&report)
        .map_err(|e| CliError::runtime(format!("json: {e}")))?;
    std::fs::create_dir_all(&a.out)
        .map_err(|e| CliError::runtime(format!("{}: {e}", a.out.display())))?;
    backtest::report::write_atomic(&a.out.join("walk_forward.json"), json.as_bytes())
        .map_err(err)?;
    backtest::report::write_atomic(
        &a.out.join("prompts.csv"),
        backtest::report::prompts_csv(&report.competitors, &results).as_bytes(),
    )
    .map_err(err)?;
    if a.json {
        println!("{json}");
    } else {
        print!("{}", backtest::walk_forward::table::table(&report));
        println!("wrote {}", a.out.join("walk_forward.json").display());
    }
    if report.groups.is_empty() {
        return Err(CliError::input(
            "no prompt could be scored (missing real 1-minute prices?)",
        ));
    }
    Ok(std::process::ExitCode::SUCCESS)
}
