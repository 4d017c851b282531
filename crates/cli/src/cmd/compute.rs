//! `synth-city compute up | status | down`: rent a GPU worker on Basilica within a hard
//! budget, never leaving it running (labels, orphan reaping at start, end on every exit path,
//! a server-side lease timeout). See docs/compute.md.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use services::basilica::budget::{Budget, Ledger};
use services::basilica::lease::{host_name, pid_alive, reap_orphans, Lease, Owner};
use services::basilica::{
    Basilica, DeploymentRequest, GpuRequest, OfferFilter, Resources, LABEL_MANAGED_BY,
};

use crate::{CliError, CliResult};

/// The worker image unless `--image` / `BASILICA_DEPLOY_IMAGE` says otherwise.
pub const DEFAULT_IMAGE: &str = "ghcr.io/synth-city/worker:latest";

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

fn svc(e: services::ServiceError) -> CliError {
    match e {
        services::ServiceError::NotConfigured { .. } | services::ServiceError::Invalid(_) => {
            CliError::input(e.to_string())
        }
        e => CliError::runtime(e.to_string()),
    }
}

fn compute_dir() -> PathBuf {
    market::home::data_dir().join("compute")
}

/// 32 random bytes as hex (the worker's token).
fn random_token() -> Result<String, CliError> {
    use std::io::Read;
    let mut b = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .map_err(|e| CliError::runtime(format!("random token: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    let Cmd::Compute { cmd } = cmd;
    let client = Basilica::from_env().map_err(svc)?;
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
        .map_err(svc)?;
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
            if client.delete(&n).await.map_err(svc)? {
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
                .map_err(svc)?
            {
                client.delete(&d.instance_name).await.map_err(svc)?;
                v.push(d.instance_name);
            }
            v
        }
        None => reap_orphans(client, &host_name(), pid_alive, false)
            .await
            .map_err(svc)?,
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
    let budget = Budget::from_env().map_err(svc)?;
    let filter = OfferFilter::from_env().map_err(svc)?;
    let ledger = Ledger::new(compute_dir().join("spend.json"));
    // Orphans first: a crashed earlier run must not keep billing.
    let reaped = reap_orphans(client, &host_name(), pid_alive, all_hosts)
        .await
        .map_err(svc)?;
    if !reaped.is_empty() {
        eprintln!("ended orphaned deployment(s): {}", reaped.join(" "));
    }
    let offers = client.offers(&filter).await.map_err(svc)?;
    let Some(offer) = offers.first() else {
        return Err(CliError::runtime(
            "no available Basilica GPU offer within BASILICA_MAX_HOURLY_RATE and \
             BASILICA_ALLOWED_GPU_TYPES",
        ));
    };
    let rate = offer.hourly_rate().unwrap_or(f64::INFINITY) * f64::from(gpus.max(1))
        / f64::from(offer.gpu_count.max(1));
    if filter.max_hourly_rate.is_some_and(|m| rate > m) {
        return Err(CliError::input(format!(
            "{gpus} x {} costs ${rate:.2}/h, over BASILICA_MAX_HOURLY_RATE",
            offer.gpu_type
        )));
    }
    let max_secs = (lease_hours.clamp(0.1, 168.0) * 3600.0) as u64;
    let lease_secs = budget
        .lease_secs(rate, ledger.spent_today(), max_secs)
        .map_err(svc)?;
    let token = random_token()?;
    let run = format!("{}-{}", std::process::id(), &token[..8]);
    let owner = Owner::current(&run);
    let req = DeploymentRequest {
        image,
        replicas: 1,
        port: 7070,
        command: vec!["synth-city".into(), "worker".into()],
        args: vec![
            "--listen".into(),
            "0.0.0.0:7070".into(),
            "--device".into(),
            "auto".into(),
        ],
        env: [("SYNTH_CITY_WORKER_TOKEN".to_string(), token.clone())].into(),
        resources: Resources {
            cpu: "4".into(),
            memory: "16Gi".into(),
            gpus: Some(GpuRequest {
                count: gpus.max(1),
                model: vec![offer.gpu_type.clone()],
                min_gpu_memory_gb: None,
            }),
        },
        ttl_seconds: lease_secs,
        public: true,
        ..Default::default()
    };
    eprintln!(
        "renting {} x {} at ${rate:.2}/h, lease {} min (budget: run ${:.2}, day ${:.2})",
        gpus.max(1),
        offer.gpu_type,
        lease_secs / 60,
        budget.per_run_usd,
        budget.per_day_usd
    );
    let mut lease = Lease::start(client, req, &owner, rate).await.map_err(svc)?;
    let name = lease.name().to_string();
    let spent_before = ledger.spent_today();
    let stop = hold(
        &mut lease,
        &budget,
        &ledger,
        spent_before,
        &token,
        lease_secs,
        ready_minutes,
        command,
    )
    .await;
    let cost = lease.end().await.map_err(svc)?;
    let _ = ledger.record(&name, cost);
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
#[allow(clippy::too_many_arguments)]
async fn hold(
    lease: &mut Lease,
    budget: &Budget,
    ledger: &Ledger,
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
        r = ready => if let Err(e) = r { return Stop::Failed(svc(e)) },
    }
    let url = lease.deployment.url.clone().unwrap_or_default();
    let workers = format!("{url}={token}");
    let env_file = compute_dir().join(format!("{}.env", lease.name()));
    let _ = market::atomic::write_atomic_mode(
        &env_file,
        format!("SYNTH_CITY_WORKERS={workers}\n").as_bytes(),
        0o600,
    );
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
        let accrued = lease.accrued();
        let _ = ledger.record(lease.name(), accrued);
        if budget.exhausted(accrued, spent_before) {
            return Stop::Budget;
        }
        if tokio::time::Instant::now() >= deadline {
            return Stop::Signal("the lease timeout");
        }
    }
}
