//! Walk-forward evaluation over every contiguous block of the real history: in each block of
//! each asset, after a warm-up, the validators' prompt schedule (thinned evenly to a fixed
//! number per block) is replayed through the backtest engine (the same no-look-ahead history,
//! formatter and `sn50` CRPS as `synth-city backtest`); every statistical model fits on each
//! prompt's past only, so every score is held out. Reported per competition, per asset and
//! SN50-weighted, per volatility regime (terciles of the prompts' realised volatility), as
//! ratios to the reference GBM on the same prompts with paired 90 % bootstrap intervals, and the
//! reward shares (the validators' moving average and softmax, `rewards`) per period.

pub mod blocks;
pub mod oracle;
pub mod stats;
pub mod table;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::competitor::Competitor;
use crate::data::MarketData;
use crate::engine::{run_prompts, BacktestConfig, PromptResult, PromptStatus};
use crate::rewards::{final_weights, share_timeline, shares};
use crate::schedule::{Competition, Prompt};
use crate::BacktestError;
use models::baselines::baseline;

pub use blocks::{plan, realised_vol, split_blocks, Block, BlockPlan};
pub use stats::{ratios, Estimate, Ratios, Scored, Stratum};

/// The reference every ratio is taken against (the SN50 reference miner).
pub const REFERENCE: &str = "gbm";

/// What a walk-forward evaluates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkForwardConfig {
    /// Competitions.
    pub competitions: Vec<Competition>,
    /// Gaps in the 1-minute history longer than this split blocks, seconds (4 days).
    pub gap_secs: i64,
    /// History inside a block before its first prompt, seconds (3 days).
    pub warmup_secs: i64,
    /// Prompts per block, asset and competition, evenly spaced over the block's schedule
    /// (0 = the full schedule).
    pub prompts_per_block: usize,
    /// Bootstrap resamples behind each interval.
    pub resamples: usize,
    /// The competitor whose ratio the others are differenced against (paired).
    pub against: String,
    /// Seed, paths, look-back and threads of the replay (its `from`/`to`/`assets` are unused).
    pub replay: BacktestConfig,
}

impl WalkForwardConfig {
    /// Defaults: both competitions, 4-day gaps split blocks, 3 days of warm-up, 24 prompts per
    /// block, 2,000 resamples, differences against `against`.
    pub fn new(against: &str) -> Self {
        Self {
            competitions: Competition::ALL.to_vec(),
            gap_secs: 4 * 86_400,
            warmup_secs: 3 * 86_400,
            prompts_per_block: 24,
            resamples: 2000,
            against: against.to_string(),
            replay: BacktestConfig::new(Vec::new(), 0, 1),
        }
    }
}

/// The volatility regime of a prompt: its realised volatility's tercile within its asset and
/// competition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// Every prompt.
    All,
    /// Lowest third.
    Calm,
    /// Middle third.
    Mid,
    /// Highest third.
    Stressed,
}

impl Regime {
    /// All four, `All` first.
    pub const ALL: [Regime; 4] = [Regime::All, Regime::Calm, Regime::Mid, Regime::Stressed];

    /// Lower-case name.
    pub fn label(self) -> &'static str {
        match self {
            Regime::All => "all",
            Regime::Calm => "calm",
            Regime::Mid => "mid",
            Regime::Stressed => "stressed",
        }
    }
}

/// One row of the quality table: a competition, an asset (or `SN50-weighted`), a regime.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// Competition.
    pub competition: Competition,
    /// SN50 asset, or `SN50-weighted` (assets weighted by their SN50 coefficient).
    pub scope: String,
    /// Regime.
    pub regime: Regime,
    /// Ratios and differences.
    pub ratios: Ratios,
}

