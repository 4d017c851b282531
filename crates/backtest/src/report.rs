//! What a backtest reports: per competitor and competition the mean CRPS (overall, per asset,
//! per interval), the smoothed score and the reward share; files: per-prompt CSVs, a summary
//! JSON and the plots.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::engine::{BacktestConfig, PromptResult, PromptStatus};
use crate::rewards::{final_weights, share_timeline, ShareSnapshot};
use crate::schedule::Competition;
use crate::BacktestError;

/// One competitor in one competition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompetitorStats {
    /// Competitor name.
    pub name: String,
    /// Mean CRPS total per scored prompt where it was valid.
    pub mean_crps: f64,
    /// Scored prompts where its answer was invalid (CRPS -1).
    pub invalid: usize,
    /// Mean CRPS total per asset.
    pub per_asset: BTreeMap<String, f64>,
    /// Mean CRPS per scoring interval.
    pub per_interval: BTreeMap<String, f64>,
    /// Mean prompt score (`min(crps, p90) - lowest`).
    pub mean_prompt_score: f64,
    /// The validator's smoothed score at the last scored time (lower is better).
    pub smoothed_score: Option<f64>,
    /// Its reward weight in this competition (the competition hands out 0.5).
    pub reward_weight: f64,
    /// Its share of this competition's rewards (`weight / 0.5`).
    pub reward_share: f64,
}

/// One competition's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompetitionSummary {
    /// Competition.
    pub competition: Competition,
    /// Prompts in the schedule.
    pub prompts: usize,
    /// Prompts scored.
    pub scored: usize,
    /// Skipped prompts by reason.
    pub skipped: BTreeMap<String, usize>,
    /// The moving average's cutoff (last scored time), ISO 8601.
    pub cutoff: Option<String>,
    /// Per competitor, in input order.
    pub competitors: Vec<CompetitorStats>,
}

