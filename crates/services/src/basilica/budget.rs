//! Hard spending limits: a budget per run and per day (`BASILICA_BUDGET_RUN_USD`,
//! `BASILICA_BUDGET_DAY_USD`), checked before renting (the lease is cut to what the budget
//! pays for) and while running ([`Budget::exhausted`]), with a ledger of what each run spent.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// USD a single run (`compute up`) may spend.
pub const RUN_ENV: &str = "BASILICA_BUDGET_RUN_USD";
/// USD all runs of a UTC day may spend together.
pub const DAY_ENV: &str = "BASILICA_BUDGET_DAY_USD";
/// Shortest lease worth renting, seconds.
pub const MIN_LEASE_SECS: u64 = 300;

/// Per-run and per-day caps in USD.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// Per run.
    pub per_run_usd: f64,
    /// Per UTC day.
    pub per_day_usd: f64,
}

fn usd(var: &'static str) -> Result<f64, ServiceError> {
    let v = std::env::var(var).unwrap_or_default();
    if v.trim().is_empty() {
        return Err(ServiceError::NotConfigured {
            service: "Basilica budget",
            var,
        });
    }
    v.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| ServiceError::Invalid(format!("{var}: {v:?} is not a positive USD amount")))
}

impl Budget {
    /// Both caps from the environment; renting needs them (no budget, no GPU).
    pub fn from_env() -> Result<Self, ServiceError> {
        Ok(Self {
            per_run_usd: usd(RUN_ENV)?,
            per_day_usd: usd(DAY_ENV)?,
        })
    }

    /// The longest lease, in seconds, that `rate` USD/h may run for within this budget after
    /// `spent_today`, capped at `max_secs`; an error when it is under [`MIN_LEASE_SECS`].
    pub fn lease_secs(
        &self,
        rate: f64,
        spent_today: f64,
        max_secs: u64,
    ) -> Result<u64, ServiceError> {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(ServiceError::Invalid(format!(
                "hourly rate {rate} is not positive"
            )));
        }
        let left = self.per_run_usd.min(self.per_day_usd - spent_today);
        let secs = if left > 0.0 {
            (left / rate * 3600.0).floor() as u64
        } else {
            0
        };
        let secs = secs.min(max_secs);
        if secs < MIN_LEASE_SECS {
            return Err(ServiceError::Invalid(format!(
                "budget: ${left:.2} left (run cap ${:.2}, day cap ${:.2}, spent today ${spent_today:.2}) \
                 buys {secs} s at ${rate:.2}/h, under the {MIN_LEASE_SECS} s minimum; raise {RUN_ENV} / {DAY_ENV}",
                self.per_run_usd, self.per_day_usd
            )));
        }
        Ok(secs)
    }

    /// True once `accrued` (this run) or `spent_today + accrued` reaches a cap.
    pub fn exhausted(&self, accrued: f64, spent_today: f64) -> bool {
        accrued >= self.per_run_usd || spent_today + accrued >= self.per_day_usd
    }
}

/// One run's spending.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// UTC day, `YYYY-MM-DD`.
    pub day: String,
    /// The run's deployment name (`synth-city-<run>`, known before it is created: the
    /// reservation and the final cost are recorded under the same key).
    pub run: String,
    /// USD (rate × time held; before the end, the reserved lease's whole cost).
    pub usd: f64,
}

/// Largest ledger read (a day's entries are a few hundred bytes; years of them fit).
const MAX_LEDGER_BYTES: u64 = 16 << 20;

/// What [`Ledger::reserve`] granted.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reservation {
    /// The lease, seconds, within the budget.
    pub lease_secs: u64,
    /// USD today's other runs had spent or reserved when it was granted.
    pub spent_by_others: f64,
}

/// The spend ledger: a JSON file, replaced whole (the one atomic write) on every write, each
/// read-modify-write under the exclusive lock of `<file>.lock` across processes. A damaged
/// ledger is an error, never read as "nothing spent".
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
}

