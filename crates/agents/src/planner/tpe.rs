//! Tree-structured Parzen estimator over the categorical search space: past runs split into a
//! good quantile and the rest; each dimension gets smoothed frequencies l(x) (good) and g(x)
//! (rest); candidates drawn mostly from l are ranked by Σ log l/g. With too little history it
//! samples uniformly. Points already run (same fingerprint) are never proposed again.

use std::collections::HashSet;

use super::space::{Point, SearchSpace, SpecBase};
use crate::backend::{PlannerRun, PlannerSpec};

/// Fraction of the history counted as "good".
pub const GAMMA: f64 = 0.25;
/// Below this many successful runs the proposer explores uniformly.
pub const MIN_HISTORY: usize = 4;

/// The planner's deterministic PRNG ([`models::rng::SplitMix64`]), so proposals are
/// reproducible from a seed.
pub use models::rng::SplitMix64;

/// Proposes up to `n` new specs. `history` is every past run (any asset); only successful runs
/// of `base.asset` × `base.timeframe` inform the model, and every past fingerprint is excluded.
pub fn propose(
    space: &SearchSpace,
    history: &[PlannerRun],
    base: &SpecBase,
    n: usize,
    seed: u64,
) -> Vec<PlannerSpec> {
    if space.is_empty() || n == 0 {
        return Vec::new();
    }
    let mut seen: HashSet<String> = history.iter().map(|r| r.fingerprint.clone()).collect();
    let relevant: Vec<(Point, f64)> = history
        .iter()
        .filter(|r| r.is_ok())
        .filter(|r| r.spec.asset.as_deref() == Some(base.asset.as_str()))
        .filter(|r| r.spec.timeframe.as_deref() == Some(base.timeframe.as_str()))
        .filter_map(|r| Some((space.locate(&r.spec)?, r.crps?)))
        .collect();
    let mut rng =
        SplitMix64::new(seed ^ (history.len() as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let model = (relevant.len() >= MIN_HISTORY).then(|| Parzen::fit(space, &relevant));

    let mut out = Vec::new();
    let attempts = 64 * n + 256;
    let mut candidates: Vec<(f64, Point)> = Vec::new();
    for _ in 0..attempts {
        let p = match &model {
            Some(m) if rng.unit() > 0.2 => m.sample(&mut rng),
            _ => uniform(space, &mut rng),
        };
        let score = model.as_ref().map_or(rng.unit(), |m| m.score(&p));
        candidates.push((score, p));
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
    for (_, p) in candidates {
        let spec = space.spec(&p, base);
        if seen.insert(spec.fingerprint()) {
            out.push(spec);
            if out.len() == n {
                break;
            }
        }
    }
    // A small space may be nearly exhausted by sampling: sweep it in order for what is left.
    if out.len() < n && space.size() <= 20_000 {
        for s in 0..space.stacks.len() {
            for h in 0..space.heads.len() {
                for d in 0..space.d_models.len() {
                    for l in 0..space.lrs.len() {
                        if out.len() == n {
                            return out;
                        }
                        let spec = space.spec(
                            &Point {
                                stack: s,
                                head: h,
                                d_model: d,
                                lr: l,
                            },
                            base,
                        );
                        if seen.insert(spec.fingerprint()) {
                            out.push(spec);
                        }
                    }
                }
            }
        }
    }
    out
}

fn uniform(space: &SearchSpace, rng: &mut SplitMix64) -> Point {
    Point {
        stack: rng.below(space.stacks.len()),
        head: rng.below(space.heads.len()),
        d_model: rng.below(space.d_models.len()),
        lr: rng.below(space.lrs.len()),
    }
}

/// Smoothed categorical densities of the good and bad groups, one per dimension.
struct Parzen {
    good: [Vec<f64>; 4],
    bad: [Vec<f64>; 4],
}

impl Parzen {
    fn fit(space: &SearchSpace, runs: &[(Point, f64)]) -> Self {
        let mut sorted: Vec<&(Point, f64)> = runs.iter().collect();
        sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
        let n_good = ((sorted.len() as f64 * GAMMA).ceil() as usize).clamp(1, sorted.len());
        let sizes = [
            space.stacks.len(),
            space.heads.len(),
            space.d_models.len(),
            space.lrs.len(),
        ];
        let density = |group: &[&(Point, f64)]| -> [Vec<f64>; 4] {
            std::array::from_fn(|dim| {
                let k = sizes[dim];
                let mut counts = vec![1.0; k]; // Laplace prior: every value stays possible.
                for (p, _) in group {
                    counts[index(p, dim)] += 1.0;
                }
                let total: f64 = counts.iter().sum();
                counts.iter().map(|c| c / total).collect()
            })
        };
        Self {
            good: density(&sorted[..n_good]),
            bad: density(&sorted[n_good..]),
        }
    }

    fn sample(&self, rng: &mut SplitMix64) -> Point {
        Point {
            stack: rng.weighted(&self.good[0]),
            head: rng.weighted(&self.good[1]),
            d_model: rng.weighted(&self.good[2]),
            lr: rng.weighted(&self.good[3]),
        }
    }

    fn score(&self, p: &Point) -> f64 {
        (0..4)
            .map(|d| (self.good[d][index(p, d)] / self.bad[d][index(p, d)]).ln())
            .sum()
    }
}

fn index(p: &Point, dim: usize) -> usize {
    match dim {
        0 => p.stack,
        1 => p.head,
        2 => p.d_model,
        _ => p.lr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{Catalog, Component};

    fn space() -> SearchSpace {
        let c = |n: &str| Component {
            name: n.into(),
            description: String::new(),
        };
        SearchSpace::from_catalog(&Catalog {
            blocks: vec![c("revin"), c("lstm"), c("gru")],
            heads: vec![c("gbm"), c("student_t")],
            presets: vec![],
        })
    }

    fn base() -> SpecBase {
        SpecBase {
            asset: "BTC".into(),
            timeframe: "5m".into(),
            epochs: 2,
            seed: 7,
        }
    }

    fn record(spec: PlannerSpec, crps: f64) -> PlannerRun {
        PlannerRun {
            run_id: spec.fingerprint(),
            name: String::new(),
            fingerprint: spec.fingerprint(),
            spec,
            status: "ok".into(),
            crps: Some(crps),
            baseline_crps: None,
            param_count: None,
            train_secs: None,
            error: None,
            weights: None,
            synthetic_data: false,
        }
    }

    #[test]
    fn never_proposes_a_past_fingerprint_and_is_deterministic() {
        let s = space();
        assert_eq!(
            s.stacks,
            vec![
                vec!["revin".to_string(), "lstm".into()],
                vec!["lstm".into()],
                vec!["revin".into(), "gru".into()],
                vec!["gru".into()]
            ]
        );
        let first = propose(&s, &[], &base(), 10, 1);
        assert_eq!(first.len(), 10);
        assert_eq!(first, propose(&s, &[], &base(), 10, 1));
        let hist: Vec<PlannerRun> = first
            .iter()
            .enumerate()
            .map(|(i, sp)| record(sp.clone(), 10.0 + i as f64))
            .collect();
        let second = propose(&s, &hist, &base(), 10, 1);
        let old: HashSet<String> = hist.iter().map(|r| r.fingerprint.clone()).collect();
        assert_eq!(second.len(), 10);
        assert!(second.iter().all(|sp| !old.contains(&sp.fingerprint())));
        // The whole space (4 × 2 × 3 × 3 = 72) can be exhausted and then nothing is proposed.
        let all: Vec<PlannerRun> = propose(&s, &[], &base(), 100, 3)
            .into_iter()
            .map(|sp| record(sp, 1.0))
            .collect();
        assert_eq!(all.len(), 72);
        assert!(propose(&s, &all, &base(), 5, 3).is_empty());
    }

    #[test]
    fn leans_towards_what_worked() {
        let s = space();
        // GRU stacks with the student_t head were clearly better in the past.
        let mut hist = Vec::new();
        for (i, sp) in propose(&s, &[], &base(), 40, 11).into_iter().enumerate() {
            let good = sp.blocks.iter().any(|b| b == "gru") && sp.head == "student_t";
            hist.push(record(
                sp,
                if good {
                    1.0 + i as f64 * 0.01
                } else {
                    5.0 + i as f64 * 0.01
                },
            ));
        }
        let next = propose(&s, &hist, &base(), 4, 11);
        let gru_t = next
            .iter()
            .filter(|sp| sp.blocks.iter().any(|b| b == "gru") && sp.head == "student_t")
            .count();
        assert!(gru_t >= 2, "{next:?}");
    }
}
