//! The replay: for each prompt, each competitor forecasts from history cut at the request time;
//! the paths go through the `sn50` formatter (what a validator would receive) and are scored
//! with the `sn50` CRPS against the realised 1-minute grid; then the validator's prompt scores.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use models::ForecastRequest;
use serde::Serialize;
use sn50::{compute_prompt_scores, crps_for_miner, format_paths, realized_prices, PathSet};

use crate::competitor::Competitor;
use crate::data::MarketData;
use crate::schedule::{Competition, Prompt};
use crate::BacktestError;

/// Skip reason: the asset has no data loaded.
pub const SKIP_NO_DATA: &str = "no data for the asset";
/// Skip reason: no candle in the hour before the request (a gap in the history).
pub const SKIP_STALE: &str = "no price in the hour before the request";
/// Skip reason: the realised 1-minute prices are missing or unsettled (the validator retries
/// and eventually drops such a request).
pub const SKIP_NO_TRUTH: &str = "realised prices missing";
/// Skip reason: every competitor was invalid (the validator leaves the request unscored).
pub const SKIP_ALL_INVALID: &str = "every competitor was invalid";

/// What a backtest replays.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BacktestConfig {
    /// Competitions to replay.
    pub competitions: Vec<Competition>,
    /// SN50 assets.
    pub assets: Vec<String>,
    /// First prompt start (inclusive), unix seconds.
    pub from: i64,
    /// Last prompt start (exclusive), unix seconds.
    pub to: i64,
    /// Seed of every competitor's sampling (mixed with the prompt's start time).
    pub seed: u64,
    /// Keep every `stride`-th prompt of each asset (1 = the validator's full schedule).
    pub stride: usize,
    /// At most this many prompts per asset and competition (evenly thinned), if set.
    pub max_prompts: Option<usize>,
    /// Paths per prompt (1,000 on SN50).
    pub num_simulations: usize,
    /// History handed to a competitor, seconds before the request.
    pub lookback_secs: i64,
    /// Worker threads (0 = all cores); results do not depend on it.
    pub threads: usize,
}

impl BacktestConfig {
    /// Defaults: both competitions, seed 0, the full schedule, 1,000 paths, 30 days of history.
    pub fn new(assets: Vec<String>, from: i64, to: i64) -> Self {
        Self {
            competitions: vec![Competition::Low, Competition::High],
            assets,
            from,
            to,
            seed: 0,
            stride: 1,
            max_prompts: None,
            num_simulations: 1000,
            lookback_secs: 30 * 86_400,
            threads: 0,
        }
    }
}

/// Whether a prompt was scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum PromptStatus {
    /// Scored: prompt scores exist.
    Scored,
    /// Not scored (no data before the request, realised prices missing, every miner invalid).
    Skipped(String),
}

/// One prompt's outcome, competitors in input order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PromptResult {
    /// The prompt.
    pub prompt: Prompt,
    /// Scored or why not.
    pub status: PromptStatus,
    /// Start price handed to the competitors (the last close known at the request).
    pub start_price: f64,
    /// Per competitor: the validator's CRPS total, -1 for an invalid answer.
    pub crps: Vec<f64>,
    /// Per competitor: each interval's CRPS total (empty when invalid).
    pub intervals: Vec<Vec<(String, f64)>>,
    /// Per competitor: the error of an invalid answer.
    pub errors: Vec<Option<String>>,
    /// Per competitor: `prompt_score_v3` (empty when not scored).
    pub prompt_scores: Vec<f64>,
    /// The prompt's 90th percentile of valid CRPS (NaN when not scored).
    pub percentile90: f64,
    /// The lowest capped CRPS (NaN when not scored).
    pub lowest: f64,
}

/// Runs every prompt of `cfg` for `competitors` on `data`. `progress(done, total)` is called
/// after each prompt (from worker threads). Results come back in schedule order and are
/// identical for any thread count.
pub fn run(
    cfg: &BacktestConfig,
    competitors: &[Competitor],
    data: &MarketData,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<PromptResult>, BacktestError> {
    if cfg.to <= cfg.from {
        return Err(BacktestError::Invalid(format!(
            "empty range: --from must be before --to ({} >= {})",
            market::timeparse::format_utc(cfg.from),
            market::timeparse::format_utc(cfg.to)
        )));
    }
    if cfg.num_simulations == 0 {
        return Err(BacktestError::Invalid(
            "num_simulations must be at least 1".into(),
        ));
    }
    let mut prompts = Vec::new();
    for &comp in &cfg.competitions {
        prompts.extend(crate::schedule::schedule(
            comp,
            &cfg.assets,
            cfg.from,
            cfg.to,
            cfg.stride,
            cfg.max_prompts,
        ));
    }
    if prompts.is_empty() {
        return Err(BacktestError::Invalid(
            "no prompt in the range for these assets and competitions (LOW assets: BTC ETH XAU SOL SPYX \
             NVDAX TSLAX AAPLX GOOGLX XRP HYPE WTIOIL; HIGH: BTC ETH XAU SOL HYPE)"
                .into(),
        ));
    }
    run_prompts(cfg, competitors, data, &prompts, progress)
}

/// Runs the given `prompts` (any placement, e.g. the walk-forward's blocks) for `competitors`
/// with `cfg`'s seed, paths, look-back and threads; results in the order of `prompts`, identical
/// for any thread count.
pub fn run_prompts(
    cfg: &BacktestConfig,
    competitors: &[Competitor],
    data: &MarketData,
    prompts: &[Prompt],
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<Vec<PromptResult>, BacktestError> {
    let total = prompts.len();
    if total == 0 {
        return Ok(Vec::new());
    }
    let threads = if cfg.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        cfg.threads
    }
    .clamp(1, total);
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<PromptResult>>> = Mutex::new(vec![None; total]);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let r = run_prompt(cfg, competitors, data, &prompts[i]);
                if let Ok(mut g) = slots.lock() {
                    g[i] = Some(r);
                }
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
            });
        }
    });
    let slots = slots
        .into_inner()
        .map_err(|_| BacktestError::Env("a worker thread failed".into()))?;
    slots
        .into_iter()
        .map(|r| r.ok_or_else(|| BacktestError::Env("a prompt was not run".into())))
        .collect()
}