impl Ledger {
    /// The ledger at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Its file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Vec<Entry>, ServiceError> {
        Ok(crate::state_file::read_json(&self.path, MAX_LEDGER_BYTES)?.unwrap_or_default())
    }

    /// USD recorded for `day`.
    pub fn spent_on(&self, day: &str) -> Result<f64, ServiceError> {
        Ok(self
            .read()?
            .iter()
            .filter(|e| e.day == day)
            .map(|e| e.usd)
            .sum())
    }

    /// USD recorded today (UTC), reservations of running leases included.
    pub fn spent_today(&self) -> Result<f64, ServiceError> {
        self.spent_on(&today())
    }

    /// Sets `run`'s spending today to `usd` (called while it runs and at its end), under the
    /// ledger's lock so that another process's entry is not lost.
    pub fn record(&self, run: &str, usd: f64) -> Result<(), ServiceError> {
        let _held = crate::state_file::lock(&self.path)?;
        self.write_entry(&today(), run, Some(usd))
    }

    /// Drops `run`'s entry for today: a reservation whose deployment was never created.
    pub fn release(&self, run: &str) -> Result<(), ServiceError> {
        let _held = crate::state_file::lock(&self.path)?;
        self.write_entry(&today(), run, None)
    }

    /// Reserves `run`'s lease before renting: under the ledger's lock, reads what today's other
    /// runs spent, asks `budget` for the lease that `rate` USD/h pays for (at most `max_secs`,
    /// an error when it is too short) and records that whole lease's cost as `run`'s spending,
    /// so that runs starting at once in several processes cannot together pass the day cap.
    /// [`Ledger::record`] later replaces the reservation with what the run really cost, and
    /// [`Ledger::release`] drops it when nothing was rented.
    pub fn reserve(
        &self,
        budget: &Budget,
        run: &str,
        rate: f64,
        max_secs: u64,
    ) -> Result<Reservation, ServiceError> {
        let _held = crate::state_file::lock(&self.path)?;
        let day = today();
        let spent_by_others: f64 = self
            .read()?
            .iter()
            .filter(|e| e.day == day && e.run != run)
            .map(|e| e.usd)
            .sum();
        let lease_secs = budget.lease_secs(rate, spent_by_others, max_secs)?;
        self.write_entry(&day, run, Some(rate * lease_secs as f64 / 3600.0))?;
        Ok(Reservation {
            lease_secs,
            spent_by_others,
        })
    }

    /// Replaces (`Some`) or removes (`None`) `run`'s entry for `day` (the caller holds the lock).
    fn write_entry(&self, day: &str, run: &str, usd: Option<f64>) -> Result<(), ServiceError> {
        let mut v = self.read()?;
        v.retain(|e| !(e.day == day && e.run == run));
        if let Some(usd) = usd {
            v.push(Entry {
                day: day.to_string(),
                run: run.to_string(),
                usd,
            });
        }
        crate::state_file::write_json(&self.path, &v)
    }
}

/// Today's UTC date.
pub fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_fits_the_budget_or_is_refused() {
        let b = Budget {
            per_run_usd: 2.0,
            per_day_usd: 5.0,
        };
        assert_eq!(b.lease_secs(1.0, 0.0, 86_400).unwrap(), 7200);
        assert_eq!(b.lease_secs(1.0, 4.0, 86_400).unwrap(), 3600);
        assert_eq!(b.lease_secs(1.0, 0.0, 600).unwrap(), 600);
        assert!(b.lease_secs(1.0, 4.99, 86_400).is_err());
        assert!(b.lease_secs(0.0, 0.0, 86_400).is_err());
        assert!(b.exhausted(2.0, 0.0));
        assert!(b.exhausted(1.0, 4.0));
        assert!(!b.exhausted(1.0, 3.0));
    }

    #[test]
    fn the_ledger_sums_a_day_and_replaces_a_run() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::new(dir.path().join("spend.json"));
        l.record("a", 1.0).unwrap();
        l.record("a", 1.5).unwrap();
        l.record("b", 0.25).unwrap();
        assert!((l.spent_today().unwrap() - 1.75).abs() < 1e-12);
        l.release("a").unwrap();
        assert!((l.spent_today().unwrap() - 0.25).abs() < 1e-12);
    }

    #[test]
    fn a_reservation_counts_until_replaced_and_others_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::new(dir.path().join("spend.json"));
        let b = Budget {
            per_run_usd: 2.0,
            per_day_usd: 3.0,
        };
        l.record("earlier", 1.5).unwrap();
        let r = l.reserve(&b, "now", 1.0, 86_400).unwrap();
        assert_eq!(
            r.lease_secs, 5400,
            "the day's $1.50 left buys 1.5 h at $1/h"
        );
        assert!((r.spent_by_others - 1.5).abs() < 1e-12);
        assert!((l.spent_today().unwrap() - 3.0).abs() < 1e-12);
        // A second run finds the day spent.
        assert!(l.reserve(&b, "other", 1.0, 86_400).is_err());
        l.record("now", 0.25).unwrap();
        assert!((l.spent_today().unwrap() - 1.75).abs() < 1e-12);
    }

    #[test]
    fn a_damaged_ledger_is_an_error_not_an_empty_day() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("spend.json");
        std::fs::write(&path, b"[{\"day\": \"2026-").unwrap();
        let l = Ledger::new(&path);
        let b = Budget {
            per_run_usd: 1.0,
            per_day_usd: 1.0,
        };
        let e = l.spent_today().unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
        // Named inside the data folder, never by the absolute path (it reaches agents' answers).
        assert!(e.contains("spend.json"), "{e}");
        assert!(!e.contains(&*dir.path().to_string_lossy()), "{e}");
        assert!(
            l.reserve(&b, "run", 1.0, 3600).is_err(),
            "renting on an unreadable ledger"
        );
        assert!(l.record("run", 0.5).is_err());
        assert_eq!(
            std::fs::read(&path).unwrap(),
            b"[{\"day\": \"2026-",
            "the ledger was replaced"
        );
    }
}
