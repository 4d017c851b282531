//! Backtests on the real price history in the shared data folder: a small fixed range, two
//! competitors. Where the folder is absent they fail under `SYNTH_CITY_REQUIRE_SHARED` (CI) and
//! print `SKIP:` elsewhere.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::Peeker;

use backtest::{run, summarise, BacktestConfig, Competition, Competitor, PromptStatus};
use models::baselines::baseline;
use sn50::rewards::{compute_prompt_scores, compute_softmax, smoothed_scores, ScoreRow};

/// 2026-04-01 00:00 UTC: BTC and ETH have 1-minute data from 2026-03-23 to 2026-04-22.
const FROM: i64 = 1_775_001_600;

fn setup(test: &str) -> Option<(BacktestConfig, backtest::MarketData)> {
    if !common::shared_data_or_skip(test) {
        return None;
    }
    let assets = vec!["BTC".to_string(), "ETH".to_string()];
    let mut cfg = BacktestConfig::new(assets.clone(), FROM, FROM + 3 * 3600);
    cfg.max_prompts = Some(2);
    cfg.threads = 2;
    cfg.seed = 7;
    let (data, notes) =
        backtest::load_market(&assets, FROM - cfg.lookback_secs - 3600, FROM + 2 * 86_400).unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    Some((cfg, data))
}

fn two() -> Vec<Competitor> {
    ["gbm", "ewma"]
        .iter()
        .map(|n| Competitor::new(*n, Arc::from(baseline(n).unwrap())))
        .collect()
}

#[test]
fn same_seed_same_results_and_weights_as_sn50_by_hand() {
    let Some((cfg, data)) = setup("same_seed_same_results_and_weights_as_sn50_by_hand") else {
        return;
    };
    let comps = two();
    let calls = AtomicUsize::new(0);
    let a = run(&cfg, &comps, &data, &|_, _| {
        calls.fetch_add(1, Ordering::Relaxed);
    })
    .unwrap();
    let mut one_thread = cfg.clone();
    one_thread.threads = 1;
    let b = run(&one_thread, &comps, &data, &|_, _| {}).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
    assert_eq!(calls.load(Ordering::Relaxed), a.len());
    // 2 LOW + 2 HIGH prompts per asset, all scored on real data.
    assert_eq!(a.len(), 8);
    assert!(a.iter().all(|r| r.status == PromptStatus::Scored), "{a:#?}");
    assert!(a.iter().all(|r| r.crps.iter().all(|&c| c > 0.0)));

    let names: Vec<String> = comps.iter().map(|c| c.name.clone()).collect();
    let s = summarise(&cfg, &names, &a, Vec::new());
    let total: f64 = s.combined_share.iter().sum();
    assert!((total - 1.0).abs() < 1e-12, "{total}");
    for c in &s.competitions {
        let share: f64 = c.competitors.iter().map(|x| x.reward_share).sum();
        assert!((share - 1.0).abs() < 1e-12);
    }
    // The same weights from the sn50 functions applied by hand.
    for comp in [Competition::Low, Competition::High] {
        let mine: Vec<_> = a.iter().filter(|r| r.prompt.competition == comp).collect();
        let mut rows = Vec::new();
        for r in &mine {
            let p = compute_prompt_scores(&r.crps).unwrap();
            assert_eq!(p.scores, r.prompt_scores);
            for (i, &score) in p.scores.iter().enumerate() {
                rows.push(ScoreRow {
                    miner_id: i as i64,
                    prompt_score: score,
                    scored_time: r.prompt.scored_time(),
                    asset: r.prompt.asset.clone(),
                    percentile90: Some(p.percentile90),
                    lowest_score: Some(p.lowest),
                });
            }
        }
        rows.sort_by_key(|r| (r.scored_time, r.miner_id));
        let cutoff = rows.iter().map(|r| r.scored_time).max().unwrap();
        let l: Vec<f64> = smoothed_scores(&rows, cutoff).iter().map(|x| x.1).collect();
        let w: Vec<f64> = compute_softmax(&l, comp.cfg().softmax_beta)
            .iter()
            .map(|p| p * 0.5)
            .collect();
        let got = s
            .competitions
            .iter()
            .find(|c| c.competition == comp)
            .unwrap();
        for (i, x) in got.competitors.iter().enumerate() {
            assert_eq!(x.reward_weight, w[i], "{comp:?} {}", x.name);
            assert_eq!(x.smoothed_score, Some(l[i]));
        }
    }
}

#[test]
fn competitors_never_see_data_from_after_the_request() {
    let Some((cfg, data)) = setup("competitors_never_see_data_from_after_the_request") else {
        return;
    };
    let peeked = Arc::new(AtomicBool::new(false));
    let peeker = Peeker {
        peeked: peeked.clone(),
        inner: baseline("gbm_hist").unwrap(),
    };
    let comps = vec![
        Competitor::new("peeker", Arc::new(peeker)),
        Competitor::new("gbm", Arc::from(baseline("gbm").unwrap())),
    ];
    let res = run(&cfg, &comps, &data, &|_, _| {}).unwrap();
    assert!(
        !peeked.load(Ordering::SeqCst),
        "a competitor was handed future data"
    );
    assert!(res.iter().all(|r| r.status == PromptStatus::Scored));
    assert!(res.iter().all(|r| r.errors[0].is_none() && r.crps[0] > 0.0));
}