/// One prompt: history cut at the request, every competitor's answer formatted and scored.
pub fn run_prompt(
    cfg: &BacktestConfig,
    competitors: &[Competitor],
    data: &MarketData,
    prompt: &Prompt,
) -> PromptResult {
    let pc = prompt.competition.cfg();
    let n = competitors.len();
    let mut out = PromptResult {
        prompt: prompt.clone(),
        status: PromptStatus::Scored,
        start_price: f64::NAN,
        crps: Vec::new(),
        intervals: Vec::new(),
        errors: Vec::new(),
        prompt_scores: Vec::new(),
        percentile90: f64::NAN,
        lowest: f64::NAN,
    };
    let skip = |mut o: PromptResult, why: String| {
        o.status = PromptStatus::Skipped(why);
        o
    };
    let Some(asset) = data.get(&prompt.asset) else {
        return skip(out, SKIP_NO_DATA.into());
    };
    // The only history a competitor ever sees: candles closed by the request time.
    let history = asset.history_at(prompt.competition, prompt.request_time, cfg.lookback_secs);
    let fine = asset.fine_at(prompt.competition, prompt.request_time, cfg.lookback_secs);
    let market_vol = crate::data::market_vol_at(data, prompt.competition, prompt.request_time);
    let res = i64::from(history.resolution_secs);
    match history.ts.last() {
        Some(&t) if t + res >= prompt.request_time - 3600 => {}
        _ => return skip(out, SKIP_STALE.into()),
    }
    let start_price = history.close.last().copied().unwrap_or(f64::NAN);
    out.start_price = start_price;
    let truth = asset.truth(prompt.start_time, pc.time_length);
    let real = match realized_prices(
        &truth.ts,
        &truth.close,
        prompt.start_time,
        pc.time_increment,
        pc.time_length,
    ) {
        Ok(r) => r,
        Err(e) => {
            tracing::debug!(asset = %prompt.asset, start = prompt.start_time, "realised prices: {e}");
            return skip(out, SKIP_NO_TRUTH.into());
        }
    };
    let seed = cfg.seed ^ (prompt.start_time as u64);
    let req = ForecastRequest {
        asset: &prompt.asset,
        history: &history,
        start_price,
        start_time: prompt.start_time,
        time_increment: pc.time_increment as u32,
        time_length: pc.time_length as u32,
        num_simulations: cfg.num_simulations,
        seed,
        context: models::forecaster::ForecastContext {
            fine: fine.as_ref(),
            market_vol,
        },
    };
    for c in competitors {
        match answer(c, prompt, &req, &real, cfg.num_simulations) {
            Ok((total, ivs)) => {
                out.crps.push(total);
                out.intervals.push(ivs);
                out.errors.push(None);
            }
            Err(e) => {
                out.crps.push(-1.0);
                out.intervals.push(Vec::new());
                out.errors.push(Some(e));
            }
        }
    }
    debug_assert_eq!(out.crps.len(), n);
    match compute_prompt_scores(&out.crps) {
        Some(p) => {
            out.prompt_scores = p.scores;
            out.percentile90 = p.percentile90;
            out.lowest = p.lowest;
            out
        }
        None => skip(out, SKIP_ALL_INVALID.into()),
    }
}

/// One competitor's answer as the validator scores it: the CRPS total and per-interval totals,
/// or why it is invalid (-1).
fn answer(
    c: &Competitor,
    prompt: &Prompt,
    req: &ForecastRequest<'_>,
    real: &[f64],
    num_simulations: usize,
) -> Result<(f64, Vec<(String, f64)>), String> {
    let pc = prompt.competition.cfg();
    let paths = match c.oracle() {
        // Evaluation only: the oracle is told the realised prices.
        Some(o) => o.paths(req, real)?,
        None => {
            let model = c
                .model_for(&prompt.asset, prompt.competition)
                .ok_or_else(|| "no model for this asset and competition".to_string())?;
            catch_unwind(AssertUnwindSafe(|| model.forecast(req)))
                .map_err(|_| "the model panicked".to_string())?
                .map_err(|e| format!("forecast: {e}"))?
        }
    };
    if paths.n_paths() != num_simulations || paths.n_points() != pc.points() {
        return Err(format!(
            "shape {}x{}, expected {}x{}",
            paths.n_paths(),
            paths.n_points(),
            num_simulations,
            pc.points()
        ));
    }
    // What travels on the wire: the formatter's rounded prices.
    let wire = format_paths(&paths, prompt.start_time, pc.time_increment)
        .map_err(|e| format!("format: {e}"))?;
    let flat: Vec<f64> = wire.paths.iter().flatten().map(|p| p.value()).collect();
    let sims = PathSet::from_flat(num_simulations, pc.points(), flat)
        .map_err(|e| format!("paths: {e}"))?;
    let c = crps_for_miner(&sims, real, pc.time_increment, pc.scoring_intervals)
        .map_err(|e| format!("crps: {e}"))?;
    if c.total.is_nan() {
        return Err("crps: NaN total".into());
    }
    Ok((
        c.total,
        c.intervals
            .iter()
            .map(|i| (i.name.to_string(), i.total))
            .collect(),
    ))
}
