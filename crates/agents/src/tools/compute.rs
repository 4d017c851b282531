//! Compute tools: what the Trainer may train on (remote workers named in `SYNTH_CITY_WORKERS`,
//! rented GPUs on Basilica within `BASILICA_BUDGET_*`), and `compute_up`, which rents one GPU
//! worker within the budget and adds it to this process's worker pool so that the experiments
//! started afterwards run there.
//!
//! Renting is `services::basilica::rent` (the one implementation `synth-city compute up` uses
//! too): orphans of ours are ended first, the cheapest allowed offer is taken, the lease is cut
//! to what the run and day budgets still pay for and set as the deployment's `ttlSeconds`
//! (Basilica ends it then, whatever happens here). Every deployment this tool rented is
//! deleted when its [`Compute`] is dropped (the end of the pipeline) or by `compute_down`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};
use services::basilica::budget::{Budget, Ledger};
use services::basilica::lease::{Lease, Owner};
use services::basilica::rent::{self, RentLimits};
use services::basilica::{Basilica, OfferFilter};
use worker::client::WorkerClient;
use worker::WorkerAddr;

use super::tool::{fn_tool, object_schema, Tool, ToolError};

/// One worker this tool rented.
struct Held {
    lease: Lease,
    url: String,
    env_file: PathBuf,
}

/// The compute the Trainer can see and rent: the workers of `SYNTH_CITY_WORKERS`, and
/// Basilica when `BASILICA_API_TOKEN` is set.
pub struct Compute {
    workers: Result<Vec<WorkerAddr>, String>,
    basilica: Option<Basilica>,
    budget: Result<Budget, String>,
    filter: Result<OfferFilter, String>,
    dir: PathBuf,
    image: String,
    ready: Duration,
    poll: Duration,
    rt: Option<tokio::runtime::Runtime>,
    held: Mutex<Vec<Held>>,
}

impl std::fmt::Debug for Compute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compute")
            .field("basilica", &self.basilica.is_some())
            .finish()
    }
}

impl Compute {
    /// From the environment: `SYNTH_CITY_WORKERS`, `BASILICA_API_TOKEN` / `BASILICA_API_URL`,
    /// `BASILICA_BUDGET_RUN_USD` / `_DAY_USD`, `BASILICA_MAX_HOURLY_RATE`,
    /// `BASILICA_ALLOWED_GPU_TYPES`, `BASILICA_DEPLOY_IMAGE`; spend is kept in
    /// `$SYNTH_CITY_HOME/compute/spend.json` (shared with `synth-city compute`).
    pub fn from_env() -> Self {
        Self::new(Basilica::from_env().ok())
    }

