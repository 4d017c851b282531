//! The scheduled data sync: the miner's own [`miner::AutoSync`] run now (the same one the
//! miner's staleness check starts, so there is one sync at a time whoever asked for it).

use miner::autosync::SyncRefused;
use miner::AutoSync;

/// Runs one scheduled sync; `Ok` says what it added, `Err` which series failed (what arrived
/// is kept either way). A sync already running (started by a request) counts as done.
pub fn run(sync: &AutoSync) -> Result<String, String> {
    match sync.sync_blocking("scheduled") {
        Ok(r) if r.failures.is_empty() => Ok(format!(
            "+{} candles over {} series",
            r.added(),
            r.outcomes.len()
        )),
        Ok(r) => Err(format!(
            "+{} candles; failed: {}",
            r.added(),
            r.failures.join("; ")
        )),
        Err(SyncRefused::Busy) => Ok("a sync started by the miner's check was running".into()),
    }
}
