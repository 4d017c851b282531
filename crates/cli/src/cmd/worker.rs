//! `synth-city worker`: serve experiments to a coordinator over HTTP, and the coordinator's
//! side: [`dispatch`] puts the workers of `SYNTH_CITY_WORKERS` behind a research session.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;
use models::device::DeviceChoice;
use research::models_runner::ProgressFn;
use research::{ExperimentRunner, ModelsRunner};
use worker::{WorkerOptions, WORKER_TOKEN_ENV};

use crate::{CliError, CliResult};

/// Commands of the `worker` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run experiments for a coordinator: an HTTP service that trains what it is sent.
    ///
    /// Every call but /v1/health needs `Authorization: Bearer $SYNTH_CITY_WORKER_TOKEN`;
    /// without a token it only listens on loopback. On the coordinator, list workers in
    /// SYNTH_CITY_WORKERS=http://host:port=token,... and `experiment`, `sweep` and friends
    /// run there (the local CPU when none answers). See docs/compute.md.
    Worker {
        /// Address to listen on (use 0.0.0.0:7070 on a rented machine, with a token).
        #[arg(long, default_value = "127.0.0.1:7070")]
        listen: SocketAddr,
        /// Experiments trained at once.
        #[arg(long, default_value_t = 1, value_parser = crate::cmd::args::at_least_one)]
        slots: usize,
        /// Training device: cpu, cuda, cuda:N or auto.
        #[arg(long, default_value = "auto", env = "SYNTH_CITY_DEVICE")]
        device: DeviceChoice,
    },
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    let Cmd::Worker {
        listen,
        slots,
        device,
    } = cmd;
    let token = std::env::var(WORKER_TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty());
    let opts = WorkerOptions {
        token,
        slots,
        device,
        ..Default::default()
    };
    worker::server::check_bind(&listen, &opts).map_err(CliError::input)?;
    device
        .resolve()
        .map_err(|e| CliError::input(e.to_string()))?;
    let rt = tokio::runtime::Runtime::new()
        .map_err(|e| CliError::runtime(format!("tokio runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| CliError::runtime(format!("listening on {listen}: {e}")))?;
        let bound = listener
            .local_addr()
            .map_err(|e| CliError::runtime(e.to_string()))?;
        eprintln!(
            "synth-city worker on http://{bound} ({slots} slot(s), device {})",
            device.resolved_name()
        );
        worker::serve(listener, opts, bridge::server::shutdown_signal())
            .await
            .map_err(CliError::runtime)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// The runner a command's research session uses: `local` itself, or, when
/// `SYNTH_CITY_WORKERS` names workers, a pool that sends runs to them (with `local` as the
/// fallback and for validation; `worker::dispatch`). Remote epochs are reported to `on_epoch`.
pub fn dispatch(
    local: ModelsRunner,
    on_epoch: Option<Arc<ProgressFn>>,
) -> Result<Arc<dyn ExperimentRunner>, CliError> {
    // With Basilica configured, a worker rented while this runs (the Trainer's `compute_up`)
    // may join the pool.
    let joinable = std::env::var(services::basilica::TOKEN_ENV).is_ok_and(|t| !t.trim().is_empty())
        || std::env::var(services::basilica::TOKEN_ENV_ALIAS).is_ok_and(|t| !t.trim().is_empty());
    let d = worker::runner_from_env(local, on_epoch, joinable).map_err(CliError::input)?;
    if d.named > 0 {
        eprintln!("{}", d.describe());
    }
    Ok(d.runner)
}