/// One period's reward shares (blocks of all assets merged where they overlap).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodShares {
    /// First prompt start, ISO 8601.
    pub from: String,
    /// Last prompt start, ISO 8601.
    pub to: String,
    /// Scored prompts (both competitions).
    pub prompts: usize,
    /// Assets with prompts in it.
    pub assets: Vec<String>,
    /// Per competition scored in it: each competitor's share of its rewards at the period's
    /// last scored time.
    pub per_competition: BTreeMap<Competition, Vec<f64>>,
    /// Per competitor: share of LOW + HIGH combined as the validator combines them, averaged
    /// over the period's cutoffs.
    pub combined: Vec<f64>,
}

/// Per asset and competition: the tercile boundaries of the realised volatility.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegimeBounds {
    /// SN50 asset.
    pub asset: String,
    /// Competition.
    pub competition: Competition,
    /// Upper bound of `calm` (RMS 1-minute log return).
    pub calm_below: f64,
    /// Lower bound of `stressed`.
    pub stressed_above: f64,
}

/// The walk-forward's report (`walk_forward.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WalkForwardReport {
    /// Settings.
    pub config: WalkForwardConfig,
    /// Competitor names, in order (the reference among them).
    pub competitors: Vec<String>,
    /// Every block × competition with its prompt window and counts.
    pub blocks: Vec<BlockSummary>,
    /// Regime boundaries.
    pub regimes: Vec<RegimeBounds>,
    /// Quality rows.
    pub groups: Vec<Group>,
    /// Reward shares per period.
    pub periods: Vec<PeriodShares>,
    /// Prompts left out of the ratios because a competitor's answer was invalid.
    pub invalid_prompts: usize,
    /// Skipped prompts by reason.
    pub skipped: BTreeMap<String, usize>,
    /// How the prompts were placed and the intervals made.
    pub method: String,
    /// Notes (assets without data, blocks too short).
    pub notes: Vec<String>,
}

/// A block × competition in the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockSummary {
    /// SN50 asset.
    pub asset: String,
    /// Competition.
    pub competition: Competition,
    /// Block index within the asset.
    pub index: usize,
    /// Block span, ISO 8601.
    pub first: String,
    /// Block end.
    pub last: String,
    /// Prompts in the validators' full schedule after the warm-up.
    pub scheduled: usize,
    /// Prompts replayed.
    pub prompts: usize,
    /// Prompts scored.
    pub scored: usize,
}