impl CompetitionSummary {
    /// Every asset any competitor was scored on, sorted.
    pub fn assets(&self) -> Vec<String> {
        self.competitors
            .iter()
            .flat_map(|x| x.per_asset.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// The whole report (`summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The run's settings.
    pub config: BacktestConfig,
    /// `from` as ISO 8601.
    pub from: String,
    /// `to` as ISO 8601.
    pub to: String,
    /// Competitor names, in order.
    pub competitors: Vec<String>,
    /// Per competition.
    pub competitions: Vec<CompetitionSummary>,
    /// Per competitor: its share of all miners' rewards, LOW and HIGH combined as the validator
    /// does (each competition's weights sum to 0.5).
    pub combined_share: Vec<f64>,
    /// Reward shares over time (the plot's data).
    pub timeline: Vec<ShareSnapshot>,
    /// What was skipped and why (missing data, unloadable models).
    pub notes: Vec<String>,
}

/// Builds the summary of `results`.
pub fn summarise(
    cfg: &BacktestConfig,
    names: &[String],
    results: &[PromptResult],
    notes: Vec<String>,
) -> Summary {
    let n = names.len();
    let mut competitions = Vec::new();
    let mut combined: Vec<(i64, f64)> = Vec::new();
    for &comp in &cfg.competitions {
        let mine: Vec<&PromptResult> = results
            .iter()
            .filter(|r| r.prompt.competition == comp)
            .collect();
        let scored: Vec<&&PromptResult> = mine
            .iter()
            .filter(|r| r.status == PromptStatus::Scored)
            .collect();
        let mut skipped = BTreeMap::new();
        for r in &mine {
            if let PromptStatus::Skipped(why) = &r.status {
                *skipped.entry(why.clone()).or_insert(0) += 1;
            }
        }
        let w = final_weights(results, comp, n);
        if let Some(w) = &w {
            let pairs: Vec<(i64, f64)> = w
                .weight
                .iter()
                .enumerate()
                .map(|(i, &x)| (i as i64, x))
                .collect();
            combined = sn50::rewards::combine(&combined, &pairs);
        }
        let competitors = (0..n)
            .map(|i| {
                let (mut sum, mut k, mut invalid, mut ps) = (0.0, 0usize, 0usize, 0.0);
                let mut per_asset: BTreeMap<String, (f64, usize)> = BTreeMap::new();
                let mut per_interval: BTreeMap<String, (f64, usize)> = BTreeMap::new();
                for r in &scored {
                    ps += r.prompt_scores[i];
                    if r.crps[i] == -1.0 {
                        invalid += 1;
                        continue;
                    }
                    sum += r.crps[i];
                    k += 1;
                    let a = per_asset.entry(r.prompt.asset.clone()).or_default();
                    a.0 += r.crps[i];
                    a.1 += 1;
                    for (name, v) in &r.intervals[i] {
                        let e = per_interval.entry(name.clone()).or_default();
                        e.0 += v;
                        e.1 += 1;
                    }
                }
                let mean = |(s, k): (f64, usize)| if k == 0 { f64::NAN } else { s / k as f64 };
                let weight = w.as_ref().map_or(0.0, |w| w.weight[i]);
                CompetitorStats {
                    name: names[i].clone(),
                    mean_crps: mean((sum, k)),
                    invalid,
                    per_asset: per_asset.into_iter().map(|(a, v)| (a, mean(v))).collect(),
                    per_interval: per_interval
                        .into_iter()
                        .map(|(a, v)| (a, mean(v)))
                        .collect(),
                    mean_prompt_score: mean((ps, scored.len())),
                    smoothed_score: w.as_ref().and_then(|w| w.smoothed[i]),
                    reward_weight: weight,
                    reward_share: weight / comp.cfg().smoothed_score_coefficient,
                }
            })
            .collect();
        competitions.push(CompetitionSummary {
            competition: comp,
            prompts: mine.len(),
            scored: scored.len(),
            skipped,
            cutoff: w.map(|w| market::timeparse::format_utc(w.cutoff)),
            competitors,
        });
    }
    Summary {
        config: cfg.clone(),
        from: market::timeparse::format_utc(cfg.from),
        to: market::timeparse::format_utc(cfg.to),
        competitors: names.to_vec(),
        competitions,
        combined_share: crate::rewards::shares(&combined, n),
        timeline: share_timeline(results, &cfg.competitions, n, 200),
        notes,
    }
}

/// The summary as text tables (one per competition, then the combined shares).
pub fn table(s: &Summary) -> String {
    let mut out = String::new();
    let width = s
        .competitors
        .iter()
        .map(|c| c.len())
        .max()
        .unwrap_or(10)
        .max(10);
    for c in &s.competitions {
        let assets = c.assets();
        let _ = writeln!(
            out,
            "{} ({} prompts, {} scored{}{})",
            c.competition.label().to_uppercase(),
            c.prompts,
            c.scored,
            if c.skipped.is_empty() {
                String::new()
            } else {
                format!(", skipped: {}", fmt_counts(&c.skipped))
            },
            c.cutoff
                .as_ref()
                .map_or(String::new(), |t| format!(", weights at {t}"))
        );
        let _ = write!(out, "  {:<width$} {:>10}", "competitor", "CRPS");
        for a in &assets {
            let _ = write!(out, " {:>10}", a);
        }
        let _ = writeln!(out, " {:>8} {:>10} {:>7}", "invalid", "smoothed", "share");
        for x in &c.competitors {
            let _ = write!(out, "  {:<width$} {:>10.2}", x.name, x.mean_crps);
            for a in &assets {
                let _ = write!(
                    out,
                    " {:>10.2}",
                    x.per_asset.get(a).copied().unwrap_or(f64::NAN)
                );
            }
            let sm = x
                .smoothed_score
                .map_or("-".to_string(), |v| format!("{v:.3}"));
            let _ = writeln!(
                out,
                " {:>8} {:>10} {:>6.1}%",
                x.invalid,
                sm,
                100.0 * x.reward_share
            );
        }
    }
    let _ = writeln!(
        out,
        "Combined reward share (LOW + HIGH, as the validator combines them):"
    );
    for (name, sh) in s.competitors.iter().zip(&s.combined_share) {
        let _ = writeln!(out, "  {:<width$} {:>6.1}%", name, 100.0 * sh);
    }
    out
}

fn fmt_counts(m: &BTreeMap<String, usize>) -> String {
    m.iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `prompts.csv`, `intervals.csv`, `summary.json` and the plots into `dir` (created),
/// each file atomically; returns the paths written.
pub fn write_outputs(
    dir: &Path,
    s: &Summary,
    results: &[PromptResult],
) -> Result<Vec<PathBuf>, BacktestError> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    let p = dir.join("prompts.csv");
    write_atomic(&p, prompts_csv(&s.competitors, results).as_bytes())?;
    written.push(p);
    let p = dir.join("intervals.csv");
    write_atomic(&p, intervals_csv(&s.competitors, results).as_bytes())?;
    written.push(p);
    let p = dir.join("summary.json");
    let json = serde_json::to_string_pretty(s)
        .map_err(|e| BacktestError::Env(format!("summary json: {e}")))?;
    write_atomic(&p, json.as_bytes())?;
    written.push(p);
    written.extend(crate::plot::reward_share_chart(
        s,
        &dir.join("reward_share"),
    )?);
    written.extend(crate::plot::crps_by_asset_chart(
        s,
        &dir.join("crps_by_asset"),
    )?);
    Ok(written)
}

/// Writes `bytes` to `path` atomically ([`market::atomic::write_atomic`]: synced, never a
/// partial file).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BacktestError> {
    Ok(market::atomic::write_atomic(path, bytes)?)
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn num(x: f64) -> String {
    if x.is_nan() {
        String::new()
    } else {
        x.to_string()
    }
}

/// One row per prompt and competitor (one row per skipped prompt, with the reason).
pub fn prompts_csv(names: &[String], results: &[PromptResult]) -> String {
    let mut out = String::from(
        "competition,asset,request_time,start_time,start_iso,scored_time,status,competitor,crps,prompt_score,percentile90,lowest,error\n",
    );
    for r in results {
        let p = &r.prompt;
        let head = format!(
            "{},{},{},{},{},{}",
            p.competition.label(),
            p.asset,
            p.request_time,
            p.start_time,
            market::timeparse::format_utc(p.start_time),
            p.scored_time()
        );
        match &r.status {
            PromptStatus::Skipped(why) => {
                let _ = writeln!(out, "{head},skipped: {},,,,,,", csv_field(why));
            }
            PromptStatus::Scored => {
                for (i, name) in names.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "{head},scored,{},{},{},{},{},{}",
                        csv_field(name),
                        num(r.crps[i]),
                        num(r.prompt_scores[i]),
                        num(r.percentile90),
                        num(r.lowest),
                        csv_field(r.errors[i].as_deref().unwrap_or(""))
                    );
                }
            }
        }
    }
    out
}

/// One row per scored prompt, competitor and interval.
pub fn intervals_csv(names: &[String], results: &[PromptResult]) -> String {
    let mut out = String::from("competition,asset,start_time,competitor,interval,crps\n");
    for r in results.iter().filter(|r| r.status == PromptStatus::Scored) {
        for (i, name) in names.iter().enumerate() {
            for (iv, v) in &r.intervals[i] {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{}",
                    r.prompt.competition.label(),
                    r.prompt.asset,
                    r.prompt.start_time,
                    csv_field(name),
                    iv,
                    num(*v)
                );
            }
        }
    }
    out
}
