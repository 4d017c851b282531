//! `data sync`: brings every cached series up to now from Pyth, incrementally and resumably.
//!
//! For each asset × resolution the sync starts where the cache ends. An empty cache is first
//! seeded with the real history the binary already knows (`$SYNTH_CITY_DATA`, the shared folder
//! or the embedded set, see [`crate::lookup`]), so a sync *extends* that history rather than
//! replacing it with a short download. Fetched candles are merged into the cache every
//! [`MERGE_EVERY`] requests: an interrupted sync keeps what it fetched and the next one resumes
//! from there. Candles the feed does not have stay missing (gaps stay gaps, nothing is filled).

use crate::pyth::PythClient;
use crate::{Cache, Candles, MarketError, Provenance};

/// Requests fetched between two merges into the cache.
pub const MERGE_EVERY: usize = 10;

/// What one series' sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOutcome {
    /// SN50 asset.
    pub asset: String,
    /// Seconds per candle.
    pub resolution_secs: u32,
    /// Where the seed came from, when the cache was empty and real history existed.
    pub seeded_from: Option<String>,
    /// Candles added from Pyth.
    pub added: usize,
    /// Open time of the last cached candle after the sync.
    pub last: Option<i64>,
}

/// Seconds between the end of the last cached candle of `asset` and `now` (`None`: no history).
pub fn history_age(
    cache: &Cache,
    asset: &str,
    resolution_secs: u32,
    now: i64,
) -> Result<Option<i64>, MarketError> {
    Ok(cache
        .load(asset, resolution_secs)?
        .filter(|c| !c.is_empty())
        .map(|c| now - (c.ts[c.len() - 1] + i64::from(resolution_secs))))
}

/// The range `[from, to)` a sync fetches for a series whose last candle opens at `last`, never
/// reaching back more than `max_days` before `now`. `None` when there is nothing to fetch.
pub fn sync_range(
    last: Option<i64>,
    resolution_secs: u32,
    now: i64,
    max_days: u32,
) -> Option<(i64, i64)> {
    let res = i64::from(resolution_secs.max(1));
    let to = now - now.rem_euclid(res);
    let floor = to - i64::from(max_days) * 86_400;
    let from = last.map_or(floor, |l| (l + res).max(floor));
    (from < to).then_some((from, to))
}

/// Syncs one series: seeds an empty cache from the known real history, then fetches from the last
/// candle to `now` (at most `max_days` back). `on_request(done, total)` reports progress.
pub fn sync_series(
    client: &PythClient,
    cache: &Cache,
    asset: &str,
    resolution_secs: u32,
    now: i64,
    max_days: u32,
    mut on_request: impl FnMut(usize, usize),
) -> Result<SyncOutcome, MarketError> {
    let asset = asset.to_ascii_uppercase();
    let mut seeded_from = None;
    let mut cached = cache
        .load(&asset, resolution_secs)?
        .filter(|c| !c.is_empty());
    if cached.is_none() {
        if let Some((mut seed, source)) = seed_history(&asset, resolution_secs)? {
            seed.asset.clone_from(&asset);
            seed.provenance = Provenance::Real;
            cache.store(&seed)?;
            seeded_from = Some(source);
            cached = Some(seed);
        }
    }
    let last = cached.as_ref().map(|c| c.ts[c.len() - 1]);
    let mut outcome = SyncOutcome {
        asset: asset.clone(),
        resolution_secs,
        seeded_from,
        added: 0,
        last,
    };
    let Some((from, to)) = sync_range(last, resolution_secs, now, max_days) else {
        on_request(0, 0);
        return Ok(outcome);
    };
    let ranges = client.chunk_ranges(resolution_secs, from, to);
    let total = ranges.len();
    let mut pending = Candles::empty(asset.clone(), resolution_secs, Provenance::Real);
    for (k, &(a, b)) in ranges.iter().enumerate() {
        match client.candles(&asset, resolution_secs, a, b, |_, _| {}) {
            Ok(c) => append(&mut pending, &c),
            Err(MarketError::NoData { .. }) => {}
            Err(e) => {
                // Keep what arrived before the failure: the next sync resumes after it.
                flush(cache, &mut pending, &mut outcome)?;
                return Err(e);
            }
        }
        on_request(k + 1, total);
        if (k + 1) % MERGE_EVERY == 0 {
            flush(cache, &mut pending, &mut outcome)?;
        }
    }
    flush(cache, &mut pending, &mut outcome)?;
    Ok(outcome)
}

/// The real history of `asset` the binary knows without the network, with where it came from.
fn seed_history(
    asset: &str,
    resolution_secs: u32,
) -> Result<Option<(Candles, String)>, MarketError> {
    let mut names = vec![asset.to_string(), sn50::asset::file_asset(asset)];
    names.dedup();
    for name in names {
        if crate::lookup::locate(&name, resolution_secs)?.is_some() {
            let (c, source) = crate::lookup::load_real(&name, resolution_secs)?;
            if !c.is_empty() {
                return Ok(Some((c, source.describe())));
            }
        }
    }
    Ok(None)
}

fn append(into: &mut Candles, c: &Candles) {
    into.ts.extend_from_slice(&c.ts);
    into.open.extend_from_slice(&c.open);
    into.high.extend_from_slice(&c.high);
    into.low.extend_from_slice(&c.low);
    into.close.extend_from_slice(&c.close);
}

fn flush(
    cache: &Cache,
    pending: &mut Candles,
    outcome: &mut SyncOutcome,
) -> Result<(), MarketError> {
    if pending.is_empty() {
        return Ok(());
    }
    let report = cache.merge(pending)?;
    outcome.added += report.after.saturating_sub(report.before);
    outcome.last = pending.ts.last().copied().max(outcome.last);
    *pending = Candles::empty(
        pending.asset.clone(),
        pending.resolution_secs,
        Provenance::Real,
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_starts_after_the_last_candle_and_is_capped() {
        let day = 86_400;
        // Empty cache: max_days back from now (floored to the resolution).
        assert_eq!(
            sync_range(None, 300, 10 * day + 7, 3),
            Some((7 * day, 10 * day))
        );
        // Resumes right after the last candle.
        assert_eq!(
            sync_range(Some(10 * day - 600), 300, 10 * day, 3),
            Some((10 * day - 300, 10 * day))
        );
        // Up to date: nothing to fetch.
        assert_eq!(
            sync_range(Some(10 * day - 300), 300, 10 * day + 10, 3),
            None
        );
        // Very old history: never more than max_days.
        assert_eq!(
            sync_range(Some(0), 60, 100 * day, 30),
            Some((70 * day, 100 * day))
        );
    }
}
