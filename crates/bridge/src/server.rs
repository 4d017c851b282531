//! Settings, start-up (loopback-only when no keys exist), the reaper, and shutdown.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::api::{router, AppState};
use crate::backend::Backend;
use crate::events::EventBus;
use crate::keys::KeyStore;
use crate::sessions::Sessions;
use crate::slots::{SlotLimits, Slots};

/// Environment variable holding the admin key.
pub const ADMIN_KEY_ENV: &str = "BRIDGE_ADMIN_KEY";

/// Environment variable: header deadline in seconds (default 30).
pub const HEADER_TIMEOUT_ENV: &str = "SYNTH_BRIDGE_HEADER_TIMEOUT_SECS";
/// Environment variable: body deadline in seconds (default 30).
pub const BODY_TIMEOUT_ENV: &str = "SYNTH_BRIDGE_BODY_TIMEOUT_SECS";

/// `name` as whole seconds (1 to 3,600), else `default`.
fn secs_env(name: &str, default: u64) -> Duration {
    let secs = std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .unwrap_or(default);
    Duration::from_secs(secs)
}

/// Bridge settings. [`BridgeConfig::new`] gives the defaults.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Address to listen on (default 127.0.0.1).
    pub host: IpAddr,
    /// Port (default 8377; 0 picks a free one).
    pub port: u16,
    /// Where keys, sessions and workspaces live (default `<data dir>/bridge`).
    pub state_dir: PathBuf,
    /// The admin key (from `BRIDGE_ADMIN_KEY`).
    pub admin_key: Option<String>,
    /// Compute-slot limits (default 10 running, 10 queued, 2 per bot).
    pub limits: SlotLimits,
    /// Sessions idle this long are dropped from memory (default 1 h).
    pub session_ttl: Duration,
    /// How often the reaper looks (default min(ttl/2, 5 min)).
    pub reap_every: Duration,
    /// Deadline of ordinary requests (default 30 s).
    pub request_timeout: Duration,
    /// Deadline for a new connection to send its first byte, and then for a request's whole
    /// head (default 30 s; `SYNTH_BRIDGE_HEADER_TIMEOUT_SECS`). The connection is closed past it.
    pub header_timeout: Duration,
    /// Deadline for a client to send a whole request body (default 30 s;
    /// `SYNTH_BRIDGE_BODY_TIMEOUT_SECS`): 408 past it, however the bytes trickle in.
    pub body_timeout: Duration,
    /// Memory caps of the models bots build (per bot and global).
    pub model_limits: crate::limits::ModelLimits,
    /// Each bot's workspace quota.
    pub workspace_quota: crate::limits::WorkspaceQuota,
    /// Deadline of experiment runs, sweeps and publishing (default 15 min).
    pub job_timeout: Duration,
    /// Largest request body (default 1 MiB).
    pub body_limit: usize,
}

impl BridgeConfig {
    /// Defaults, with state under `state_dir` and the admin key from the environment.
    pub fn new(state_dir: PathBuf) -> Self {
        let ttl = Duration::from_secs(3600);
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 8377,
            state_dir,
            admin_key: std::env::var(ADMIN_KEY_ENV)
                .ok()
                .filter(|k| !k.trim().is_empty()),
            limits: SlotLimits {
                max_running: 10,
                max_queued: 10,
                per_bot: 2,
            },
            session_ttl: ttl,
            reap_every: (ttl / 2).min(Duration::from_secs(300)),
            request_timeout: Duration::from_secs(30),
            header_timeout: secs_env(HEADER_TIMEOUT_ENV, 30),
            body_timeout: secs_env(BODY_TIMEOUT_ENV, 30),
            model_limits: crate::limits::ModelLimits::from_env(),
            workspace_quota: crate::limits::WorkspaceQuota::from_env(),
            job_timeout: Duration::from_secs(900),
            body_limit: 1 << 20,
        }
    }

    /// The default state directory: `<synth-city data dir>/bridge`.
    pub fn default_state_dir() -> PathBuf {
        market::home::data_dir().join("bridge")
    }

    /// Path of the key database.
    pub fn keys_path(&self) -> PathBuf {
        self.state_dir.join("keys.sqlite")
    }
}

