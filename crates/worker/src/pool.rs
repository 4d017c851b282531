//! The coordinator's side: [`WorkerPool`], a `research::ExperimentRunner` that runs each
//! experiment on a remote worker (the local CPU when none is alive) and hands the session a
//! result it records itself.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use research::models_runner::ProgressFn;
use research::runner::{ComponentJson, RunOutput};
use research::{
    DataRequest, ExperimentRunner, ModelsRunner, PresetInfo, ResearchError, ResolvedData, Result,
    Validation,
};
use serde_json::Value;

use crate::client::{is_worker_gone, CallError, WorkerClient};
use crate::config::WorkerAddr;
use crate::protocol::{sha256_hex, DataRef, JobSpec, JobState, PROTOCOL};

/// Consecutive failed polls after which a worker counts as dead for the job.
pub const MAX_POLL_FAILURES: u32 = 4;

struct Remote {
    client: WorkerClient,
    slots: usize,
}

#[derive(Default)]
struct Slots {
    remotes: Vec<Remote>,
    busy: Vec<usize>,
    alive: Vec<bool>,
}

/// Runs experiments on remote workers, in parallel up to their slots; local fallback.
pub struct WorkerPool {
    local: Arc<ModelsRunner>,
    slots: Mutex<Slots>,
    freed: Condvar,
    poll: Duration,
    progress: Option<Arc<ProgressFn>>,
}

impl std::fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self
            .lock()
            .remotes
            .iter()
            .map(|r| r.client.url().to_string())
            .collect();
        f.debug_struct("WorkerPool")
            .field("workers", &urls)
            .finish()
    }
}

/// What one attempt on a worker gave.
enum Attempt {
    /// The experiment ran (ok or failed on its own terms).
    Ran(Box<Result<RunOutput>>),
    /// The worker is gone or misbehaved: run the experiment elsewhere.
    Lost(String),
}

impl WorkerPool {
    /// A pool of `workers` in front of `local` (which validates, resolves data and is the
    /// fallback). Each worker's slots come from its health answer; one that does not answer
    /// is left out (with a warning).
    pub fn connect(local: Arc<ModelsRunner>, workers: &[WorkerAddr]) -> Self {
        let pool = Self {
            local,
            slots: Mutex::new(Slots::default()),
            freed: Condvar::new(),
            poll: Duration::from_millis(250),
            progress: None,
        };
        for w in workers {
            if let Err(e) = pool.add(w) {
                tracing::warn!(worker = %w.url, error = %e, "worker left out");
            }
        }
        pool
    }

    /// Adds a worker while the pool is in use (a GPU rented by the Trainer's `compute_up`):
    /// runs that start afterwards may go to it. Its health answer gives its slots; one that
    /// does not answer, or speaks another protocol, is refused. Adding a worker already in
    /// the pool (alive) changes nothing.
    pub fn add(&self, w: &WorkerAddr) -> std::result::Result<(), String> {
        let client = WorkerClient::new(w.clone())?;
        let h = client.health().map_err(|e| e.to_string())?;
        if h.protocol != PROTOCOL {
            return Err(format!(
                "{} speaks protocol {}, this coordinator {PROTOCOL}",
                w.url, h.protocol
            ));
        }
        let mut s = self.lock();
        if let Some(i) = s.remotes.iter().position(|r| r.client.url() == w.url) {
            if s.alive[i] {
                return Ok(());
            }
        }
        s.remotes.push(Remote {
            client,
            slots: h.slots.max(1),
        });
        s.busy.push(0);
        s.alive.push(true);
        drop(s);
        self.freed.notify_all();
        Ok(())
    }

