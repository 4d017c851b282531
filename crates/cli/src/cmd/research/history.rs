//! `history`, `history show ID` and the `champion` listing.

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use research::{Archive, HistoryOrder, HistoryQuery, RunRecord};

use super::{cli_err, num, print_json};
use crate::{CliError, CliResult};

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Order {
    Best,
    Recent,
    Worst,
}

/// Arguments of `history`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct HistoryArgs {
    #[command(subcommand)]
    show: Option<ShowCmd>,
    /// At most this many runs.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// best / worst: by CRPS (successful runs only); recent: newest first (failures too).
    #[arg(long, value_enum, default_value = "recent")]
    order: Order,
    /// Only runs scored on this asset (ranked by their score on it).
    #[arg(long, value_parser = crate::cmd::args::asset)]
    asset: Option<String>,
    /// Only runs at this timeframe.
    #[arg(long, value_parser = crate::cmd::args::timeframe())]
    timeframe: Option<sn50::Timeframe>,
    /// Only runs whose backbone uses this block.
    #[arg(long, value_parser = crate::cmd::args::block)]
    block: Option<String>,
    /// Only runs with this head.
    #[arg(long, value_parser = crate::cmd::args::head)]
    head: Option<String>,
    /// Show how each block and head has done instead of the run list.
    #[arg(long)]
    trends: bool,
    /// Machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum ShowCmd {
    /// One run: metrics per asset and interval, artifacts, plots. A pipeline run id shows the
    /// pipeline's report: stages, experiments and agent transcripts.
    Show {
        /// Run id (or a unique prefix of a run, experiment or pipeline run id).
        id: String,
        /// Machine-readable JSON on stdout (a pipeline run: its saved records, transcripts
        /// included).
        #[arg(long)]
        json: bool,
    },
    /// What was published to the Hugging Face Hub (`synth-city publish hf`), newest first:
    /// repository, status, and the hf:// reference to pull it.
    Hf {
        /// At most this many publications.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// The saved pipeline runs (`synth-city pipeline`), newest first.
    Pipelines {
        /// At most this many loops.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Machine-readable JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Arguments of `champion`.
#[derive(Args, Debug)]
pub struct ChampionArgs {
    /// Only this asset.
    #[arg(long, value_parser = crate::cmd::args::asset)]
    asset: Option<String>,
    /// Only this timeframe.
    #[arg(long, value_parser = crate::cmd::args::timeframe())]
    timeframe: Option<sn50::Timeframe>,
    /// Machine-readable JSON on stdout.
    #[arg(long)]
    json: bool,
}

fn open() -> Result<Archive, CliError> {
    Archive::open(&market::home::data_dir(), None).map_err(cli_err)
}

pub fn history(a: HistoryArgs) -> CliResult {
    match a.show {
        Some(ShowCmd::Show { id, json }) => return show(&id, json),
        Some(ShowCmd::Pipelines { limit, json }) => return pipelines(limit, json),
        Some(ShowCmd::Hf { limit, json }) => return crate::cmd::publish::history_hf(limit, json),
        None => {}
    }
    if a.limit == 0 {
        return Err(CliError::input("--limit must be at least 1"));
    }
    let archive = open()?;
    if a.trends {
        let t = archive.registry.trends().map_err(cli_err)?;
        if a.json {
            print_json(&t)?;
        } else {
            for (title, rows) in [("BLOCK", &t.blocks), ("HEAD", &t.heads)] {
                println!(
                    "{title:<20} {:>5} {:>5} {:>6} {:>10} {:>10} {:>8}",
                    "RUNS", "OK", "FAILED", "BEST", "MEAN", "×BASE"
                );
                for r in rows.iter() {
                    println!(
                        "{:<20} {:>5} {:>5} {:>6} {:>10} {:>10} {:>8}",
                        r.name,
                        r.runs,
                        r.ok,
                        r.failed,
                        num(r.best_crps),
                        num(r.mean_crps),
                        num(r.mean_baseline_ratio)
                    );
                }
                println!();
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    let q = HistoryQuery {
        limit: a.limit,
        order: match a.order {
            Order::Best => HistoryOrder::Best,
            Order::Recent => HistoryOrder::Recent,
            Order::Worst => HistoryOrder::Worst,
        },
        asset: a.asset,
        timeframe: a.timeframe.map(|t| t.as_str().to_string()),
        block: a.block,
        head: a.head,
    };
    let runs = archive.registry.history(&q).map_err(cli_err)?;
    if a.json {
        print_json(&serde_json::json!({ "order": q.order, "count": runs.len(), "runs": runs }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        println!(
            "no runs yet (registry: {})",
            archive.registry.path().display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<21} {:<18} {:<28} {:<10} {:<3} {:<7} {:>10} {:>7} {:<16} BY",
        "RUN", "NAME", "MODEL", "ASSETS", "TF", "STATUS", "CRPS", "×BASE", "FINISHED"
    );
    for r in &runs {
        println!("{}", row(r));
    }
    Ok(ExitCode::SUCCESS)
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

fn model(r: &RunRecord) -> String {
    format!("{} + {}", r.blocks.join("+"), r.head)
}

fn row(r: &RunRecord) -> String {
    let status = match &r.error {
        Some(e) => clip(e.kind.as_str(), 7),
        None => r.status.as_str().into(),
    };
    format!(
        "{:<21} {:<18} {:<28} {:<10} {:<3} {:<7} {:>10} {:>7} {:<16} {}",
        clip(&r.run_id, 21),
        clip(&r.name, 18),
        clip(&model(r), 28),
        clip(&r.data.assets.join(","), 10),
        r.data.timeframe,
        status,
        num(r.crps),
        num(r.baseline_ratio),
        r.finished_at.format("%Y-%m-%d %H:%M"),
        r.requested_by.label()
    )
}

/// `history pipelines`: the saved pipeline loops, newest first.
fn pipelines(limit: usize, json: bool) -> CliResult {
    if limit == 0 {
        return Err(CliError::input("--limit must be at least 1"));
    }
    let archive = open()?;
    let loops = agents::saved::list(&archive, limit);
    if json {
        print_json(&loops)?;
        return Ok(ExitCode::SUCCESS);
    }
    if loops.is_empty() {
        println!("no pipeline runs saved yet (`synth-city pipeline` saves one per loop)");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<21} {:>4} {:<7} {:>5} {:>11} {:>10}  STAGES",
        "PIPELINE RUN", "LOOP", "RESULT", "EXPS", "TRANSCRIPTS", "BEST CRPS"
    );
    for l in &loops {
        println!(
            "{:<21} {:>4} {:<7} {:>5} {:>11} {:>10}  {}",
            l.run_id,
            l.loop_n,
            if l.success { "ok" } else { "failed" },
            l.experiments,
            l.transcripts,
            num(l.best_crps),
            l.stages.join(" ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `history show ID` for a saved pipeline run: each loop's stages, experiments and transcripts.
fn show_pipeline(loops: &[(agents::saved::SavedLoop, serde_json::Value)], json: bool) -> CliResult {
    if json {
        let records: Vec<&serde_json::Value> = loops.iter().map(|(_, v)| v).collect();
        print_json(&records)?;
        return Ok(ExitCode::SUCCESS);
    }
    for (l, v) in loops {
        let report = &v["report"];
        println!("pipeline run {}  loop {}", l.run_id, l.loop_n);
        println!("result       {}", if l.success { "ok" } else { "failed" });
        println!("best crps    {}", num(l.best_crps));
        println!("saved as     {}", l.key);
        println!("stages");
        for st in report["stages"].as_array().into_iter().flatten() {
            let stopped = st["stopped"]
                .as_str()
                .map(|s| format!("  (stopped: {})", clip(s, 100)))
                .unwrap_or_default();
            println!(
                "  {:<12} {:<7} attempts {}  {}{stopped}",
                st["name"].as_str().unwrap_or("?"),
                if st["success"].as_bool() == Some(true) {
                    "ok"
                } else {
                    "failed"
                },
                st["attempts"],
                clip(st["summary"].as_str().unwrap_or(""), 80)
            );
        }
        println!("experiments");
        for e in v["experiments"].as_array().into_iter().flatten() {
            println!("  {}", clip(&e.to_string(), 110));
        }
        println!(
            "transcripts (`history show {} --json` prints them)",
            l.run_id
        );
        for t in report["transcripts"].as_array().into_iter().flatten() {
            println!(
                "  {:<12} {} messages",
                t["agent"].as_str().unwrap_or("?"),
                t["messages"].as_array().map_or(0, Vec::len)
            );
        }
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

fn show(id: &str, json: bool) -> CliResult {
    let archive = open()?;
    let rec = match archive.registry.get_run(id) {
        Ok(rec) => rec,
        Err(e) if e.kind == research::ErrorKind::NotFound => {
            match agents::saved::find(&archive, id).map_err(CliError::input)? {
                Some(loops) => return show_pipeline(&loops, json),
                None => return Err(cli_err(e)),
            }
        }
        Err(e) => return Err(cli_err(e)),
    };
    let plots = research::report::plots_for(&archive, &rec).map_err(cli_err)?;
    if json {
        let artifacts: Vec<_> = rec
            .artifacts
            .iter()
            .map(|a| serde_json::json!({ "name": a.name, "key": a.key, "size": a.size, "sha256": a.sha256, "path": archive.artifact_path(a) }))
            .collect();
        print_json(&serde_json::json!({
            "run": rec,
            "record_path": archive.record_path(&rec.run_id),
            "artifacts": artifacts,
            "plots": plots,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    println!("run         {}", rec.run_id);
    println!("experiment  {}", rec.experiment_id);
    println!("name        {}", rec.name);
    println!("model       {}", model(&rec));
    println!(
        "data        {} {} {} → {} ({}), seed {}",
        rec.data.assets.join(","),
        rec.data.timeframe,
        rec.data.start,
        rec.data.end,
        rec.provenance.as_str(),
        rec.seed
    );
    println!("asked by    {}", rec.requested_by.label());
    println!("ran on      {}", rec.ran_on.as_deref().unwrap_or("-"));
    println!("status      {}", rec.status.as_str());
    if let Some(e) = &rec.error {
        println!("error       {}: {}", e.kind, e.message);
    }
    println!(
        "crps        {}   ×baseline {}",
        num(rec.crps),
        num(rec.baseline_ratio)
    );
    println!(
        "timings     train {:.1}s  eval {:.1}s  total {:.1}s",
        rec.timings.train_s, rec.timings.eval_s, rec.timings.total_s
    );
    println!("finished    {}", rec.finished_at.to_rfc3339());
    for (k, v) in &rec.extra {
        println!("{k:<11} {v}");
    }
    for s in &rec.scores {
        println!();
        println!(
            "{} {}: CRPS {} (baseline {}) over {} prompts",
            s.asset,
            s.timeframe,
            num(Some(s.crps)),
            num(s.baseline_crps),
            s.prompts
        );
        let mut intervals: Vec<(&String, &f64)> = s.per_interval.iter().collect();
        intervals.sort_by_key(|(k, _)| research::plot::interval_sort_key(k));
        for (interval, v) in intervals {
            println!("  {interval:<14} {:>10}", num(Some(*v)));
        }
    }
    println!();
    println!("artifacts");
    println!(
        "  {:<22} {:>12}  {}",
        "record.json",
        "",
        archive.record_path(&rec.run_id).display()
    );
    for a in &rec.artifacts {
        println!(
            "  {:<22} {:>10} B  {}",
            a.name,
            a.size,
            archive.artifact_path(a).display()
        );
    }
    if !plots.is_empty() {
        println!();
        println!("plots");
        for p in &plots {
            println!("  {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn champion(a: ChampionArgs) -> CliResult {
    let archive = open()?;
    let champs = archive
        .registry
        .champions(a.asset.as_deref(), a.timeframe.map(sn50::Timeframe::as_str))
        .map_err(cli_err)?;
    if a.json {
        print_json(&champs)?;
        return Ok(ExitCode::SUCCESS);
    }
    if champs.is_empty() {
        println!(
            "no champion yet: the miner serves the default model ({}); `synth-city champion \
             promote RUN` makes one",
            models::baselines::DEFAULT_MODEL
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<6} {:<3} {:>10} {:>10} {:<21} {:<24} PROMOTED",
        "ASSET", "TF", "CRPS", "BASELINE", "RUN", "MODEL"
    );
    for c in &champs {
        println!(
            "{:<6} {:<3} {:>10} {:>10} {:<21} {:<24} {}",
            c.asset,
            c.timeframe,
            num(Some(c.crps)),
            num(c.baseline_crps),
            clip(&c.run.run_id, 21),
            model(&c.run),
            c.promotion.as_ref().map_or_else(String::new, |p| format!(
                "{} by {}",
                p.promoted_at, p.promoted_by
            ))
        );
    }
    Ok(ExitCode::SUCCESS)
}
