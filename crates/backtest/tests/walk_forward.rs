//! The walk-forward evaluation on real data at CI size: two assets, both competitions, one
//! block each (the range is cut so the blocks are short), 3 prompts per block, 200 paths.
//! Where the shared data folder is absent it fails under `SYNTH_CITY_REQUIRE_SHARED` (CI) and
//! prints `SKIP:` elsewhere.

#[allow(dead_code)] // the look-ahead checker is for the other tests
mod common;

use backtest::walk_forward::{self, Regime, WEIGHTED};
use backtest::{load_market, resolve_competitors, Competition, WalkForwardConfig};

#[test]
fn walk_forward_scores_every_block_with_paired_intervals() {
    if !common::shared_data_or_skip("walk_forward_scores_every_block_with_paired_intervals") {
        return;
    }
    let assets = vec!["BTC".to_string(), "ETH".to_string()];
    // Two pieces of the last common block of BTC and ETH (2026-03-23 12:09 .. 03-26 and
    // 03-30 .. 04-01 02:00), 4 days apart: two blocks per asset.
    let t = |s: &str| market::timeparse::parse_timestamp(s).unwrap();
    let (mut data, _) = load_market(&assets, t("2026-03-23"), t("2026-04-01")).unwrap();
    for d in data.values_mut() {
        let keep = |c: &market::Candles| {
            let mut a = c.slice_time(t("2026-03-23"), t("2026-03-26"));
            let b = c.slice_time(t("2026-03-30"), t("2026-04-01T02:00:00Z"));
            a.ts.extend(b.ts);
            a.open.extend(b.open);
            a.high.extend(b.high);
            a.low.extend(b.low);
            a.close.extend(b.close);
            a
        };
        d.one_min = keep(&d.one_min);
        d.five_min = keep(&d.five_min);
    }
    let names: Vec<String> = ["gbm", "ewma", "garch_t"].map(String::from).to_vec();
    let (competitors, _) =
        resolve_competitors(&names, &assets, &Competition::ALL, &mut || unreachable!()).unwrap();
    let mut cfg = WalkForwardConfig::new("ewma");
    cfg.warmup_secs = 86_400 / 2;
    cfg.prompts_per_block = 3;
    cfg.resamples = 200;
    cfg.replay.num_simulations = 200;
    cfg.replay.threads = 2;
    let (r, results) =
        walk_forward::run(&cfg, &competitors, &data, Vec::new(), &|_, _| {}).unwrap();
    // 2 assets × 2 competitions × 2 blocks, 3 prompts each, all scored.
    assert_eq!(r.blocks.len(), 8, "{:?}", r.blocks);
    assert!(
        r.blocks.iter().all(|b| b.prompts == 3 && b.scored == 3),
        "{:?}",
        r.blocks
    );
    assert_eq!(results.len(), 24);
    // Prompts stay inside their block, after the warm-up, with the horizon inside the data.
    for p in results.iter().map(|r| &r.prompt) {
        // The data begin at 2026-03-23 12:09.
        let in_first = p.start_time >= t("2026-03-24T00:09:00Z")
            && p.start_time + p.competition.time_length() < t("2026-03-26");
        let in_second = p.start_time >= t("2026-03-30T12:00:00Z")
            && p.start_time + p.competition.time_length() < t("2026-04-01T02:00:00Z");
        assert!(in_first || in_second, "{p:?}");
    }
    for comp in Competition::ALL {
        let g = |scope: &str, reg: Regime| {
            r.groups
                .iter()
                .find(|g| g.competition == comp && g.scope == scope && g.regime == reg)
                .unwrap()
        };
        let all = g(WEIGHTED, Regime::All);
        assert_eq!(all.ratios.prompts, 12);
        // The reference against itself is exactly 1; every interval brackets its point.
        assert_eq!(all.ratios.ratio[0].value, 1.0);
        for e in all.ratios.ratio.iter().chain(&all.ratios.minus_against) {
            assert!(e.lo <= e.value + 1e-12 && e.value <= e.hi + 1e-12, "{e:?}");
        }
        assert_eq!(all.ratios.minus_against[1].value, 0.0);
        // The ratio is the mean CRPS over GBM's on the same prompts (one asset alone).
        let btc: Vec<_> = results
            .iter()
            .filter(|x| x.prompt.competition == comp && x.prompt.asset == "BTC")
            .collect();
        let want =
            btc.iter().map(|x| x.crps[2]).sum::<f64>() / btc.iter().map(|x| x.crps[0]).sum::<f64>();
        assert!((g("BTC", Regime::All).ratios.ratio[2].value - want).abs() < 1e-12);
        // Terciles split the 6 prompts of an asset 2/2/2.
        for reg in [Regime::Calm, Regime::Mid, Regime::Stressed] {
            assert_eq!(g("BTC", reg).ratios.prompts, 2);
        }
    }
    // Two periods (the two pieces), shares summing to 1.
    assert_eq!(r.periods.len(), 2);
    for p in &r.periods {
        assert!((p.combined.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{p:?}");
    }
    let text = walk_forward::table::table(&r);
    assert!(
        text.contains("SN50-weighted") && text.contains("Reward share"),
        "{text}"
    );
}

/// The evaluation-only oracle through the real engine on real data: told each hour's realised
/// volatility, it answers every prompt validly and beats the reference GBM; it changes no other
/// competitor's score (the same CRPS as without it).
#[test]
fn the_hourly_vol_oracle_is_scored_like_a_miner_and_beats_gbm() {
    if !common::shared_data_or_skip("the_hourly_vol_oracle_is_scored_like_a_miner_and_beats_gbm") {
        return;
    }
    let assets = vec!["BTC".to_string()];
    let t = |s: &str| market::timeparse::parse_timestamp(s).unwrap();
    let (data, _) = load_market(&assets, t("2026-03-23"), t("2026-03-27")).unwrap();
    let run = |names: &[&str]| {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let (c, _) =
            walk_forward::resolve(&names, &assets, &Competition::ALL, &mut || unreachable!())
                .unwrap();
        let mut cfg = WalkForwardConfig::new("ewma");
        cfg.warmup_secs = 86_400;
        cfg.prompts_per_block = 4;
        cfg.resamples = 100;
        cfg.replay.num_simulations = 200;
        cfg.replay.threads = 2;
        walk_forward::run(&cfg, &c, &data, Vec::new(), &|_, _| {}).unwrap()
    };
    let (r, results) = run(&["gbm", "oracle_hourly_vol", "ewma"]);
    assert_eq!(r.competitors, ["gbm", "oracle_hourly_vol", "ewma"]);
    assert_eq!(r.invalid_prompts, 0);
    assert!(!results.is_empty());
    for comp in Competition::ALL {
        let all = r
            .groups
            .iter()
            .find(|g| g.competition == comp && g.scope == WEIGHTED && g.regime == Regime::All)
            .unwrap();
        assert!(all.ratios.ratio[1].value < 1.0, "{comp:?} {:?}", all.ratios);
    }
    // The other competitors' scores do not depend on the oracle's presence.
    let (_, without) = run(&["gbm", "ewma"]);
    for (a, b) in results.iter().zip(&without) {
        assert_eq!((a.crps[0], a.crps[2]), (b.crps[0], b.crps[1]));
    }
}

/// The full-size walk-forward by hand (ignored; what `synth-city evaluate` runs, without the
/// CLI build): every SN50 asset with data, both competitions. Settings from the environment:
/// `WF_COMPETITORS` (default gbm,garch_t,bootstrap_sess,mix_sess), `WF_AGAINST` (mix_sess),
/// `WF_PER_BLOCK` (24), `WF_ASSETS`, `WF_OUT` (a file for the report JSON).
#[test]
#[ignore = "full size: tens of minutes on 2 cores"]
fn walk_forward_full() {
    if !common::shared_data_or_skip("walk_forward_full") {
        return;
    }
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let names: Vec<String> = env("WF_COMPETITORS", "gbm,garch_t,bootstrap_sess,mix_sess")
        .split(',')
        .map(String::from)
        .collect();
    let assets: Vec<String> = env("WF_ASSETS", &sn50::Asset::ALL_NAMES.join(","))
        .split(',')
        .map(String::from)
        .collect();
    // `walk_forward::resolve`: as `synth-city evaluate`, `oracle_hourly_vol` included.
    let (competitors, _) =
        walk_forward::resolve(&names, &assets, &Competition::ALL, &mut || unreachable!()).unwrap();
    let (data, notes) = load_market(&assets, 0, i64::MAX / 4).unwrap();
    let mut cfg = WalkForwardConfig::new(&env("WF_AGAINST", "mix_sess"));
    cfg.prompts_per_block = env("WF_PER_BLOCK", "24").parse().unwrap();
    let (r, _) = walk_forward::run(&cfg, &competitors, &data, notes, &|d, total| {
        if d % 50 == 0 || d == total {
            eprintln!("{d}/{total}");
        }
    })
    .unwrap();
    print!("{}", walk_forward::table::table(&r));
    if let Ok(out) = std::env::var("WF_OUT") {
        std::fs::write(out, serde_json::to_string_pretty(&r).unwrap()).unwrap();
    }
}
