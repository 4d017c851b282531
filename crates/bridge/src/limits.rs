//! Resource caps a bot cannot talk its way past: the memory of the models it builds (per bot
//! and for the whole bridge) and the size of its workspace.
//!
//! A model's size comes from its spec alone (`models::estimate`), before anything is built. An
//! experiment whose estimate is over the per-bot cap is refused (422 `model_too_large`) by
//! `validate`, `create`, `run` and `sweep`; while it runs, its estimate is reserved in a ledger
//! so that one bot's running models stay under the per-bot cap and all bots' under the global
//! cap (over either: 422 naming both numbers; the reservation is released when the run ends).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::error::{ApiError, ApiResult, ErrorKind};

/// Env var: per-bot model memory cap in MiB (one model, and one bot's running models together).
pub const MAX_MODEL_MB_ENV: &str = "SYNTH_BRIDGE_MAX_MODEL_MB";
/// Env var: global model memory cap in MiB (every bot's running models together).
pub const MAX_TOTAL_MODEL_MB_ENV: &str = "SYNTH_BRIDGE_MAX_TOTAL_MODEL_MB";
/// Env var: per-bot workspace quota in MiB.
pub const WORKSPACE_MB_ENV: &str = "SYNTH_BRIDGE_WORKSPACE_MB";
/// Env var: per-bot workspace quota in files.
pub const WORKSPACE_FILES_ENV: &str = "SYNTH_BRIDGE_WORKSPACE_FILES";

const MIB: u64 = 1 << 20;

/// Memory caps of models (bytes of the training estimate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelLimits {
    /// Largest estimate of one model, and of one bot's running models together (default 2 GiB).
    pub per_bot_bytes: u64,
    /// Largest estimate of every bot's running models together (default 6 GiB).
    pub total_bytes: u64,
}

/// Workspace quota of each bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkspaceQuota {
    /// Bytes of all its files together (default 50 MiB).
    pub max_bytes: u64,
    /// Number of files (default 1,000).
    pub max_files: usize,
}

fn env_u64(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse::<u64>() {
        Ok(n) if n > 0 => Some(n),
        _ => {
            tracing::warn!("{name}={v:?} is not a positive integer; using the default");
            None
        }
    }
}

impl ModelLimits {
    /// Defaults, overridden by `SYNTH_BRIDGE_MAX_MODEL_MB` / `SYNTH_BRIDGE_MAX_TOTAL_MODEL_MB`.
    pub fn from_env() -> Self {
        Self {
            per_bot_bytes: env_u64(MAX_MODEL_MB_ENV).map_or(2048 * MIB, |m| m.saturating_mul(MIB)),
            total_bytes: env_u64(MAX_TOTAL_MODEL_MB_ENV)
                .map_or(6144 * MIB, |m| m.saturating_mul(MIB)),
        }
    }
}

impl WorkspaceQuota {
    /// Defaults, overridden by `SYNTH_BRIDGE_WORKSPACE_MB` / `SYNTH_BRIDGE_WORKSPACE_FILES`.
    pub fn from_env() -> Self {
        Self {
            max_bytes: env_u64(WORKSPACE_MB_ENV).map_or(50 * MIB, |m| m.saturating_mul(MIB)),
            max_files: env_u64(WORKSPACE_FILES_ENV)
                .map_or(1000, |n| usize::try_from(n).unwrap_or(usize::MAX)),
        }
    }
}

/// Bytes in people's units (`12.9 GB`).
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else {
        format!("{:.0} MB", (b / 1e6).max(1.0))
    }
}

/// The size of an experiment's model, as a backend estimates it from the spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSize {
    /// Trainable parameters.
    pub params: u64,
    /// Bytes to train it (weights, gradients, optimiser state, activations).
    pub bytes: u64,
}

impl ModelSize {
    /// `{params, bytes}` as JSON.
    pub fn to_json(self) -> Value {
        serde_json::json!({"params": self.params, "train_bytes": self.bytes})
    }
}

/// Refuses a model over the per-bot cap (422 `model_too_large`).
pub fn check(limits: &ModelLimits, size: ModelSize) -> ApiResult<()> {
    let cap = limits.per_bot_bytes.min(limits.total_bytes);
    if size.bytes > cap {
        return Err(ApiError::new(
            ErrorKind::ModelTooLarge,
            format!(
                "model too large: {} parameters, about {} to train, over the cap of {} ({MAX_MODEL_MB_ENV}); make d_model, the blocks' widths or the batch smaller",
                size.params,
                human(size.bytes),
                human(cap)
            ),
        ));
    }
    Ok(())
}

/// The memory reserved by running models, per bot and in total.
#[derive(Debug, Default)]
pub struct ModelBudget {
    reserved: Mutex<HashMap<String, u64>>,
}

/// A reservation; released on drop.
pub struct Reservation {
    budget: Arc<ModelBudget>,
    bot: String,
    bytes: u64,
}

impl ModelBudget {
    /// A new, empty ledger.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Bytes reserved in total.
    pub fn total(&self) -> u64 {
        self.lock().values().sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        self.reserved.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves `size` for `bot`, or refuses (422 `model_too_large`) when the bot's running
    /// models or everyone's would pass their cap.
    pub fn reserve(
        self: &Arc<Self>,
        limits: &ModelLimits,
        bot: &str,
        size: ModelSize,
    ) -> ApiResult<Reservation> {
        check(limits, size)?;
        let mut map = self.lock();
        let mine = map.get(bot).copied().unwrap_or(0);
        let total: u64 = map.values().sum();
        let refuse = |what: &str, used: u64, cap: u64| {
            Err(ApiError::new(
                ErrorKind::ModelTooLarge,
                format!(
                    "model too large to run now: about {} to train, and {what} already use {} of the {} cap; retry when they finish",
                    human(size.bytes),
                    human(used),
                    human(cap)
                ),
            ))
        };
        if mine.saturating_add(size.bytes) > limits.per_bot_bytes {
            return refuse("your running models", mine, limits.per_bot_bytes);
        }
        if total.saturating_add(size.bytes) > limits.total_bytes {
            return refuse("all bots' running models", total, limits.total_bytes);
        }
        *map.entry(bot.to_string()).or_insert(0) += size.bytes;
        Ok(Reservation {
            budget: Arc::clone(self),
            bot: bot.to_string(),
            bytes: size.bytes,
        })
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut map = self.budget.lock();
        if let Some(v) = map.get_mut(&self.bot) {
            *v = v.saturating_sub(self.bytes);
            if *v == 0 {
                map.remove(&self.bot);
            }
        }
    }
}
