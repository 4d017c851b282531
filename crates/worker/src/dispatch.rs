//! The one place a caller (CLI commands, the pipeline, the bridge) turns `SYNTH_CITY_WORKERS`
//! into the runner its research sessions use: the local runner itself when no worker is named,
//! else a [`WorkerPool`] in front of it (the local runner validates, resolves data and is the
//! fallback).

use std::sync::{Arc, Mutex, Weak};

use research::models_runner::ProgressFn;
use research::{ExperimentRunner, ModelsRunner};

use crate::config::{workers_from_env, WorkerAddr};
use crate::pool::WorkerPool;

/// The runner chosen for a process, and what was found.
pub struct Dispatch {
    /// The runner research sessions use.
    pub runner: Arc<dyn ExperimentRunner>,
    /// Workers named (in `SYNTH_CITY_WORKERS`).
    pub named: usize,
    /// Workers that answered their health check (the pool's members).
    pub alive: Vec<String>,
}

impl std::fmt::Debug for Dispatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatch")
            .field("named", &self.named)
            .field("alive", &self.alive)
            .finish()
    }
}

impl Dispatch {
    /// One line for people: where runs will go.
    pub fn describe(&self) -> String {
        if self.named == 0 {
            "running experiments on this machine".into()
        } else if self.alive.is_empty() {
            format!(
                "{}: no worker answered; running on this machine",
                crate::WORKERS_ENV
            )
        } else {
            format!(
                "dispatching to {} worker(s): {}",
                self.alive.len(),
                self.alive.join(", ")
            )
        }
    }
}

/// `local` behind the `workers`. With no worker, `local` itself unless `joinable` (rented
/// workers may join later: an empty pool that runs locally until one does). Remote epochs go
/// to `on_epoch`. The pool becomes the process's [`active`] one.
pub fn runner_for(
    local: ModelsRunner,
    workers: &[WorkerAddr],
    on_epoch: Option<Arc<ProgressFn>>,
    joinable: bool,
) -> Dispatch {
    if workers.is_empty() && !joinable {
        return Dispatch {
            runner: Arc::new(local),
            named: 0,
            alive: Vec::new(),
        };
    }
    let mut pool = WorkerPool::connect(Arc::new(local), workers);
    if let Some(f) = on_epoch {
        pool = pool.with_progress(f);
    }
    let pool = Arc::new(pool);
    *ACTIVE.lock().unwrap_or_else(|e| e.into_inner()) = Arc::downgrade(&pool);
    Dispatch {
        alive: pool.alive(),
        named: workers.len(),
        runner: pool,
    }
}

/// [`runner_for`] the workers of `SYNTH_CITY_WORKERS` (a malformed value is an error naming
/// the entry, never its token). Blocking: call it outside an async context.
pub fn runner_from_env(
    local: ModelsRunner,
    on_epoch: Option<Arc<ProgressFn>>,
    joinable: bool,
) -> Result<Dispatch, String> {
    Ok(runner_for(local, &workers_from_env()?, on_epoch, joinable))
}

/// The pool this process's research sessions run through, while one is in use.
static ACTIVE: Mutex<Weak<WorkerPool>> = Mutex::new(Weak::new());

/// The pool made by the last [`runner_for`] in this process, while it is in use.
pub fn active() -> Option<Arc<WorkerPool>> {
    ACTIVE.lock().unwrap_or_else(|e| e.into_inner()).upgrade()
}

/// Adds `w` to the [`active`] pool (a worker rented while a pipeline runs). `Ok(false)` when
/// this process has no pool in use (nothing dispatches here).
pub fn join(w: &WorkerAddr) -> Result<bool, String> {
    match active() {
        Some(p) => p.add(w).map(|()| true),
        None => Ok(false),
    }
}
