//! Token and cost accounting, shared by every call of a run.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::config::Pricing;
use super::types::Usage;

/// Totals over a run (or one agent within it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct UsageTotals {
    /// Successful chat-completions calls.
    pub calls: u64,
    /// Failed attempts (each retry counts).
    pub failed_attempts: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// Cost in USD; 0 when prices are unknown.
    pub cost_usd: f64,
}

impl UsageTotals {
    /// Adds one call's usage, priced with `pricing`.
    pub fn add(&mut self, u: &Usage, pricing: Option<Pricing>) {
        self.calls += 1;
        self.prompt_tokens += u.prompt_tokens;
        self.completion_tokens += u.completion_tokens;
        if let Some(p) = pricing {
            self.cost_usd += (u.prompt_tokens as f64 * p.prompt_per_m
                + u.completion_tokens as f64 * p.completion_per_m)
                / 1e6;
        }
    }

    /// `self - earlier`: what was spent since `earlier` was taken.
    pub fn since(&self, earlier: &UsageTotals) -> UsageTotals {
        UsageTotals {
            calls: self.calls.saturating_sub(earlier.calls),
            failed_attempts: self.failed_attempts.saturating_sub(earlier.failed_attempts),
            prompt_tokens: self.prompt_tokens.saturating_sub(earlier.prompt_tokens),
            completion_tokens: self
                .completion_tokens
                .saturating_sub(earlier.completion_tokens),
            cost_usd: (self.cost_usd - earlier.cost_usd).max(0.0),
        }
    }
}

/// A shared, thread-safe usage counter.
#[derive(Debug, Clone, Default)]
pub struct UsageMeter(Arc<Mutex<UsageTotals>>);

impl UsageMeter {
    /// Records a successful call.
    pub fn record(&self, u: &Usage, pricing: Option<Pricing>) {
        self.lock().add(u, pricing);
    }
    /// Records a failed attempt.
    pub fn record_failure(&self) {
        self.lock().failed_attempts += 1;
    }
    /// Current totals.
    pub fn totals(&self) -> UsageTotals {
        *self.lock()
    }
    fn lock(&self) -> std::sync::MutexGuard<'_, UsageTotals> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_tokens_per_million() {
        let m = UsageMeter::default();
        let p = Pricing {
            prompt_per_m: 1.0,
            completion_per_m: 4.0,
        };
        m.record(
            &Usage {
                prompt_tokens: 1000,
                completion_tokens: 500,
                total_tokens: 1500,
            },
            Some(p),
        );
        let before = m.totals();
        m.record(
            &Usage {
                prompt_tokens: 2_000_000,
                completion_tokens: 0,
                total_tokens: 0,
            },
            Some(p),
        );
        let t = m.totals();
        assert_eq!(t.calls, 2);
        assert!((t.cost_usd - (0.001 + 0.002 + 2.0)).abs() < 1e-12);
        let d = t.since(&before);
        assert_eq!(d.prompt_tokens, 2_000_000);
        assert!((d.cost_usd - 2.0).abs() < 1e-12);
    }
}
