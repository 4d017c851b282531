//! Compute slots: at most `max_running` long jobs (pipelines, experiment runs, sweeps) run at
//! once across all bots; up to `max_queued` more wait in arrival order (tokio's semaphore is
//! FIFO), and each bot may hold at most `per_bot` admitted jobs, so no bot can crowd out the
//! others. Past that, callers get 429.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{ApiError, ErrorKind};

/// Limits of [`Slots`].
#[derive(Debug, Clone, Copy)]
pub struct SlotLimits {
    /// Jobs running at once, all bots together.
    pub max_running: usize,
    /// Jobs waiting for a slot, all bots together.
    pub max_queued: usize,
    /// Jobs admitted (running or waiting) per bot.
    pub per_bot: usize,
}

#[derive(Default)]
struct Admitted {
    total: usize,
    per_bot: HashMap<String, usize>,
}

/// The shared pool of compute slots.
pub struct Slots {
    limits: SlotLimits,
    sem: Arc<Semaphore>,
    admitted: Mutex<Admitted>,
}

/// An admitted job: holds its place until dropped.
pub struct Ticket {
    slots: Arc<Slots>,
    bot: String,
    permit: Option<OwnedSemaphorePermit>,
}

impl Slots {
    /// A pool with these limits (`max_running` at least 1).
    pub fn new(limits: SlotLimits) -> Arc<Self> {
        let limits = SlotLimits {
            max_running: limits.max_running.max(1),
            per_bot: limits.per_bot.max(1),
            ..limits
        };
        Arc::new(Self {
            limits,
            sem: Arc::new(Semaphore::new(limits.max_running)),
            admitted: Mutex::new(Admitted::default()),
        })
    }

    /// The limits in force.
    pub fn limits(&self) -> SlotLimits {
        self.limits
    }

    /// Jobs running now.
    pub fn running(&self) -> usize {
        self.limits.max_running - self.sem.available_permits()
    }

    /// Jobs admitted (running or waiting).
    pub fn admitted(&self) -> usize {
        self.admitted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .total
    }

    /// Admits a job of `bot` or refuses with 429 when the pool or the bot's share is full.
    pub fn admit(self: &Arc<Self>, bot: &str) -> Result<Ticket, ApiError> {
        let mut a = self.admitted.lock().unwrap_or_else(|p| p.into_inner());
        let cap = self.limits.max_running + self.limits.max_queued;
        if a.total >= cap {
            return Err(ApiError::new(
                ErrorKind::TooManyPipelines,
                format!(
                    "all {} compute slots are busy and {} jobs are waiting; retry later",
                    self.limits.max_running, self.limits.max_queued
                ),
            ));
        }
        let mine = a.per_bot.get(bot).copied().unwrap_or(0);
        if mine >= self.limits.per_bot {
            return Err(ApiError::new(
                ErrorKind::TooManyPipelines,
                format!(
                    "this bot already has {mine} jobs running or queued (limit {})",
                    self.limits.per_bot
                ),
            ));
        }
        a.total += 1;
        *a.per_bot.entry(bot.to_string()).or_insert(0) += 1;
        Ok(Ticket {
            slots: Arc::clone(self),
            bot: bot.to_string(),
            permit: None,
        })
    }
}

impl Ticket {
    /// Waits (in arrival order) until a slot is free; the slot is held until the ticket drops.
    pub async fn run_slot(&mut self) {
        if self.permit.is_none() {
            // The semaphore is never closed, so acquiring cannot fail.
            self.permit = Arc::clone(&self.slots.sem).acquire_owned().await.ok();
        }
    }
}

impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("bot", &self.bot)
            .field("running", &self.permit.is_some())
            .finish()
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.permit.take();
        let mut a = self
            .slots
            .admitted
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        a.total = a.total.saturating_sub(1);
        if let Some(n) = a.per_bot.get_mut(&self.bot) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                a.per_bot.remove(&self.bot);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caps_hold_and_release() {
        let slots = Slots::new(SlotLimits {
            max_running: 2,
            max_queued: 1,
            per_bot: 1,
        });
        let mut a = slots.admit("a").unwrap();
        assert_eq!(
            slots.admit("a").unwrap_err().kind,
            ErrorKind::TooManyPipelines
        );
        let mut b = slots.admit("b").unwrap();
        let c = slots.admit("c").unwrap();
        assert_eq!(
            slots.admit("d").unwrap_err().kind,
            ErrorKind::TooManyPipelines
        );
        a.run_slot().await;
        b.run_slot().await;
        assert_eq!(slots.running(), 2);
        drop(a);
        assert_eq!(slots.running(), 1);
        assert_eq!(slots.admitted(), 2);
        drop((b, c));
        assert_eq!(slots.admitted(), 0);
        assert!(slots.admit("a").is_ok());
    }
}
