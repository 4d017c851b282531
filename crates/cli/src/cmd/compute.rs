//! `synth-city compute up | status | down`: rent a GPU worker on Basilica within a hard
//! budget, never leaving it running (labels, orphan reaping at start, end on every exit path,
//! a server-side lease timeout). See docs/compute.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use services::basilica::budget::{Budget, Ledger};
use services::basilica::lease::{host_name, pid_alive, reap_orphans, Lease, Owner};
use services::basilica::rent::{self, RentLimits};
use services::basilica::{Basilica, OfferFilter, LABEL_MANAGED_BY};

use crate::cmd::intel::service_error;
use crate::{CliError, CliResult};

/// The worker image unless `--image` / `BASILICA_DEPLOY_IMAGE` says otherwise.
pub const DEFAULT_IMAGE: &str = rent::DEFAULT_IMAGE;

/// Commands of the `compute` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Rented GPU workers on Basilica (needs BASILICA_API_TOKEN and BASILICA_BUDGET_RUN_USD /
    /// BASILICA_BUDGET_DAY_USD).
    Compute {
        #[command(subcommand)]
        cmd: ComputeCmd,
    },
}

/// `compute` subcommands.
#[derive(Subcommand, Debug)]
pub enum ComputeCmd {
    /// End orphans of ours, rent the cheapest allowed GPU, start the worker on it and hold it
    /// until Ctrl-C, SIGTERM, the budget or the lease runs out — or, with `-- CMD …`, until
    /// CMD (run with SYNTH_CITY_WORKERS pointing at the worker) exits. The deployment is
    /// deleted on every one of those paths.
    Up {
        /// Container image of the worker.
        #[arg(long, env = "BASILICA_DEPLOY_IMAGE", default_value = DEFAULT_IMAGE)]
        image: String,
        /// GPUs.
        #[arg(long, default_value_t = 1)]
        gpus: u32,
        /// Longest lease, hours (the budget may cut it shorter).
        #[arg(long, default_value_t = 4.0)]
        lease_hours: f64,
        /// Minutes to wait for the worker to become ready.
        #[arg(long, default_value_t = 20)]
        ready_minutes: u64,
        /// Also end deployments of ours owned by other hosts.
        #[arg(long)]
        all_hosts: bool,
        /// Command to run against the worker (after `--`).
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Deployments of ours: name, state, owner, URL.
    Status {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// Delete deployments of ours: NAME, or every one whose owner process is gone (--all:
    /// every one of ours, live or not).
    Down {
        /// A deployment name.
        name: Option<String>,
        /// Every deployment of ours.
        #[arg(long)]
        all: bool,
    },
}

fn compute_dir() -> PathBuf {
    market::home::data_dir().join("compute")
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    let Cmd::Compute { cmd } = cmd;
    let client = Basilica::from_env().map_err(service_error)?;
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::runtime(format!("tokio runtime: {e}")))?;
    rt.block_on(async move {
        match cmd {
            ComputeCmd::Status { json } => status(&client, json).await,
            ComputeCmd::Down { name, all } => down(&client, name, all).await,
            ComputeCmd::Up {
                image,
                gpus,
                lease_hours,
                ready_minutes,
                all_hosts,
                command,
            } => {
                up(
                    &client,
                    image,
                    gpus,
                    lease_hours,
                    ready_minutes,
                    all_hosts,
                    command,
                )
                .await
            }
        }
    })
}

async fn status(client: &Basilica, json: bool) -> CliResult {
    let ours = client
        .list_labelled(LABEL_MANAGED_BY, "synth-city")
        .await
        .map_err(service_error)?;
    if json {
        let s = serde_json::to_string_pretty(&ours)
            .map_err(|e| CliError::runtime(format!("json: {e}")))?;
        println!("{s}");
        return Ok(ExitCode::SUCCESS);
    }
    if ours.is_empty() {
        println!("no synth-city deployment on Basilica");
    }
    for d in &ours {
        let owner = Owner::of(d)
            .map(|o| format!("{} pid {} run {}", o.host, o.pid, o.run))
            .unwrap_or_default();
        println!(
            "{:<32} {:<10} {:<12} {}  {}",
            d.instance_name,
            d.state,
            d.phase.as_deref().unwrap_or("-"),
            d.url.as_deref().unwrap_or("-"),
            owner
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn down(client: &Basilica, name: Option<String>, all: bool) -> CliResult {
    let ended = match name {
        Some(n) => {
            if client.delete(&n).await.map_err(service_error)? {
                vec![n]
            } else {
                Vec::new()
            }
        }
        None if all => {
            let mut v = Vec::new();
            for d in client
                .list_labelled(LABEL_MANAGED_BY, "synth-city")
                .await
                .map_err(service_error)?
            {
                client
                    .delete(&d.instance_name)
                    .await
                    .map_err(service_error)?;
                v.push(d.instance_name);
            }
            v
        }
        None => reap_orphans(client, &host_name(), pid_alive, false)
            .await
            .map_err(service_error)?,
    };
    println!("ended {} deployment(s) {}", ended.len(), ended.join(" "));
    Ok(ExitCode::SUCCESS)
}

/// Why `up` stopped holding the worker.
enum Stop {
    Signal(&'static str),
    Budget,
    Command(std::io::Result<std::process::ExitStatus>),
    Failed(CliError),
}

async fn up(
    client: &Basilica,
    image: String,
    gpus: u32,
    lease_hours: f64,
    ready_minutes: u64,
    all_hosts: bool,
    command: Vec<String>,
) -> CliResult {
    let budget = Budget::from_env().map_err(service_error)?;
    let filter = OfferFilter::from_env().map_err(service_error)?;
    let ledger = Ledger::new(compute_dir().join("spend.json"));
    let max_secs = (lease_hours.clamp(0.1, 168.0) * 3600.0) as u64;
    let token = rent::random_token().map_err(|e| CliError::runtime(e.to_string()))?;
    let run = format!("{}-{}", std::process::id(), &token[..8]);
    let owner = Owner::current(&run);
    // The ledger key: the deployment's name, known before it exists (`Lease::name`).
    let name = owner.instance_name();
    let limits = RentLimits {
        filter: &filter,
        budget: &budget,
        gpus,
        max_secs,
        all_hosts,
    };
    let plan = rent::plan(client, limits, &ledger, &name)
        .await
        .map_err(service_error)?;
    if !plan.reaped.is_empty() {
        eprintln!("ended orphaned deployment(s): {}", plan.reaped.join(" "));
    }
    let (rate, lease_secs) = (plan.hourly_usd, plan.lease_secs);
    let req = rent::worker_request(&image, &plan, &token);
    eprintln!(
        "renting {} x {} at ${rate:.2}/h, lease {} min (budget: run ${:.2}, day ${:.2})",
        plan.gpus,
        plan.gpu_type,
        lease_secs / 60,
        budget.per_run_usd,
        budget.per_day_usd
    );
    let mut lease = match Lease::start(client, req, &owner, rate).await {
        Ok(l) => l,
        Err(e) => {
            // Nothing was created: the reservation goes.
            if let Err(le) = ledger.release(&name) {
                eprintln!("warning: could not release the spend reservation: {le}");
            }
            return Err(service_error(e));
        }
    };
    debug_assert_eq!(lease.name(), name);
    let spent_before = plan.spent_by_others_usd;
    let stop = hold(
        &mut lease,
        &budget,
        spent_before,
        &token,
        lease_secs,
        ready_minutes,
        command,
    )
    .await;
    let cost = lease.end().await.map_err(service_error)?;
    if let Err(e) = ledger.record(&name, cost) {
        eprintln!("warning: could not record the run's cost in the spend ledger: {e}");
    }
    let _ = std::fs::remove_file(compute_dir().join(format!("{name}.env")));
    eprintln!("deployment {name} ended; about ${cost:.2}");
    match stop {
        Stop::Signal(s) => {
            eprintln!("stopped by {s}");
            Ok(ExitCode::SUCCESS)
        }
        Stop::Budget => Err(CliError::runtime(format!(
            "budget reached (BASILICA_BUDGET_RUN_USD ${:.2} / BASILICA_BUDGET_DAY_USD ${:.2}): deployment ended",
            budget.per_run_usd, budget.per_day_usd
        ))),
        Stop::Command(Ok(st)) if st.success() => Ok(ExitCode::SUCCESS),
        Stop::Command(Ok(st)) => Ok(ExitCode::from(st.code().unwrap_or(1).clamp(1, 255) as u8)),
        Stop::Command(Err(e)) => Err(CliError::runtime(format!("running the command: {e}"))),
        Stop::Failed(e) => Err(e),
    }
}

/// Waits for the worker, then holds it until a signal, the budget, the lease, or the command.
async fn hold(
    lease: &mut Lease,
    budget: &Budget,
    spent_before: f64,
    token: &str,
    lease_secs: u64,
    ready_minutes: u64,
    command: Vec<String>,
) -> Stop {
    let signals = async {
        let term = async {
            #[cfg(unix)]
            if let Ok(mut s) =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            {
                s.recv().await;
                return;
            }
            std::future::pending::<()>().await
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "Ctrl-C",
            _ = term => "SIGTERM",
        }
    };
    tokio::pin!(signals);
    let ready = lease.wait_ready(
        Duration::from_secs(ready_minutes.max(1) * 60),
        Duration::from_secs(5),
    );
    tokio::select! {
        s = &mut signals => return Stop::Signal(s),
        r = ready => if let Err(e) = r { return Stop::Failed(service_error(e)) },
    }
    let url = lease.deployment.url.clone().unwrap_or_default();
    let workers = format!("{url}={token}");
    let env_file = compute_dir().join(format!("{}.env", lease.name()));
    let written = std::fs::create_dir_all(compute_dir()).and_then(|()| {
        market::atomic::write_atomic_mode(
            &env_file,
            format!("SYNTH_CITY_WORKERS={workers}\n").as_bytes(),
            0o600,
        )
    });
    if let Err(e) = written {
        return Stop::Failed(CliError::runtime(format!("{}: {e}", env_file.display())));
    }
    eprintln!(
        "worker ready at {url}; SYNTH_CITY_WORKERS for it is in {} (mode 0600)",
        env_file.display()
    );
    let child = async {
        if command.is_empty() {
            return std::future::pending().await;
        }
        let (cmd, env) = (command.clone(), workers.clone());
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(&cmd[0])
                .args(&cmd[1..])
                .env("SYNTH_CITY_WORKERS", env)
                .status()
        })
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e.to_string())))
    };
    tokio::pin!(child);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(lease_secs);
    loop {
        tokio::select! {
            s = &mut signals => return Stop::Signal(s),
            st = &mut child => return Stop::Command(st),
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
        }
        // The ledger holds the whole lease's reservation until the end (a crash leaves that
        // upper bound, which the lease's ttlSeconds enforces); here only this run's caps.
        let accrued = lease.accrued();
        if budget.exhausted(accrued, spent_before) {
            return Stop::Budget;
        }
        if tokio::time::Instant::now() >= deadline {
            return Stop::Signal("the lease timeout");
        }
    }
}