    /// Polls job status every `poll` (default 250 ms).
    pub fn with_poll_interval(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// Reports remote training epochs to `f` (as the local runner's progress does).
    pub fn with_progress(mut self, f: Arc<ProgressFn>) -> Self {
        self.progress = Some(f);
        self
    }

    /// Workers that answered and have not died since.
    pub fn alive(&self) -> Vec<String> {
        let s = self.lock();
        s.remotes
            .iter()
            .zip(&s.alive)
            .filter(|(_, a)| **a)
            .map(|(r, _)| r.client.url().to_string())
            .collect()
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A free slot on a live worker (waiting while all are busy), or `None` when no worker is
    /// alive.
    fn acquire(&self) -> Option<(usize, WorkerClient)> {
        let mut s = self.lock();
        loop {
            if !s.alive.iter().any(|a| *a) {
                return None;
            }
            let best = (0..s.remotes.len())
                .filter(|&i| s.alive[i] && s.busy[i] < s.remotes[i].slots)
                .max_by_key(|&i| s.remotes[i].slots - s.busy[i]);
            if let Some(i) = best {
                s.busy[i] += 1;
                return Some((i, s.remotes[i].client.clone()));
            }
            s = self.freed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn release(&self, i: usize, dead: bool) {
        let mut s = self.lock();
        s.busy[i] = s.busy[i].saturating_sub(1);
        if dead {
            s.alive[i] = false;
        }
        self.freed.notify_all();
    }

    /// One attempt of `job` on worker `i`.
    fn attempt(
        &self,
        c: &WorkerClient,
        id: &str,
        job: &JobSpec,
        blobs: &[(String, Vec<u8>)],
    ) -> Attempt {
        // A refused token is the user's to fix, not a dead worker: say so instead of falling
        // back silently.
        let lost = |e: CallError| match e {
            CallError::Status {
                status: 401 | 403, ..
            } => Attempt::Ran(Box::new(Err(ResearchError::env(format!(
                "worker {} refused the token: set {} to url=token with its \
                 SYNTH_CITY_WORKER_TOKEN",
                c.url(),
                crate::WORKERS_ENV
            ))))),
            e => Attempt::Lost(e.to_string()),
        };
        for (sha, bytes) in blobs {
            match c.has_data(sha) {
                Ok(true) => {}
                Ok(false) => {
                    if let Err(e) = c.put_data(sha, bytes.clone()) {
                        return lost(e);
                    }
                }
                Err(e) => return lost(e),
            }
        }
        if let Err(e) = c.submit(id, job) {
            return match e {
                CallError::Status {
                    status, message, ..
                } if (400..500).contains(&status) => {
                    Attempt::Ran(Box::new(Err(ResearchError::invalid(format!(
                        "worker {} refused the job: {message}",
                        c.url()
                    )))))
                }
                e => lost(e),
            };
        }
        let (mut seen, mut failures) = (0usize, 0u32);
        loop {
            std::thread::sleep(self.poll);
            let st = match c.status(id, seen) {
                Ok(st) => {
                    failures = 0;
                    st
                }
                Err(CallError::Status { status: 404, .. }) => {
                    return Attempt::Lost(format!(
                        "{}: the job is gone (worker restarted?)",
                        c.url()
                    ))
                }
                Err(e) => {
                    failures += 1;
                    if failures >= MAX_POLL_FAILURES || !is_worker_gone(&e) {
                        return lost(e);
                    }
                    continue;
                }
            };
            if let Some(p) = &self.progress {
                for ev in &st.events {
                    p(
                        &ev.asset,
                        ev.fold,
                        &models::train::EpochReport {
                            epoch: ev.epoch,
                            train_loss: ev.train_loss,
                            val_loss: ev.val_loss,
                            lr: ev.lr,
                            grad_norm: ev.grad_norm,
                        },
                    );
                }
            }
            seen = st.first_event + st.events.len();
            match st.state {
                JobState::Queued | JobState::Running => continue,
                JobState::Cancelled => {
                    return Attempt::Lost(format!("{}: the job was cancelled", c.url()))
                }
                JobState::Failed => {
                    return Attempt::Ran(Box::new(Err(st.error.unwrap_or_else(|| {
                        ResearchError::env(format!("{}: job failed without an error", c.url()))
                    }))))
                }
                JobState::Done => {}
            }
            let Some(r) = st.result else {
                return Attempt::Lost(format!("{}: done without a result", c.url()));
            };
            let mut files = Vec::with_capacity(r.files.len());
            for (k, f) in r.files.iter().enumerate() {
                match c.file(id, k, &f.sha256) {
                    Ok(b) => files.push((f.name.clone(), b)),
                    Err(e) => return lost(e),
                }
            }
            let weights = r
                .weights
                .filter(|&w| w < files.len())
                .map(|w| files.remove(w).1);
            return Attempt::Ran(Box::new(Ok(RunOutput {
                scores: r.scores,
                extra: r.extra,
                timings: r.timings,
                weights,
                files,
                fan: r.fan,
                ran_on: Some(format!("worker {} {}", c.url(), r.device)),
            })));
        }
    }
}

impl ExperimentRunner for WorkerPool {
    fn list_blocks(&self) -> Vec<ComponentJson> {
        self.local.list_blocks()
    }
    fn list_heads(&self) -> Vec<ComponentJson> {
        self.local.list_heads()
    }
    fn list_presets(&self) -> Vec<PresetInfo> {
        self.local.list_presets()
    }
    fn create(
        &self,
        blocks: &[String],
        head: &str,
        timeframe: &str,
        overrides: &Value,
    ) -> Result<Value> {
        self.local.create(blocks, head, timeframe, overrides)
    }
    fn normalise(&self, spec: &Value) -> Result<Value> {
        self.local.normalise(spec)
    }
    fn validate(&self, spec: &Value) -> Validation {
        self.local.validate(spec)
    }
    fn describe(&self, spec: &Value) -> Result<Value> {
        self.local.describe(spec)
    }
    fn shape(&self, spec: &Value) -> (Vec<String>, String) {
        self.local.shape(spec)
    }
    fn timeframe(&self, spec: &Value) -> Result<String> {
        self.local.timeframe(spec)
    }
    fn resolve_data(&self, spec: &Value, data: &DataRequest) -> Result<ResolvedData> {
        self.local.resolve_data(spec, data)
    }
    fn revision(&self) -> u32 {
        self.local.revision()
    }
    fn slots(&self) -> usize {
        let s = self.lock();
        let n: usize = s
            .remotes
            .iter()
            .zip(&s.alive)
            .filter(|(_, a)| **a)
            .map(|(r, _)| r.slots)
            .sum();
        n.max(1)
    }

    /// Ships the experiment and its candles to a free worker and waits for the result; a
    /// worker that dies has the experiment sent to another (the local CPU when none is left).
    fn run(&self, spec: &Value, data: &ResolvedData, seed: u64) -> Result<RunOutput> {
        if self.lock().remotes.is_empty() {
            return self.local.run(spec, data, seed);
        }
        let mut inputs = Vec::new();
        let mut blobs = Vec::new();
        for (asset, tf, prepared) in self.local.inputs(spec, data)? {
            let bytes =
                serde_json::to_vec(&prepared).map_err(|e| ResearchError::env(e.to_string()))?;
            let sha = sha256_hex(&bytes);
            inputs.push(DataRef {
                asset,
                timeframe: tf.as_str().to_string(),
                sha256: sha.clone(),
            });
            blobs.push((sha, bytes));
        }
        let job = JobSpec {
            protocol: PROTOCOL,
            spec: spec.clone(),
            data: data.clone(),
            seed,
            inputs,
        };
        // One id per run (re-sent unchanged to the next worker): a repeated submission is
        // answered from the worker's job table, never trained twice there.
        let id = format!("{}-{:08x}", &job.digest()[..24], rand::random::<u32>());
        loop {
            let Some((i, client)) = self.acquire() else {
                tracing::warn!("no worker alive: running the experiment on this machine");
                return self.local.run(spec, data, seed);
            };
            match self.attempt(&client, &id, &job, &blobs) {
                Attempt::Ran(r) => {
                    self.release(i, false);
                    return *r;
                }
                Attempt::Lost(why) => {
                    tracing::warn!(job = %id, reason = %why, "worker lost; running the experiment elsewhere");
                    self.release(i, true);
                }
            }
        }
    }
}