    /// As [`Compute::from_env`], with `basilica` as the client (tests: a stub on loopback).
    pub fn new(basilica: Option<Basilica>) -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok();
        Self {
            workers: worker::config::workers_from_env(),
            basilica,
            budget: Budget::from_env().map_err(|e| e.to_string()),
            filter: OfferFilter::from_env().map_err(|e| e.to_string()),
            dir: market::home::data_dir().join("compute"),
            image: std::env::var(rent::IMAGE_ENV)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| rent::DEFAULT_IMAGE.to_string()),
            ready: Duration::from_secs(20 * 60),
            poll: Duration::from_secs(5),
            rt,
            held: Mutex::new(Vec::new()),
        }
    }

    /// Waits at most `ready` for a rented worker, polling every `poll`.
    pub fn with_wait(mut self, ready: Duration, poll: Duration) -> Self {
        self.ready = ready;
        self.poll = poll;
        self
    }

    fn ledger(&self) -> Ledger {
        Ledger::new(self.dir.join("spend.json"))
    }

    fn block<F: std::future::Future>(&self, f: F) -> Result<F::Output, ToolError> {
        self.rt
            .as_ref()
            .map(|rt| rt.block_on(f))
            .ok_or_else(|| ToolError::environment("no async runtime for Basilica calls"))
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Vec<Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Workers, Basilica budget and spend, cheapest offer, what a rent would buy.
    pub fn status(&self) -> Value {
        let workers: Value = match &self.workers {
            Err(e) => json!({"error": e}),
            Ok(ws) => ws
                .iter()
                .map(|w| match WorkerClient::new(w.clone()).map(|c| c.health()) {
                    Ok(Ok(h)) => json!({"url": w.url, "alive": true, "slots": h.slots,
                                        "busy": h.busy, "device": h.device}),
                    Ok(Err(e)) => json!({"url": w.url, "alive": false, "error": e.to_string()}),
                    Err(e) => json!({"url": w.url, "alive": false, "error": e}),
                })
                .collect(),
        };
        let rented: Vec<Value> = self
            .held()
            .iter()
            .map(|h| {
                json!({"name": h.lease.name(), "url": h.url,
                            "accrued_usd": h.lease.accrued()})
            })
            .collect();
        let pool = worker::dispatch::active().map(|p| p.alive());
        let mut basilica = json!({"configured": self.basilica.is_some()});
        if self.basilica.is_none() {
            basilica["hint"] = json!("set BASILICA_API_TOKEN (and BASILICA_BUDGET_RUN_USD / BASILICA_BUDGET_DAY_USD) to rent GPUs");
        }
        match &self.budget {
            Ok(b) => {
                basilica["budget_run_usd"] = json!(b.per_run_usd);
                basilica["budget_day_usd"] = json!(b.per_day_usd);
                match self.ledger().spent_today() {
                    Ok(spent) => basilica["spent_today_usd"] = json!(spent),
                    Err(e) => basilica["ledger_error"] = json!(e.to_string()),
                }
            }
            Err(e) => basilica["budget"] = json!(format!("no budget: {e} (nothing can be rented)")),
        }
        if let (Some(c), Ok(f)) = (&self.basilica, &self.filter) {
            match self.block(c.offers(f)) {
                Ok(Ok(offers)) => {
                    basilica["cheapest_offer"] = offers
                        .first()
                        .map(|o| {
                            json!({"gpu_type": o.gpu_type, "gpus": o.gpu_count,
                                        "hourly_usd": o.hourly_rate()})
                        })
                        .unwrap_or(Value::Null);
                    if let (Some(o), Ok(b)) = (offers.first(), &self.budget) {
                        let rate = o.hourly_rate().unwrap_or(f64::INFINITY)
                            / f64::from(o.gpu_count.max(1));
                        let spent = self.ledger().spent_today();
                        basilica["affordable_minutes_one_gpu"] = json!(spent
                            .and_then(|spent| b.lease_secs(rate, spent, 168 * 3600))
                            .map(|s| s / 60)
                            .unwrap_or(0));
                    }
                }
                Ok(Err(e)) => basilica["offers_error"] = json!(e.to_string()),
                Err(e) => basilica["offers_error"] = json!(e.message),
            }
        }
        json!({
            "local": "this machine's CPU (always available; the fallback)",
            "workers": workers,
            "pool": pool,
            "rented": rented,
            "basilica": basilica,
        })
    }

    /// Rents one GPU worker within the budget, waits until it answers, adds it to the pool.
    pub fn up(&self, gpus: u32, lease_hours: f64) -> Result<Value, ToolError> {
        // Not an environment error: the Trainer carries on with what it has.
        let client = self.basilica.as_ref().ok_or_else(|| {
            ToolError::failed(
                "Basilica is not configured (BASILICA_API_TOKEN and a budget, \
                 BASILICA_BUDGET_RUN_USD / BASILICA_BUDGET_DAY_USD): train on what compute_status lists",
            )
        })?;
        let budget = self
            .budget
            .as_ref()
            .map_err(|e| ToolError::failed(format!("no GPU without a budget: {e}")))?;
        let filter = self.filter.as_ref().map_err(ToolError::invalid)?;
        if !(lease_hours.is_finite() && lease_hours > 0.0) {
            return Err(ToolError::invalid("lease_hours must be positive"));
        }
        let max_secs = (lease_hours.min(168.0) * 3600.0) as u64;
        let token = rent::random_token().map_err(|e| ToolError::environment(e.to_string()))?;
        let owner = Owner::current(&format!("{}-{}", std::process::id(), &token[..8]));
        // The ledger key: the deployment's name, known before it exists (`Lease::name`).
        let name = owner.instance_name();
        let ledger = self.ledger();
        let limits = RentLimits {
            filter,
            budget,
            gpus,
            max_secs,
            all_hosts: false,
        };
        let plan = self
            .block(rent::plan(client, limits, &ledger, &name))?
            .map_err(|e| ToolError::failed(e.to_string()))?;
        let req = rent::worker_request(&self.image, &plan, &token);
        let mut lease = match self.block(Lease::start(client, req, &owner, plan.hourly_usd))? {
            Ok(l) => l,
            Err(e) => {
                // Nothing was created: the reservation goes.
                if let Err(le) = ledger.release(&name) {
                    tracing::warn!(error = %le, "releasing the spend reservation");
                }
                return Err(ToolError::failed(e.to_string()));
            }
        };
        // A lease dropped on any error below deletes its deployment.
        if let Err(e) = self.block(lease.wait_ready(self.ready, self.poll))? {
            // Ended now: the ledger gets what it cost instead of the whole lease's reservation.
            let accrued = lease.accrued();
            let cost = self.block(lease.end())?.unwrap_or(accrued);
            if let Err(le) = ledger.record(&name, cost) {
                tracing::warn!(error = %le, "recording the spend");
            }
            return Err(ToolError::failed(e.to_string()));
        }
        let url = lease.deployment.url.clone().unwrap_or_default();
        let addr = WorkerAddr::new(&url, &token);
        let env_file = self.dir.join(format!("{}.env", lease.name()));
        std::fs::create_dir_all(&self.dir)
            .and_then(|()| {
                market::atomic::write_atomic_mode(
                    &env_file,
                    format!("SYNTH_CITY_WORKERS={url}={token}\n").as_bytes(),
                    0o600,
                )
            })
            .map_err(|e| ToolError::environment(format!("compute/{name}.env: {e}")))?;
        let joined = worker::dispatch::join(&addr);
        let name = lease.name().to_string();
        self.held().push(Held {
            lease,
            url: url.clone(),
            env_file: env_file.clone(),
        });
        let note = match &joined {
            Ok(true) => "experiments started from now on may run on it".to_string(),
            Ok(false) => "no worker pool in this process: experiments stay local".to_string(),
            Err(e) => format!("the worker did not join the pool: {e}"),
        };
        Ok(json!({
            "rented": name,
            "url": url,
            "gpu_type": plan.gpu_type,
            "gpus": plan.gpus,
            "hourly_usd": plan.hourly_usd,
            "lease_minutes": plan.lease_secs / 60,
            "ended_orphans": plan.reaped,
            "joined_pool": joined.unwrap_or(false),
            "note": note,
            // Relative to the data folder: no server path in an answer.
            "workers_file": format!("compute/{name}.env"),
        }))
    }

    /// Ends every deployment this tool rented; returns their names.
    pub fn down(&self) -> Result<Vec<String>, ToolError> {
        let held: Vec<Held> = std::mem::take(&mut *self.held());
        let ledger = self.ledger();
        let mut ended = Vec::new();
        for h in held {
            let name = h.lease.name().to_string();
            let _ = std::fs::remove_file(&h.env_file);
            let cost = self
                .block(h.lease.end())?
                .map_err(|e| ToolError::failed(e.to_string()))?;
            if let Err(e) = ledger.record(&name, cost) {
                tracing::warn!(error = %e, "recording the spend");
            }
            ended.push(name);
        }
        Ok(ended)
    }
}

