//! Running the axon: bind, serve until Ctrl-C or SIGTERM, then drain. A blocking entry point for
//! the CLI.
//!
//! On either signal the listener stops accepting, requests in flight are answered, and
//! [`serve_blocking`] returns `Ok` (the CLI exits 0), so `systemctl stop`, `docker stop` and
//! process managers stop the miner as cleanly as Ctrl-C does.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use crate::axon::{router, AxonState};

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM. The handlers are installed when this is
/// called, not when the future is first polled: a signal that arrives in between is not lost
/// and does not kill the process.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        #[cfg(unix)]
        {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!(signal = name, "shutting down: draining requests in flight");
            eprintln!("synth-city miner: {name}: finishing requests in flight, then exiting");
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            eprintln!("synth-city miner: Ctrl-C: finishing requests in flight, then exiting");
        }
    })
}

/// Serves `state` on `listener` until `shutdown` resolves, then waits for the requests in
/// flight. Records each caller's address (echoed in bittensor's refusal headers).
pub async fn serve_until(
    listener: tokio::net::TcpListener,
    state: Arc<AxonState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

/// Binds `addr` and serves `state` until Ctrl-C or SIGTERM (builds its own tokio runtime).
pub fn serve_blocking(addr: SocketAddr, state: Arc<AxonState>) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "axon listening");
        eprintln!(
            "synth-city miner: serving POST /Simulation and GET /metrics on {}",
            listener.local_addr()?
        );
        serve_until(listener, state, shutdown).await?;
        tracing::info!("axon stopped");
        Ok(())
    })
}
