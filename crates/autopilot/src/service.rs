//! The service: the miner's axon serving on its listener while one worker runs the parts in
//! turn (sync, research, promotion with hot swap) as the schedule says, the state saved after
//! every step. Ctrl-C / SIGTERM (the miner's `shutdown_signal`): the axon stops accepting and
//! answers what it holds, the step in progress gets `stop_grace` to finish, the state is saved
//! as stopped. A step cut off by the stop (or a crash) is named in the state and runs first
//! after the restart; what it finished (runs, comparisons) is kept.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use miner::{AutoSync, AxonState};
use research::{Archive, ExperimentRunner, ModelsRunner};
use tokio::sync::watch;

use crate::config::{AutopilotConfig, ResearchMode};
use crate::metrics::AutopilotMetrics;
use crate::schedule::{due_now, wait_secs, Intervals, Part};
use crate::state::{AutopilotState, StateError};
use crate::{promote_task, research_task, sync_task};

/// Why the service could not run.
#[derive(Debug, thiserror::Error)]
pub enum AutopilotError {
    /// Settings that cannot work.
    #[error("{0}")]
    Config(String),
    /// The state file.
    #[error(transparent)]
    State(#[from] StateError),
    /// The axon's listener.
    #[error("axon: {0}")]
    Io(#[from] std::io::Error),
}

/// What a step needs, shared with its worker thread.
#[derive(Clone)]
struct Ctx {
    cfg: Arc<AutopilotConfig>,
    axon: Arc<AxonState>,
    sync: Arc<AutoSync>,
    archive: Arc<Archive>,
    metrics: Arc<AutopilotMetrics>,
    path: PathBuf,
    /// What evaluates promotion's paired comparisons (this machine unless [`Autopilot::with_runner`]).
    runner: Arc<dyn ExperimentRunner>,
}

/// The autopilot over a built axon, its history auto-sync and the research archive.
pub struct Autopilot {
    ctx: Ctx,
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

impl Autopilot {
    /// The service for `cfg`, serving `axon` (whose answerer's model cache is what the hot
    /// swap reloads), keeping its history fresh with `sync`, recording into `archive`.
    pub fn new(
        cfg: AutopilotConfig,
        axon: Arc<AxonState>,
        sync: Arc<AutoSync>,
        archive: Arc<Archive>,
    ) -> Result<Self, AutopilotError> {
        cfg.validate().map_err(AutopilotError::Config)?;
        let metrics = Arc::new(AutopilotMetrics::new(
            cfg.research.daily_experiments,
            cfg.research.daily_compute.as_secs_f64(),
        ));
        let path = cfg.state_path();
        Ok(Self {
            ctx: Ctx {
                cfg: Arc::new(cfg),
                axon,
                sync,
                archive,
                metrics,
                path,
                runner: Arc::new(ModelsRunner::new()),
            },
        })
    }

    /// Research rounds' experiments and promotion's paired comparisons run by `runner` instead
    /// of this machine's `ModelsRunner`: the worker pool of `SYNTH_CITY_WORKERS`
    /// (`worker::runner_from_env`).
    pub fn with_runner(mut self, runner: Arc<dyn ExperimentRunner>) -> Self {
        self.ctx.runner = runner;
        self
    }

    /// The service's metrics (also appended to the axon's `/metrics`).
    pub fn metrics(&self) -> &Arc<AutopilotMetrics> {
        &self.ctx.metrics
    }

    /// Serves on `listener` and runs the schedule until `shutdown` resolves (or
    /// `max_rounds` is reached); returns the final state.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<AutopilotState, AutopilotError> {
        let ctx = self.ctx;
        let cfg = ctx.cfg.clone();
        let mut state = AutopilotState::load(&ctx.path)?;
        if state.started_at.is_some() {
            state.restarts += 1;
        }
        if let Some(p) = &state.in_progress {
            tracing::warn!(step = %p, "the last run stopped during this step: it runs again first");
        }
        state.pid = Some(std::process::id());
        state.started_at = Some(now());
        state.running = true;
        state.listen = Some(listener.local_addr()?.to_string());
        state.save(&ctx.path)?;
        ctx.metrics.set_state(&state);
        {
            let m = ctx.metrics.clone();
            ctx.axon.add_metrics(Arc::new(move || m.render()));
        }
        ctx.axon.set_autosync(ctx.sync.clone());

        let (stop_tx, mut stop_rx) = watch::channel(false);
        let stop_tx = Arc::new(stop_tx);
        {
            let tx = stop_tx.clone();
            tokio::spawn(async move {
                shutdown.await;
                tx.send_replace(true);
            });
        }
        let server = {
            let mut rx = stop_tx.subscribe();
            let axon = ctx.axon.clone();
            tokio::spawn(async move {
                miner::serve::serve_until(listener, axon, async move {
                    let _ = rx.wait_for(|v| *v).await;
                })
                .await
            })
        };
        tracing::info!(research = %cfg.research.mode.label(), state = %ctx.path.display(), "autopilot started");

        let iv = Intervals {
            sync: cfg.sync_every,
            research: cfg.research_every,
            promote: cfg.promote_every,
        };
        let research_on = cfg.research.mode != ResearchMode::Off;
        let mut rounds_here = 0u32;
        loop {
            if *stop_rx.borrow() {
                break;
            }
            let Some(part) = due_now(&state, &iv, now(), research_on) else {
                let wait = Duration::from_secs(
                    wait_secs(&state, &iv, now(), research_on).clamp(1, 60) as u64,
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(&mut stop_rx) => {}
                }
                continue;
            };
            state.in_progress = Some(part.as_str().to_string());
            part_mut(&mut state, part).last_started = Some(now());
            state.save(&ctx.path)?;
            let (tx, mut rx) = tokio::sync::oneshot::channel();
            {
                let (ctx, state) = (ctx.clone(), state.clone());
                std::thread::Builder::new()
                    .name(format!("autopilot-{}", part.as_str()))
                    .spawn(move || {
                        let _ = tx.send(step(part, &ctx, state));
                    })?;
            }
            let out = tokio::select! {
                r = &mut rx => r.ok(),
                _ = stopped(&mut stop_rx) => {
                    tracing::info!(step = part.as_str(), grace_s = cfg.stop_grace.as_secs(), "stopping: waiting for the step in progress");
                    tokio::time::timeout(cfg.stop_grace, &mut rx).await.ok().and_then(Result::ok)
                }
            };
            let Some((after, result)) = out else {
                // Cut off: keep what the step saved; it runs again after the restart.
                tracing::warn!(
                    step = part.as_str(),
                    "stopped before the step finished; it runs again after a restart"
                );
                state = AutopilotState::load(&ctx.path).unwrap_or(state);
                break;
            };
            state = after;
            state.in_progress = None;
            let p = part_mut(&mut state, part);
            p.last_finished = Some(now());
            match result {
                Ok(msg) => {
                    p.rounds += 1;
                    tracing::info!(step = part.as_str(), result = %msg, "step done");
                    p.last_result = Some(msg);
                }
                Err(msg) => {
                    p.failures += 1;
                    tracing::warn!(step = part.as_str(), error = %msg, "step failed");
                    p.last_result = Some(format!("failed: {msg}"));
                }
            }
            state.save(&ctx.path)?;
            ctx.metrics.set_state(&state);
            let counts = if research_on {
                Part::Research
            } else {
                Part::Promote
            };
            if part == counts {
                rounds_here += 1;
            }
            if part == Part::Promote && cfg.max_rounds.is_some_and(|n| rounds_here >= n) {
                tracing::info!(rounds = rounds_here, "the rounds asked for are done");
                break;
            }
        }
        state.running = false;
        state.save(&ctx.path)?;
        stop_tx.send_replace(true);
        match server.await {
            Ok(r) => r?,
            Err(e) => return Err(AutopilotError::Io(std::io::Error::other(e.to_string()))),
        }
        tracing::info!("autopilot stopped");
        Ok(state)
    }
}

/// Resolves once a stop is asked for (the watch's guard is not held across an await).
async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

fn part_mut(s: &mut AutopilotState, p: Part) -> &mut crate::state::PartState {
    match p {
        Part::Sync => &mut s.sync,
        Part::Research => &mut s.research,
        Part::Promote => &mut s.promote,
    }
}

/// Runs one step on the worker thread; returns the state it changed and its result.
fn step(
    part: Part,
    ctx: &Ctx,
    mut state: AutopilotState,
) -> (AutopilotState, Result<String, String>) {
    let m = &ctx.metrics;
    let result = match part {
        Part::Sync => {
            let r = sync_task::run(&ctx.sync);
            m.update(|c| match r {
                Ok(_) => c.sync_ok += 1,
                Err(_) => c.sync_failed += 1,
            });
            r
        }
        Part::Research => research(ctx, &mut state),
        Part::Promote => {
            let path = ctx.path.clone();
            let mut save = |s: &mut AutopilotState| {
                if let Err(e) = s.save(&path) {
                    tracing::warn!(error = %e, "could not save the autopilot state");
                }
            };
            let axon = ctx.axon.clone();
            let swap =
                move |asset: &str, c: sn50::Competition| axon.answerer().models().reload(asset, c);
            let r = promote_task::run_round(
                &ctx.cfg,
                &ctx.archive,
                ctx.runner.as_ref(),
                &mut state,
                &mut save,
                &swap,
            );
            m.update(|c| {
                c.compared += u64::from(r.compared);
                c.promoted += u64::from(r.promoted);
                c.refused += u64::from(r.compared - r.promoted);
                c.swaps += r.swapped.len() as u64;
                if !r.errors.is_empty() {
                    c.promote_failed += 1;
                }
            });
            let msg = format!(
                "{} compared, {} promoted, swapped: {}",
                r.compared,
                r.promoted,
                if r.swapped.is_empty() {
                    "none".to_string()
                } else {
                    r.swapped.join(", ")
                }
            );
            if r.errors.is_empty() {
                Ok(msg)
            } else {
                Err(format!("{msg}; {}", r.errors.join("; ")))
            }
        }
    };
    (state, result)
}

fn research(ctx: &Ctx, state: &mut AutopilotState) -> Result<String, String> {
    let m = &ctx.metrics;
    let cfg = &ctx.cfg;
    let day = today();
    let budget = state.budget.for_day(&day).clone();
    let left = match research_task::budget_left(cfg, &budget) {
        Ok(n) => n,
        Err(why) => {
            m.update(|c| c.research_skipped_budget += 1);
            return Ok(format!("skipped: {why}"));
        }
    };
    let compute_left = cfg
        .research
        .daily_compute
        .saturating_sub(Duration::from_secs_f64(budget.compute_secs.max(0.0)));
    match research_task::run_round(
        cfg,
        &ctx.archive,
        left,
        compute_left,
        state.research.rounds,
        &ctx.runner,
    ) {
        Ok(r) => {
            let b = state.budget.for_day(&day);
            b.experiments = b.experiments.saturating_add(r.experiments);
            b.compute_secs += r.secs;
            state.add_runs(r.runs.iter().cloned());
            m.update(|c| {
                c.research_rounds += 1;
                c.experiments += u64::from(r.experiments);
            });
            let msg = format!(
                "{} experiment(s), {} run(s), {:.0} s",
                r.experiments,
                r.runs.len(),
                r.secs
            );
            if r.errors.is_empty() || !r.runs.is_empty() {
                if !r.errors.is_empty() {
                    tracing::warn!(errors = %r.errors.join("; "), "some experiments failed");
                }
                Ok(msg)
            } else {
                m.update(|c| c.research_failed += 1);
                Err(format!("{msg}; {}", r.errors.join("; ")))
            }
        }
        Err(e) => {
            m.update(|c| c.research_failed += 1);
            Err(e)
        }
    }
}