impl Drop for Compute {
    fn drop(&mut self) {
        if !self.held().is_empty() {
            // On a thread of its own: the drop may happen inside an async runtime.
            let this = &*self;
            let out = std::thread::scope(|s| s.spawn(|| this.down()).join());
            if let Ok(Err(e)) = out {
                tracing::warn!(error = %e.message, "ending rented workers");
            }
        }
        // Without waiting (dropping a runtime may not block inside another one).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

#[derive(Deserialize)]
struct NoArgs {}

#[derive(Deserialize)]
struct UpArgs {
    #[serde(default = "one")]
    gpus: u32,
    #[serde(default = "one_hour")]
    lease_hours: f64,
}

fn one() -> u32 {
    1
}

fn one_hour() -> f64 {
    1.0
}

/// The compute tools over the environment's workers and Basilica.
pub fn compute_tools() -> Vec<Arc<dyn Tool>> {
    compute_tools_with(Arc::new(Compute::from_env()))
}

/// The compute tools over `c`.
pub fn compute_tools_with(c: Arc<Compute>) -> Vec<Arc<dyn Tool>> {
    let (c1, c2, c3) = (c.clone(), c.clone(), c);
    vec![
        Arc::new(fn_tool(
            "compute_status",
            "What experiments can train on: remote workers (SYNTH_CITY_WORKERS: alive, slots, device), GPUs rented here, and Basilica (budget per run and per day, spent today, cheapest allowed offer, minutes the budget still buys). Call before a large search.",
            object_schema(&[], &[]),
            move |_: NoArgs| Ok(c1.status()),
        )),
        Arc::new(fn_tool(
            "compute_up",
            "Rent a GPU worker on Basilica within the budget (cheapest allowed offer, lease cut to what the budget pays for) and add it to the worker pool, so the experiments started afterwards train there. Takes minutes. Refused without BASILICA_API_TOKEN and a budget. Ended when the pipeline ends or by compute_down.",
            object_schema(
                &[
                    ("gpus", json!({"type": "integer", "minimum": 1, "description": "GPUs (default 1)"})),
                    ("lease_hours", json!({"type": "number", "description": "longest lease in hours (default 1; the budget may cut it)"})),
                ],
                &[],
            ),
            move |a: UpArgs| c2.up(a.gpus, a.lease_hours),
        )),
        Arc::new(fn_tool(
            "compute_down",
            "End every GPU worker compute_up rented in this run (spend recorded).",
            object_schema(&[], &[]),
            move |_: NoArgs| Ok(json!({"ended": c3.down()?})),
        )),
    ]
}
