//! Commands of the `bridge` area: run the bridge, call a running one, install the OpenClaw skill.

mod client;
mod openclaw;
mod openclaw_deploy;
mod openclaw_state;

use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::{CliError, CliResult};

/// Commands of the `bridge` area.
#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run the HTTP bridge through which OpenClaw bots steer research (Ctrl-C stops it).
    ///
    /// Without BRIDGE_ADMIN_KEY and without bot keys it runs open on 127.0.0.1 only.
    Bridge {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1", env = "BRIDGE_HOST")]
        host: IpAddr,
        /// Port to listen on.
        #[arg(long, default_value_t = 8377, env = "BRIDGE_PORT")]
        port: u16,
        /// Compute jobs (pipelines, experiment runs, sweeps) running at once, all bots together.
        #[arg(long, default_value_t = 10, env = "MAX_CONCURRENT_PIPELINES")]
        max_pipelines: usize,
        /// Compute jobs waiting for a slot before new ones get 429.
        #[arg(long, default_value_t = 10)]
        max_queued: usize,
        /// Compute jobs one bot may have running or waiting.
        #[arg(long, default_value_t = 2)]
        per_bot: usize,
        /// Seconds of inactivity after which a session is dropped from memory (kept on disk).
        #[arg(long, default_value_t = 3600, env = "BOT_SESSION_TTL_SECONDS")]
        session_ttl: u64,
        /// Run pipelines with the built-in planner even when an LLM is configured.
        #[arg(long)]
        builtin_planner: bool,
        /// Manage bot keys directly in the key database instead of serving.
        #[command(subcommand)]
        keys: Option<KeysCmd>,
    },
    /// Call a running bridge (URL from --url or SYNTH_BRIDGE_URL, key from --key or SYNTH_BRIDGE_KEY).
    Client(client::Args),
    /// Install the synth-city skill into an OpenClaw workspace, or check that it works.
    Openclaw {
        #[command(subcommand)]
        cmd: openclaw::Cmd,
    },
}

/// Shortest admin key `synth-city bridge` accepts.
pub const MIN_ADMIN_KEY_LEN: usize = 16;
/// Longest `--session-ttl`.
pub const MAX_SESSION_TTL_SECS: u64 = 7 * 86_400;

/// Key management on this machine (needs no admin key: it writes the database directly).
#[derive(Subcommand, Debug)]
pub enum KeysCmd {
    /// Issue a key for a new bot; prints it once.
    CreateKey {
        /// Bot id: 1-64 of a-z, 0-9, '_' and '-'.
        bot_id: String,
    },
    /// Revoke a bot's key.
    RevokeKey {
        /// Bot id.
        bot_id: String,
    },
    /// List bots (never keys).
    ListKeys,
}

/// Runs one command of this area.
pub fn run(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Bridge {
            host,
            port,
            max_pipelines,
            max_queued,
            per_bot,
            session_ttl,
            builtin_planner,
            keys,
        } => {
            let mut config = bridge::BridgeConfig::new(bridge::BridgeConfig::default_state_dir());
            if let Some(k) = keys {
                return manage_keys(&config, k);
            }
            if max_pipelines == 0 || per_bot == 0 || session_ttl == 0 {
                return Err(CliError::input(
                    "--max-pipelines, --per-bot and --session-ttl must be positive",
                ));
            }
            if session_ttl > MAX_SESSION_TTL_SECS {
                return Err(CliError::input(format!(
                    "--session-ttl: at most {MAX_SESSION_TTL_SECS} seconds (7 days)"
                )));
            }
            if config
                .admin_key
                .as_ref()
                .is_some_and(|k| k.chars().count() < MIN_ADMIN_KEY_LEN)
            {
                return Err(CliError::input(format!(
                    "{} is shorter than {MIN_ADMIN_KEY_LEN} characters; use a long random key \
                     (e.g. `openssl rand -hex 32`)",
                    bridge::server::ADMIN_KEY_ENV
                )));
            }
            config.host = host;
            config.port = port;
            config.limits = bridge::SlotLimits {
                max_running: max_pipelines,
                max_queued,
                per_bot,
            };
            config.session_ttl = Duration::from_secs(session_ttl);
            config.reap_every = (config.session_ttl / 2).min(Duration::from_secs(300));
            // Experiments of every bot (single runs, sweeps, pipelines) go to the workers of
            // SYNTH_CITY_WORKERS when it names any.
            let runner = crate::cmd::worker::dispatch(research::ModelsRunner::new(), None)?;
            let backend: std::sync::Arc<dyn bridge::Backend> = std::sync::Arc::new(
                bridge::EngineBackend::open_default(bridge::EngineOptions {
                    builtin_planner,
                    ..Default::default()
                })
                .map_err(|e| CliError::runtime(e.to_string()))?
                .with_runner(runner),
            );
            bridge::serve_blocking(config, backend)
                .map_err(|e| CliError::runtime(e.to_string()))?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Client(args) => client::run(args),
        Cmd::Openclaw { cmd } => openclaw::run(cmd),
    }
}

fn manage_keys(config: &bridge::BridgeConfig, cmd: KeysCmd) -> CliResult {
    let store = bridge::KeyStore::open(&config.keys_path())
        .map_err(|e| CliError::runtime(e.to_string()))?;
    let fail = |e: bridge::keys::KeyError| match e {
        bridge::keys::KeyError::Db { .. } | bridge::keys::KeyError::Random(_) => {
            CliError::runtime(e.to_string())
        }
        _ => CliError::input(e.to_string()),
    };
    match cmd {
        KeysCmd::CreateKey { bot_id } => {
            let key = store.create(&bot_id).map_err(fail)?;
            println!("{key}");
            eprintln!("key for bot {bot_id:?}: store it now, it is shown once");
        }
        KeysCmd::RevokeKey { bot_id } => {
            store.revoke(&bot_id).map_err(fail)?;
            eprintln!("revoked the key of bot {bot_id:?}");
        }
        KeysCmd::ListKeys => {
            let bots = store.list().map_err(fail)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&bots).unwrap_or_default()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
