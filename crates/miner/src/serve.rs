//! Running the axon: bind, serve until Ctrl-C. A blocking entry point for the CLI.

use std::net::SocketAddr;
use std::sync::Arc;

use crate::axon::{router, AxonState};

/// Binds `addr` and serves `state` until Ctrl-C (builds its own tokio runtime).
pub fn serve_blocking(addr: SocketAddr, state: Arc<AxonState>) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tracing::info!(%addr, "axon listening");
        eprintln!(
            "synth-city miner: serving POST /Simulation and GET /metrics on {}",
            listener.local_addr()?
        );
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })
}