/// Errors of start-up.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The key store could not be opened.
    #[error(transparent)]
    Keys(#[from] crate::keys::KeyError),
    /// Binding or serving failed.
    #[error("{0}")]
    Io(String),
}

/// A bridge serving in the background.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Shared state (tests inspect sessions and slots through it).
    pub state: AppState,
    /// Messages for the operator printed at start-up (auth mode, bind address).
    pub notices: Vec<String>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Stops accepting connections and waits for open requests to finish, at most 5 s
    /// (event streams never finish by themselves), then drops what is left.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(Duration::from_secs(5), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }

    /// Waits until the server task ends.
    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Binds and starts serving in a background task. With no admin key and no bot key, the
/// bridge runs open and binds to 127.0.0.1 whatever `host` says (and says so in `notices`).
pub async fn start(config: BridgeConfig, backend: Arc<dyn Backend>) -> Result<Running, ServeError> {
    let mut config = config;
    let keys = Arc::new(KeyStore::open(&config.keys_path())?);
    let mut notices = Vec::new();
    let configured = config.admin_key.is_some() || keys.active_count()? > 0;
    if !configured {
        if !config.host.is_loopback() {
            notices.push(format!(
                "no API keys configured: binding to 127.0.0.1 instead of {} (set {ADMIN_KEY_ENV} to serve other hosts)",
                config.host
            ));
            config.host = IpAddr::V4(Ipv4Addr::LOCALHOST);
        }
        notices.push("no API keys configured: open mode, every caller is bot 'local' and admin (loopback only)".into());
    } else {
        notices.push(format!(
            "API keys required ({} active bot keys)",
            keys.active_count()?
        ));
    }
    let listener = tokio::net::TcpListener::bind((config.host, config.port))
        .await
        .map_err(|e| {
            ServeError::Io(format!(
                "cannot listen on {}:{}: {e}",
                config.host, config.port
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Io(e.to_string()))?;
    let sessions = Arc::new(Sessions::new(config.state_dir.join("workspaces")));
    let state = AppState {
        backend,
        keys,
        sessions: Arc::clone(&sessions),
        slots: Slots::new(config.limits),
        events: EventBus::new(2000),
        models: crate::limits::ModelBudget::new(),
        loopback: addr.ip().is_loopback(),
        config: Arc::new(config),
    };
    let app = router(state.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let reaper = {
        let (sessions, ttl, every, events) = (
            Arc::clone(&sessions),
            state.config.session_ttl,
            state.config.reap_every,
            state.events.clone(),
        );
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
            loop {
                tick.tick().await;
                for bot in sessions.reap(ttl) {
                    events.publish(Some(&bot), "session.reaped", serde_json::json!({}));
                }
            }
        })
    };
    let header_timeout = state.config.header_timeout;
    let task = tokio::spawn(async move {
        crate::http::serve(listener, app, header_timeout, async move {
            let _ = rx.await;
        })
        .await;
        reaper.abort();
    });
    Ok(Running {
        addr,
        state,
        notices,
        shutdown: Some(tx),
        task,
    })
}

/// Starts the bridge and serves until Ctrl-C or SIGTERM; prints notices to stderr.
pub async fn serve_forever(
    config: BridgeConfig,
    backend: Arc<dyn Backend>,
) -> Result<(), ServeError> {
    let running = start(config, backend).await?;
    for n in &running.notices {
        eprintln!("bridge: {n}");
    }
    eprintln!(
        "bridge: listening on http://{} (dashboard at /, API at /openapi.json)",
        running.addr
    );
    shutdown_signal().await;
    eprintln!("bridge: shutting down");
    running.stop().await;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM: how every long-running command of the binary (the bridge, a
/// worker) learns to stop.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// [`serve_forever`] on a new multi-threaded runtime, for callers without one (the CLI).
pub fn serve_blocking(config: BridgeConfig, backend: Arc<dyn Backend>) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ServeError::Io(format!("cannot start the runtime: {e}")))?;
    rt.block_on(serve_forever(config, backend))
}
