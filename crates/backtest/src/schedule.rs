//! The validators' prompt schedule: one prompt every `cycle_interval_minutes`, on whole minutes,
//! rotating through the competition's asset list; the start time is two minutes after the
//! request (the next minute boundary plus 60 s: the validator asks for forecasts that start a minute
//! after it sends the prompt, so a miner has time to answer).

use serde::Serialize;

/// Seconds between the request (the last moment a miner may use data from) and the start.
pub const LEAD_SECS: i64 = 120;

/// One of the two SN50 competitions (the one type, owned by `sn50`).
pub use sn50::Competition;

/// One prompt as a validator sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    /// Competition.
    pub competition: Competition,
    /// SN50 asset.
    pub asset: String,
    /// When the validator sends it (the miner's data must end here), unix seconds.
    pub request_time: i64,
    /// `start_time` of the request, unix seconds.
    pub start_time: i64,
}

impl Prompt {
    /// `start_time + time_length`: when it is scored (the moving average's `scored_time`).
    pub fn scored_time(&self) -> i64 {
        self.start_time + self.competition.cfg().time_length
    }
}

/// The prompts of `competition` for `assets` whose start lies in `[from, to)`, in time order.
///
/// Cycle slots are the multiples of the cycle interval since the epoch; slot `k` asks for
/// `asset_list[k % len]`, so each asset comes round every [`Competition::asset_cadence_secs`]
/// (LOW 1 h, HIGH 10 min: one prompt per density-tapering bucket, as the validator scores).
/// Assets outside the competition's list are ignored. `stride` keeps every `stride`-th prompt of
/// each asset (1 = all); `max_per_asset`, when set, thins each asset's prompts evenly to at most
/// that many.
pub fn schedule(
    competition: Competition,
    assets: &[String],
    from: i64,
    to: i64,
    stride: usize,
    max_per_asset: Option<usize>,
) -> Vec<Prompt> {
    let cfg = competition.cfg();
    let cycle = cfg.cycle_interval_minutes * 60;
    let n = cfg.asset_list.len() as i64;
    let stride = stride.max(1);
    let mut per_asset: Vec<Vec<Prompt>> = Vec::new();
    for asset in assets {
        let canon = sn50::asset::canonical_asset(asset);
        let Some(pos) = cfg.asset_list.iter().position(|a| *a == canon) else {
            continue;
        };
        let first_req = from - LEAD_SECS;
        // First slot k >= first_req / cycle with k % n == pos.
        let k0 = first_req.div_euclid(cycle);
        let k = k0 + (pos as i64 - k0).rem_euclid(n);
        let mut list = Vec::new();
        let mut t = k * cycle;
        while t + LEAD_SECS < to {
            if t + LEAD_SECS >= from {
                list.push(Prompt {
                    competition,
                    asset: asset.clone(),
                    request_time: t,
                    start_time: t + LEAD_SECS,
                });
            }
            t += n * cycle;
        }
        let mut list: Vec<Prompt> = list.into_iter().step_by(stride).collect();
        if let Some(max) = max_per_asset {
            if list.len() > max {
                let len = list.len();
                list = (0..max).map(|i| list[i * len / max].clone()).collect();
            }
        }
        per_asset.push(list);
    }
    let mut all: Vec<Prompt> = per_asset.into_iter().flatten().collect();
    all.sort_by_key(|p| (p.start_time, p.asset.clone()));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn rotation_and_cadence_follow_the_validator() {
        let day = 1_776_000_000 - 1_776_000_000 % 86_400;
        let p = schedule(
            Competition::Low,
            &s(&["BTC", "ETH"]),
            day,
            day + 86_400,
            1,
            None,
        );
        assert_eq!(p.len(), 48);
        let btc: Vec<_> = p.iter().filter(|p| p.asset == "BTC").collect();
        assert!(btc
            .windows(2)
            .all(|w| w[1].start_time - w[0].start_time == 3600));
        // BTC is slot 0 of 12 five-minute slots; ETH the next slot.
        assert_eq!(btc[0].request_time % 3600, 0);
        assert_eq!(btc[0].start_time, btc[0].request_time + 120);
        let eth = p.iter().find(|p| p.asset == "ETH").unwrap();
        assert_eq!(eth.request_time % 3600, 300);
        assert!(p
            .iter()
            .all(|p| p.start_time >= day && p.start_time < day + 86_400));
        let h = schedule(
            Competition::High,
            &s(&["SOL", "DOGE"]),
            day,
            day + 3600,
            1,
            None,
        );
        assert_eq!(h.len(), 6);
        assert_eq!(h[0].request_time % 600, 3 * 120);
        let thin = schedule(
            Competition::High,
            &s(&["SOL"]),
            day,
            day + 86_400,
            3,
            Some(10),
        );
        assert_eq!(thin.len(), 10);
        assert_eq!(thin[1].start_time - thin[0].start_time, 4 * 3 * 600);
    }
}
