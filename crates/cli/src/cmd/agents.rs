//! Commands of the `agents` area: `pipeline` (the main job) and `agent` (one agent).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Subcommand, ValueEnum};

use crate::{CliError, CliResult};

mod view;

/// Who plans (`--planner`).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PlannerArg {
    /// The LLM when one is configured, else the built-in planner; a key the LLM server refuses
    /// (401/403) switches to the built-in planner with a warning.
    Auto,
    /// The configured LLM only: a refused key fails the run.
    Llm,
    /// The built-in planner (TPE + successive halving); never calls an LLM.
    Builtin,
}

impl PlannerArg {
    fn resolve(self, builtin: bool) -> agents::Planner {
        match (builtin, self) {
            (true, _) | (_, PlannerArg::Builtin) => agents::Planner::Builtin,
            (_, PlannerArg::Llm) => agents::Planner::Llm,
            (_, PlannerArg::Auto) => agents::Planner::Auto,
        }
    }
}

/// Commands of the `agents` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run the research pipeline: Planner → Trainer → CodeChecker ⇄ Debugger → Publisher.
    ///
    /// Uses the LLM when CHUTES_API_KEY (or LLM_BASE_URL) is set, otherwise the built-in planner
    /// (TPE proposals + successive halving), which needs no network. Registers a champion when
    /// the best run beats the current one.
    Pipeline {
        /// Attempts per retrying stage (and check ⇄ fix rounds).
        #[arg(long, default_value_t = 3)]
        retries: u32,
        /// Base sampling temperature (raised by 0.1 per retry, capped at 1.0).
        #[arg(long, default_value_t = 0.1)]
        temperature: f64,
        /// Also publish the champion to every configured target (Hippius, Hugging Face Hub
        /// via HF_REPO_ID, W&B), each reported published / skipped / failed.
        #[arg(long)]
        publish: bool,
        /// Pipeline runs in a row; each builds on the registry the previous ones filled.
        #[arg(long, default_value_t = 1)]
        loops: u32,
        /// Experiments trained per loop.
        #[arg(long, default_value_t = 4)]
        max_experiments: u32,
        /// Wall-clock budget over all loops, in minutes (at most 10080, 7 days).
        #[arg(long, value_parser = super::args::minutes)]
        budget_minutes: Option<Duration>,
        /// SN50 asset.
        #[arg(long, default_value = "BTC", value_parser = super::args::asset)]
        asset: String,
        /// Timeframe: 5m (SN50 LOW, 24 h at 5-minute steps) or 1m (HIGH, 1 h at 1-minute steps).
        #[arg(long, default_value = "5m", value_parser = super::args::timeframe())]
        timeframe: sn50::Timeframe,
        /// Epochs of the first successive-halving rung (the survivors get 3×).
        #[arg(long, default_value_t = 2)]
        min_epochs: u32,
        /// Training windows per experiment: the most recent N (0 = the whole history).
        #[arg(long, default_value_t = agents::research_binding::DEFAULT_MAX_WINDOWS)]
        max_windows: usize,
        /// A JSON pipeline definition replacing the default stage list.
        #[arg(long)]
        pipeline: Option<PathBuf>,
        /// What you want, in words ("focus on ETH 1m, avoid transformers"): the LLM planner
        /// reads it; the built-in planner acts on the assets, timeframes and model families it
        /// recognises and logs what it understood.
        #[arg(long, value_parser = guidance_arg)]
        guidance: Option<String>,
        /// auto: the LLM when configured (CHUTES_API_KEY or LLM_BASE_URL), else the built-in
        /// planner, and the built-in planner after a refused key; llm: the LLM only; builtin.
        #[arg(long, value_enum, default_value = "auto")]
        planner: PlannerArg,
        /// Same as --planner builtin.
        #[arg(long, conflicts_with = "planner")]
        builtin: bool,
        /// Base seed.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Training device: cpu, cuda, cuda:N or auto. With SYNTH_CITY_WORKERS set the
        /// experiments go to those workers (each trains on its own --device); this machine
        /// is the fallback.
        #[arg(long, default_value = "auto", env = "SYNTH_CITY_DEVICE")]
        device: models::device::DeviceChoice,
        /// Print the summary as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Evolutionary research: a population of neural candidates; each generation mutates the
    /// best half (the Author writes new components and scripts when an LLM is configured; the
    /// built-in planner mutates parameters only, and says so), every candidate is scored on the
    /// same held-out prompts, lineage is recorded, and the best is offered for promotion (the
    /// paired comparison with the champion).
    Evolve {
        /// Generations after the first (1-50).
        #[arg(long, default_value_t = 2)]
        generations: u32,
        /// Candidates per generation (2-32).
        #[arg(long, default_value_t = 4)]
        population: u32,
        /// SN50 asset.
        #[arg(long, default_value = "BTC", value_parser = super::args::asset)]
        asset: String,
        /// Timeframe: 5m (LOW) or 1m (HIGH).
        #[arg(long, default_value = "5m", value_parser = super::args::timeframe())]
        timeframe: sn50::Timeframe,
        /// Epochs of the first generation's candidates.
        #[arg(long, default_value_t = 2)]
        epochs: u32,
        /// Training windows per experiment: the most recent N (0 = the whole history).
        #[arg(long, default_value_t = agents::research_binding::DEFAULT_MAX_WINDOWS)]
        max_windows: usize,
        /// What you want, in words (as for `pipeline --guidance`).
        #[arg(long, value_parser = guidance_arg)]
        guidance: Option<String>,
        /// auto, llm or builtin (as for `pipeline`).
        #[arg(long, value_enum, default_value = "auto")]
        planner: PlannerArg,
        /// Do not offer the best candidate for promotion.
        #[arg(long)]
        no_promote: bool,
        /// Seed of proposals and mutations.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Print the report (every candidate with its parent) as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Run one agent (planner, trainer, codechecker, debugger, publisher) with a message.
    Agent {
        /// Agent name.
        #[arg(long)]
        name: String,
        /// Task message.
        #[arg(long, default_value = "Begin the task.")]
        message: String,
        /// Sampling temperature.
        #[arg(long, default_value_t = 0.1)]
        temperature: f64,
        /// SN50 asset put in the agent's task state.
        #[arg(long, default_value = "BTC", value_parser = super::args::asset)]
        asset: String,
        /// Timeframe put in the agent's task state.
        #[arg(long, default_value = "5m", value_parser = super::args::timeframe())]
        timeframe: sn50::Timeframe,
        /// Use the built-in policy even when an LLM is configured.
        #[arg(long)]
        builtin: bool,
    },
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Pipeline {
            retries,
            temperature,
            publish,
            loops,
            max_experiments,
            budget_minutes,
            asset,
            timeframe,
            min_epochs,
            max_windows,
            pipeline,
            guidance,
            planner,
            builtin,
            seed,
            device,
            json,
        } => {
            if !(0.0..=2.0).contains(&temperature) {
                return Err(CliError::input("--temperature must be between 0 and 2"));
            }
            if retries == 0 || loops == 0 || max_experiments == 0 || min_epochs == 0 {
                return Err(CliError::input(
                    "--retries, --loops, --max-experiments and --min-epochs must be at least 1",
                ));
            }
            let budget = budget_minutes;
            if let Some(p) = &pipeline {
                agents::PipelineDef::load(p).map_err(CliError::input)?;
            }
            let opts = agents::PipelineOptions {
                retries,
                temperature,
                publish,
                loops,
                max_experiments: Some(max_experiments),
                budget,
                asset: asset.to_ascii_uppercase(),
                timeframe: timeframe.as_str().to_string(),
                min_epochs,
                pipeline_file: pipeline,
                force_builtin: planner.resolve(builtin) == agents::Planner::Builtin,
                seed,
                guidance,
                announcer: agents::tools::announce::Announcer::from_env(),
                ..agents::PipelineOptions::default()
            };
            let (brains, meter) =
                agents::choose_planner(planner.resolve(builtin)).map_err(CliError::input)?;
            device
                .resolve()
                .map_err(|e| CliError::input(e.to_string()))?;
            let runner = crate::cmd::worker::dispatch(
                research::ModelsRunner::new().with_device(device),
                None,
            )?;
            let backend = agents::research_binding::open_default_on(max_windows, runner)
                .map_err(CliError::runtime)?;
            let mut live = view::Live::new(!json);
            let reports = agents::run_pipeline_blocking_with(backend, brains, meter, &opts, |e| {
                live.on_event(e)
            })
            .map_err(CliError::runtime)?;
            live.finish();
            let summary = agents::runner::summarise(&reports);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summary).unwrap_or_default()
                );
            } else {
                view::print_summary(&reports);
                if let Some(r) = reports.first() {
                    println!(
                        "reports and agent transcripts saved: synth-city history show {}",
                        r.run_id
                    );
                }
            }
            let ok = reports.iter().all(|r| r.success);
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Evolve {
            generations,
            population,
            asset,
            timeframe,
            epochs,
            max_windows,
            guidance,
            planner,
            no_promote,
            seed,
            json,
        } => {
            if generations == 0 || population < 2 || epochs == 0 {
                return Err(CliError::input(
                    "--generations and --epochs must be at least 1, --population at least 2",
                ));
            }
            let (brains, _meter) =
                agents::choose_planner(planner.resolve(false)).map_err(CliError::input)?;
            let backend = agents::research_binding::open_default_on(
                max_windows,
                crate::cmd::worker::dispatch(research::ModelsRunner::new(), None)?,
            )
            .map_err(CliError::runtime)?;
            let opts = agents::evolve::EvolveOptions {
                generations,
                population,
                asset: asset.to_ascii_uppercase(),
                timeframe: timeframe.as_str().to_string(),
                epochs,
                seed,
                guidance,
                announcer: agents::tools::announce::Announcer::from_env(),
                promote: !no_promote,
                ..agents::evolve::EvolveOptions::default()
            };
            let mut live = view::Live::new(!json);
            let report =
                agents::run_evolution_blocking_with(backend, brains, &opts, |e| live.on_event(e))
                    .map_err(CliError::runtime)?;
            live.finish();
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            } else {
                println!(
                    "evolution {} — mutations by {}",
                    report.run_id, report.mutator
                );
                println!(
                    "{:<10} {:<10} {:>12}  mutation",
                    "candidate", "parent", "crps"
                );
                for c in &report.candidates {
                    let crps = c
                        .crps
                        .map_or_else(|| "-".to_string(), |x| format!("{x:.6}"));
                    println!(
                        "{:<10} {:<10} {:>12}  {}",
                        c.id,
                        c.parent.as_deref().unwrap_or("-"),
                        crps,
                        c.error.as_deref().unwrap_or(&c.mutation)
                    );
                }
                match &report.best {
                    Some(b) => println!(
                        "best: {} (run {})",
                        b.id,
                        b.run_id.as_deref().unwrap_or("-")
                    ),
                    None => println!("no candidate could be evaluated"),
                }
                if let Some(p) = &report.promotion {
                    println!("promotion: {p}");
                }
            }
            Ok(if report.best.is_some() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Agent {
            name,
            message,
            temperature,
            asset,
            timeframe,
            builtin,
        } => {
            // Built-in agents and the ones stored as data (written by the AgentDesigner or a bot).
            let archive =
                research::Archive::open_default().map_err(|e| CliError::runtime(e.to_string()))?;
            let defs = agents::DefStore::new(std::sync::Arc::new(archive), agents::LOCAL_OWNER);
            let book = defs.book().map_err(|e| CliError::runtime(e.to_string()))?;
            if book.get(&name).is_none() {
                return Err(CliError::input(format!(
                    "unknown agent `{name}`; known: {}",
                    book.names().join(", ")
                )));
            }
            let asset = asset.to_ascii_uppercase();
            let backend = agents::research_binding::open_default(
                agents::research_binding::DEFAULT_MAX_WINDOWS,
            )
            .map_err(CliError::runtime)?;
            let (brains, _meter) = agents::choose_brains(builtin).map_err(CliError::runtime)?;
            let mut state = agents::TaskState::new();
            state.insert("asset".into(), serde_json::json!(asset));
            state.insert("timeframe".into(), serde_json::json!(timeframe.as_str()));
            state.insert("experiment_budget".into(), serde_json::json!(4));
            let mut live = view::Live::new(true);
            let r = agents::run_agent_blocking(
                backend,
                brains,
                Some(defs),
                &name,
                Some(&message),
                Some(temperature),
                state,
                |e| live.on_event(e),
            )
            .map_err(CliError::runtime)?;
            live.finish();
            println!("agent:    {}", r.agent);
            println!("success:  {}", r.success);
            println!("finish:   {:?}", r.how);
            println!("turns:    {}", r.turns);
            println!(
                "tokens:   {} prompt, {} completion",
                r.usage.prompt_tokens, r.usage.completion_tokens
            );
            if let Some(f) = &r.finish {
                println!(
                    "result:\n{}",
                    serde_json::to_string_pretty(&f.result).unwrap_or_default()
                );
            }
            let text: String = r.raw_text.chars().take(2000).collect();
            println!("text:     {text}");
            Ok(if r.success {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// `--guidance`: at most 2,000 characters (the bridge's limit too).
fn guidance_arg(s: &str) -> Result<String, String> {
    let n = s.chars().count();
    if n > 2_000 {
        return Err(format!("at most 2000 characters, got {n}"));
    }
    Ok(s.to_string())
}
