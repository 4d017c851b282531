//! Where the walk-forward places prompts: every contiguous block of an asset's 1-minute history
//! (gaps longer than the split gap end a block), after a warm-up inside the block, the
//! validators' schedule thinned evenly to a fixed number of prompts per block.

use serde::Serialize;

use crate::data::MarketData;
use crate::schedule::{schedule, Competition, Prompt};

/// One contiguous stretch of an asset's 1-minute candles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    /// SN50 asset.
    pub asset: String,
    /// Index of the block within the asset's history (0 = oldest).
    pub index: usize,
    /// First candle open, unix seconds.
    pub first: i64,
    /// Last candle open, unix seconds.
    pub last: i64,
}

/// The prompts of one block and competition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlockPlan {
    /// The block.
    pub block: Block,
    /// Competition.
    pub competition: Competition,
    /// First prompt start allowed (block start + warm-up), unix seconds.
    pub from: i64,
    /// End of the prompt starts (exclusive): the horizon and its settlement fit in the block.
    pub to: i64,
    /// Prompts in the full validator schedule of `[from, to)`.
    pub scheduled: usize,
    /// Prompts kept (evenly thinned).
    pub prompts: Vec<Prompt>,
}

/// Splits `ts` (sorted candle opens) where consecutive candles are more than `gap_secs` apart.
pub fn split_blocks(asset: &str, ts: &[i64], gap_secs: i64) -> Vec<Block> {
    let mut out = Vec::new();
    let Some(&first) = ts.first() else {
        return out;
    };
    let (mut start, mut prev) = (first, first);
    for &t in &ts[1..] {
        if t - prev > gap_secs {
            out.push(Block {
                asset: asset.to_string(),
                index: out.len(),
                first: start,
                last: prev,
            });
            start = t;
        }
        prev = t;
    }
    out.push(Block {
        asset: asset.to_string(),
        index: out.len(),
        first: start,
        last: prev,
    });
    out
}

/// Every block of every loaded asset × competition (assets outside a competition's list are
/// left out of it), with its prompts: the validators' schedule over
/// `[block.first + warmup, block.last − horizon − 3 min)` (the 3 minutes: the settlement
/// witness), thinned evenly to at most `per_block` (`0` keeps all). Blocks too short for one
/// prompt are returned with no prompts.
pub fn plan(
    data: &MarketData,
    competitions: &[Competition],
    gap_secs: i64,
    warmup_secs: i64,
    per_block: usize,
) -> Vec<BlockPlan> {
    let mut out = Vec::new();
    for (asset, d) in data {
        let blocks = split_blocks(asset, &d.one_min.ts, gap_secs);
        for &comp in competitions {
            if !comp
                .cfg()
                .asset_list
                .contains(&sn50::asset::canonical_asset(asset).as_str())
            {
                continue;
            }
            for b in &blocks {
                let from = b.first + warmup_secs;
                let to = b.last - comp.time_length() - 180;
                let all = if to > from {
                    schedule(comp, std::slice::from_ref(asset), from, to, 1, None)
                } else {
                    Vec::new()
                };
                let scheduled = all.len();
                let prompts = if per_block > 0 && all.len() > per_block {
                    (0..per_block)
                        .map(|i| all[i * all.len() / per_block].clone())
                        .collect()
                } else {
                    all
                };
                out.push(BlockPlan {
                    block: b.clone(),
                    competition: comp,
                    from,
                    to,
                    scheduled,
                    prompts,
                });
            }
        }
    }
    out
}

/// Realised volatility of the prompt's horizon (what the forecast had to cover): the root mean
/// square of the 1-minute log returns between consecutive candles in
/// `[start, start + horizon]`; `None` with fewer than 10 returns.
pub fn realised_vol(data: &MarketData, p: &Prompt) -> Option<f64> {
    let d = data.get(&p.asset)?;
    let c = d
        .one_min
        .slice_time(p.start_time, p.start_time + p.competition.time_length() + 1);
    let mut s = 0.0;
    let mut n = 0usize;
    for i in 1..c.len() {
        if c.ts[i] - c.ts[i - 1] == 60 && c.close[i] > 0.0 && c.close[i - 1] > 0.0 {
            let r = (c.close[i] / c.close[i - 1]).ln();
            s += r * r;
            n += 1;
        }
    }
    (n >= 10).then(|| (s / n as f64).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_split_on_long_gaps_only() {
        let ts = [0, 60, 120, 86_400, 10 * 86_400, 10 * 86_400 + 60];
        let b = split_blocks("BTC", &ts, 4 * 86_400);
        assert_eq!(b.len(), 2);
        assert_eq!((b[0].first, b[0].last), (0, 86_400));
        assert_eq!(
            (b[1].first, b[1].last, b[1].index),
            (10 * 86_400, 10 * 86_400 + 60, 1)
        );
        assert!(split_blocks("BTC", &[], 60).is_empty());
    }
}