/// Runs the walk-forward of `competitors` (one must be [`REFERENCE`], one `cfg.against`) over
/// every block of `data`. `progress(done, total)` follows the prompts.
pub fn run(
    cfg: &WalkForwardConfig,
    competitors: &[Competitor],
    data: &MarketData,
    mut notes: Vec<String>,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<(WalkForwardReport, Vec<PromptResult>), BacktestError> {
    let names: Vec<String> = competitors.iter().map(|c| c.name.clone()).collect();
    let find = |n: &str| {
        names.iter().position(|x| x == n).ok_or_else(|| {
            BacktestError::Invalid(format!(
                "the walk-forward needs {n:?} among the competitors ({})",
                names.join(",")
            ))
        })
    };
    let reference = find(REFERENCE)?;
    let against = find(&cfg.against)?;
    let plans = plan(
        data,
        &cfg.competitions,
        cfg.gap_secs,
        cfg.warmup_secs,
        cfg.prompts_per_block,
    );
    let prompts: Vec<Prompt> = plans.iter().flat_map(|p| p.prompts.clone()).collect();
    if prompts.is_empty() {
        return Err(BacktestError::Invalid(
            "no block is long enough for a prompt (warm-up + horizon) in this data".into(),
        ));
    }
    for p in plans.iter().filter(|p| p.prompts.is_empty()) {
        notes.push(format!(
            "{} {} block {} ({} → {}): too short for a prompt after the warm-up",
            p.block.asset,
            p.competition.label(),
            p.block.index,
            market::timeparse::format_utc(p.block.first),
            market::timeparse::format_utc(p.block.last)
        ));
    }
    let results = run_prompts(&cfg.replay, competitors, data, &prompts, progress)?;
    let n = names.len();
    let mut skipped = BTreeMap::new();
    let mut invalid_prompts = 0;
    // (competition, asset) -> scored prompts with their realised vol.
    let mut by_market: BTreeMap<(Competition, String), Vec<(f64, Scored)>> = BTreeMap::new();
    for r in &results {
        match &r.status {
            PromptStatus::Skipped(why) => *skipped.entry(why.clone()).or_insert(0) += 1,
            PromptStatus::Scored => {
                if r.crps.iter().any(|&c| c.is_nan() || c <= 0.0) {
                    invalid_prompts += 1;
                    continue;
                }
                let Some(rv) = realised_vol(data, &r.prompt) else {
                    *skipped
                        .entry("too few 1-minute candles for the realised volatility".into())
                        .or_insert(0) += 1;
                    continue;
                };
                by_market
                    .entry((r.prompt.competition, r.prompt.asset.clone()))
                    .or_default()
                    .push((
                        rv,
                        Scored {
                            start: r.prompt.start_time,
                            crps: r.crps.clone(),
                        },
                    ));
            }
        }
    }
    let mut regimes = Vec::new();
    let mut groups = Vec::new();
    for &comp in &cfg.competitions {
        let horizon = comp.time_length();
        // Per regime, the strata of this competition (one per asset).
        let mut pooled: BTreeMap<Regime, Vec<(String, Stratum)>> = BTreeMap::new();
        for ((c, asset), list) in &by_market {
            if *c != comp || list.is_empty() {
                continue;
            }
            let vols: Vec<f64> = list.iter().map(|x| x.0).collect();
            let (lo, hi) = stats::terciles(&vols);
            regimes.push(RegimeBounds {
                asset: asset.clone(),
                competition: comp,
                calm_below: lo,
                stressed_above: hi,
            });
            for regime in Regime::ALL {
                let keep = |v: f64| match regime {
                    Regime::All => true,
                    Regime::Calm => v <= lo,
                    Regime::Mid => v > lo && v <= hi,
                    Regime::Stressed => v > hi,
                };
                let mut prompts: Vec<Scored> = list
                    .iter()
                    .filter(|x| keep(x.0))
                    .map(|x| x.1.clone())
                    .collect();
                if prompts.is_empty() {
                    continue;
                }
                prompts.sort_by_key(|p| p.start);
                let alone = Stratum {
                    weight: 1.0,
                    prompts,
                };
                groups.push(Group {
                    competition: comp,
                    scope: asset.clone(),
                    regime,
                    ratios: ratios(
                        std::slice::from_ref(&alone),
                        n,
                        reference,
                        against,
                        horizon,
                        cfg.resamples,
                    ),
                });
                pooled.entry(regime).or_default().push((
                    asset.clone(),
                    Stratum {
                        weight: sn50::config::asset_coefficient(&sn50::asset::canonical_asset(
                            asset,
                        )),
                        prompts: alone.prompts,
                    },
                ));
            }
        }
        for (regime, strata) in pooled {
            let strata: Vec<Stratum> = strata.into_iter().map(|s| s.1).collect();
            groups.push(Group {
                competition: comp,
                scope: WEIGHTED.into(),
                regime,
                ratios: ratios(&strata, n, reference, against, horizon, cfg.resamples),
            });
        }
    }
    let blocks = plans
        .iter()
        .map(|p| BlockSummary {
            asset: p.block.asset.clone(),
            competition: p.competition,
            index: p.block.index,
            first: market::timeparse::format_utc(p.block.first),
            last: market::timeparse::format_utc(p.block.last),
            scheduled: p.scheduled,
            prompts: p.prompts.len(),
            scored: results
                .iter()
                .filter(|r| {
                    r.status == PromptStatus::Scored
                        && r.prompt.competition == p.competition
                        && r.prompt.asset == p.block.asset
                        && r.prompt.start_time >= p.from
                        && r.prompt.start_time < p.to
                })
                .count(),
        })
        .collect();
    let periods = period_shares(&plans, &results, &cfg.competitions, n, cfg.gap_secs);
    let method = format!(
        "blocks: 1-minute history split at gaps over {:.1} days; prompts: the validators' \
         schedule from {:.1} days after a block's start to a horizon (+3 min) before its end, \
         evenly thinned to {} per block, asset and competition (deterministic, the same for \
         every competitor); every model fits on each prompt's past only (history cut at the \
         request); regimes: terciles, per asset and competition, of the RMS 1-minute log return \
         over each prompt's horizon; intervals: paired circular block bootstrap of the prompts \
         ({} resamples, stratified by asset, blocks as long as a horizon spans prompts, seed \
         {:#x}), 5th–95th percentile; SN50-weighted = Σ coef·mean CRPS / Σ coef·mean GBM CRPS; \
         reward shares: the validators' moving average and softmax over these thinned prompts, \
         per period (blocks of all assets merged where they overlap), averaged over up to 50 \
         cutoffs",
        cfg.gap_secs as f64 / 86_400.0,
        cfg.warmup_secs as f64 / 86_400.0,
        if cfg.prompts_per_block == 0 {
            "no limit".to_string()
        } else {
            cfg.prompts_per_block.to_string()
        },
        cfg.resamples,
        stats::BOOTSTRAP_SEED
    );
    Ok((
        WalkForwardReport {
            config: cfg.clone(),
            competitors: names,
            blocks,
            regimes,
            groups,
            periods,
            invalid_prompts,
            skipped,
            method,
            notes,
        },
        results,
    ))
}

/// The walk-forward's competitors: [`resolve_competitors`](crate::resolve_competitors) for
/// every name but [`oracle::ORACLE_HOURLY_VOL`], which is the evaluation-only oracle (kept in
/// the order named).
pub fn resolve(
    names: &[String],
    assets: &[String],
    competitions: &[Competition],
    archive: &mut dyn FnMut() -> Result<research::Archive, BacktestError>,
) -> Result<(Vec<Competitor>, Vec<String>), BacktestError> {
    let is_oracle = |n: &String| n.trim() == oracle::ORACLE_HOURLY_VOL;
    let is_scaled = |n: &String| n.contains('*');
    let models: Vec<String> = names
        .iter()
        .filter(|n| !is_oracle(n) && !is_scaled(n))
        .cloned()
        .collect();
    let (mut out, notes) = crate::resolve_competitors(&models, assets, competitions, archive)?;
    // `<baseline>*<k>`: the spread diagnostic, kept in the order named.
    for (pos, raw) in names.iter().enumerate().filter(|(_, n)| is_scaled(n)) {
        let c = scaled(raw.trim())?;
        if out.iter().any(|o| o.name == c.name) {
            return Err(BacktestError::Invalid(format!(
                "competitor {:?} named twice",
                c.name
            )));
        }
        let before = names[..pos]
            .iter()
            .filter(|n| !n.trim().is_empty() && !is_oracle(n))
            .count();
        out.insert(before.min(out.len()), c);
    }
    if let Some(pos) = names.iter().position(is_oracle) {
        if names.iter().filter(|n| is_oracle(n)).count() > 1 {
            return Err(BacktestError::Invalid(format!(
                "competitor {:?} named twice",
                oracle::ORACLE_HOURLY_VOL
            )));
        }
        let before = names[..pos].iter().filter(|n| !n.trim().is_empty()).count();
        out.insert(before.min(out.len()), Competitor::oracle_hourly_vol());
    }
    Ok((out, notes))
}

/// `<baseline>*<k>` (e.g. `mix_sess*1.05`): the baseline with every path's log move from the
/// start price times `k`; `<baseline>*<k>~<d>`: each path's factor `k·exp(d·z)`, `z` standard
/// normal (a scale mixture: `models::baselines::Scaled`). Evaluation-only diagnostics of
/// whether a model's spread or shape is biased (per regime). `k` in (0, 10], `d` in [0, 2].
pub fn scaled(name: &str) -> Result<Competitor, BacktestError> {
    let bad = || {
        BacktestError::Invalid(format!(
            "competitor {name:?}: a spread diagnostic is <statistical model>*<factor in (0, 10]> \
             with an optional ~<dispersion in [0, 2]>, e.g. mix_sess*1.05 or mix_sess*0.95~0.2"
        ))
    };
    let (model, rest) = name.split_once('*').ok_or_else(bad)?;
    let (k, d) = rest.split_once('~').unwrap_or((rest, "0"));
    let k: f64 = k.trim().parse().map_err(|_| bad())?;
    let d: f64 = d.trim().parse().map_err(|_| bad())?;
    if !(k > 0.0 && k <= 10.0 && (0.0..=2.0).contains(&d)) {
        return Err(bad());
    }
    let inner = match crate::competitor::classify(model.trim()).map_err(|_| bad())? {
        crate::competitor::NameKind::Statistical(b) => baseline(b),
        crate::competitor::NameKind::Default => Some(models::baselines::default_model()),
        _ => None,
    }
    .ok_or_else(bad)?;
    Ok(Competitor::new(
        name,
        std::sync::Arc::new(models::baselines::Scaled {
            inner,
            k,
            dispersion: d,
        }),
    ))
}

/// The scope name of the SN50-weighted pool of assets.
pub const WEIGHTED: &str = "SN50-weighted";

/// Reward shares per period. Periods: the spans of the blocks that hold prompts, merged across
/// assets where they overlap or lie less than `gap_secs` apart. In each, per competition the
/// validators' weights at its last scored time ([`final_weights`]), and the combined share
/// averaged over up to 50 cutoffs of the period ([`share_timeline`]: what the softmax paid on
/// average while the period ran, less noisy than one cutoff when prompts are thinned).
fn period_shares(
    plans: &[BlockPlan],
    results: &[PromptResult],
    competitions: &[Competition],
    n: usize,
    gap_secs: i64,
) -> Vec<PeriodShares> {
    let mut spans: Vec<(i64, i64)> = plans
        .iter()
        .filter(|p| !p.prompts.is_empty())
        .map(|p| (p.block.first, p.block.last))
        .collect();
    spans.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 + gap_secs => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    let mut out = Vec::new();
    for (a, b) in merged {
        let part: Vec<PromptResult> = results
            .iter()
            .filter(|r| {
                r.status == PromptStatus::Scored
                    && r.prompt.start_time >= a
                    && r.prompt.start_time <= b
            })
            .cloned()
            .collect();
        let (Some(first), Some(last)) = (
            part.iter().map(|r| r.prompt.start_time).min(),
            part.iter().map(|r| r.prompt.start_time).max(),
        ) else {
            continue;
        };
        let mut per_competition = BTreeMap::new();
        for &c in competitions {
            if let Some(w) = final_weights(&part, c, n) {
                let pairs: Vec<(i64, f64)> = w
                    .weight
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| (k as i64, x))
                    .collect();
                per_competition.insert(c, shares(&pairs, n));
            }
        }
        let timeline = share_timeline(&part, competitions, n, 50);
        let mut combined = vec![0.0; n];
        for snap in &timeline {
            for (m, s) in combined.iter_mut().zip(&snap.share) {
                *m += s / timeline.len() as f64;
            }
        }
        let assets: std::collections::BTreeSet<String> =
            part.iter().map(|r| r.prompt.asset.clone()).collect();
        out.push(PeriodShares {
            from: market::timeparse::format_utc(first),
            to: market::timeparse::format_utc(last),
            prompts: part.len(),
            assets: assets.into_iter().collect(),
            per_competition,
            combined,
        });
    }
    out
}
