//! Statistical baselines: valid, reproducible paths, and volatility that matches the data.

use market::{Candles, SyntheticParams};
use models::baselines::{baseline, Gbm, GbmSigma, BASELINE_NAMES};
use models::{ForecastRequest, Forecaster};

/// 20 days of synthetic 5-minute BTC candles (labelled synthetic by the market crate).
fn history(res: u32, days: usize, vol: f64) -> Candles {
    let mut p = SyntheticParams::gbm("BTC", 100_000.0, vol);
    p.intraday_amplitude = 0.0;
    p.generate(1_700_000_000, res, days * 86_400 / res as usize, 42)
        .unwrap()
}

fn request<'a>(h: &'a Candles, inc: u32, len: u32, seed: u64) -> ForecastRequest<'a> {
    let last = *h.ts.last().unwrap();
    ForecastRequest {
        asset: "BTC",
        history: h,
        start_price: *h.close.last().unwrap(),
        start_time: last + i64::from(h.resolution_secs),
        time_increment: inc,
        time_length: len,
        num_simulations: 1000,
        seed,
        context: Default::default(),
    }
}

#[test]
fn every_baseline_gives_valid_reproducible_paths_for_low_and_high() {
    let h5 = history(300, 20, 0.5);
    let h1 = history(60, 8, 0.5);
    for name in BASELINE_NAMES {
        let m = baseline(name).unwrap();
        assert_eq!(m.name(), name);
        for (h, inc, len, pts) in [(&h5, 300, 86_400, 289), (&h1, 60, 3_600, 61)] {
            let req = request(h, inc, len, 7);
            let p = m.forecast(&req).unwrap();
            assert_eq!((p.n_paths(), p.n_points()), (1000, pts), "{name}");
            assert!(
                p.paths().all(|x| x[0] == req.start_price),
                "{name}: first point"
            );
            assert!(
                p.as_flat().iter().all(|x| x.is_finite() && *x > 0.0),
                "{name}: positive"
            );
            assert_eq!(
                p,
                m.forecast(&req).unwrap(),
                "{name}: same seed, same paths"
            );
            assert_ne!(
                p,
                m.forecast(&request(h, inc, len, 8)).unwrap(),
                "{name}: seed matters"
            );
        }
    }
    assert!(baseline("nope").is_none());
}

/// Standard deviation of the 24 h log return across paths.
fn horizon_sd(p: &sn50::PathSet) -> f64 {
    let r: Vec<f64> = p.paths().map(|x| (x[x.len() - 1] / x[0]).ln()).collect();
    let m = r.iter().sum::<f64>() / r.len() as f64;
    (r.iter().map(|v| (v - m).powi(2)).sum::<f64>() / r.len() as f64).sqrt()
}

#[test]
fn fitted_baselines_match_the_true_daily_volatility() {
    // Annual vol 50 % => daily sd 0.5 / sqrt(365) = 0.02617.
    let h = history(300, 20, 0.5);
    let truth = 0.5 / 365f64.sqrt();
    for name in ["gbm_hist", "ewma", "garch_t", "garch_t_flat", "bootstrap"] {
        let p = baseline(name)
            .unwrap()
            .forecast(&request(&h, 300, 86_400, 3))
            .unwrap();
        let sd = horizon_sd(&p);
        assert!(
            (sd / truth - 1.0).abs() < 0.15,
            "{name}: daily sd {sd:.5} vs true {truth:.5}"
        );
    }
}

#[test]
fn reference_gbm_uses_the_fixed_sigma_map() {
    let h = history(300, 2, 0.5);
    let req = request(&h, 300, 86_400, 1);
    let g = Gbm {
        sigma: GbmSigma::Reference,
    };
    assert!((g.step_std(&req) - 0.00541 * (300.0f64 / 3600.0).sqrt()).abs() < 1e-15);
    // 288 steps of sd 0.00541·sqrt(1/12) => daily sd 0.00541·sqrt(24) = 0.0265.
    let sd = horizon_sd(&g.forecast(&req).unwrap());
    assert!((sd / (0.00541 * 24f64.sqrt()) - 1.0).abs() < 0.08, "{sd}");
}

#[test]
fn too_little_history_is_an_error_not_a_panic() {
    let h = history(300, 1, 0.5);
    let short = h.slice_time(h.ts[0], h.ts[10]);
    for name in ["ewma", "garch_t", "bootstrap"] {
        let e = baseline(name)
            .unwrap()
            .forecast(&request(&short, 300, 86_400, 1));
        assert!(e.is_err(), "{name}");
    }
    let mut req = request(&h, 300, 86_400, 1);
    req.start_price = 0.0;
    assert!(baseline("gbm").unwrap().forecast(&req).is_err());
}

/// Timing of 1000 × 289 paths per baseline (run with `--ignored --nocapture`).
#[test]
#[ignore]
fn timing_1000_by_289() {
    let h = history(300, 30, 0.5);
    for name in BASELINE_NAMES {
        let m = baseline(name).unwrap();
        let t = std::time::Instant::now();
        for s in 0..10 {
            m.forecast(&request(&h, 300, 86_400, s)).unwrap();
        }
        println!(
            "{name}: {:.2} ms per forecast",
            t.elapsed().as_secs_f64() * 100.0
        );
    }
}

#[test]
fn calibrated_bootstrap_keeps_the_true_spread_and_the_mix_pools_its_members() {
    use models::baselines::{BootGarchMix, CalibratedBootstrap};
    // GBM at 50 % a year: the CRPS-calibrated multiplier should leave the spread near the truth.
    let h5 = history(300, 20, 0.5);
    let req = request(&h5, 300, 86_400, 3);
    let cal = CalibratedBootstrap::default();
    let p = cal.forecast(&req).unwrap();
    let end: Vec<f64> = p.paths().map(|x| (x[288] / x[0]).ln()).collect();
    let sd = (end.iter().map(|v| v * v).sum::<f64>() / end.len() as f64).sqrt();
    let truth = 0.5 * (1.0f64 / 365.25).sqrt();
    assert!((sd / truth - 1.0).abs() < 0.2, "24 h sd {sd} vs {truth}");
    assert_eq!(p, cal.forecast(&req).unwrap());
    // The mix: the first half of its paths are bootstrap_cal's for 500 paths.
    let mix = BootGarchMix::default();
    let m = mix.forecast(&req).unwrap();
    assert_eq!((m.n_paths(), m.n_points()), (1000, 289));
    let half = cal
        .forecast(&ForecastRequest {
            num_simulations: 500,
            ..req.clone()
        })
        .unwrap();
    assert_eq!(&m.as_flat()[..500 * 289], half.as_flat());
    assert!(m.as_flat().iter().all(|x| x.is_finite() && *x > 0.0));
    assert!(BootGarchMix {
        garch_share: 1.5,
        ..mix
    }
    .forecast(&req)
    .is_err());
}

/// 30 days of 5-minute candles of a market open 14:00–20:00 UTC five days a week: session
/// steps of sd 0.001, overnight gaps with the variance of 8 such steps.
fn session_market() -> Candles {
    use rand::{RngExt, SeedableRng};
    let mut g = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(5);
    let mut normal = move || -> f64 { (0..12).map(|_| g.random::<f64>()).sum::<f64>() - 6.0 };
    let mut c = Candles::empty("SPYX", 300, market::Provenance::Synthetic);
    let mut log = 100f64.ln();
    for day in 0..30i64 {
        // Two closed days a week.
        if matches!(day.rem_euclid(7), 2 | 3) {
            continue;
        }
        log += 0.001 * 8f64.sqrt() * normal();
        for k in 0..72 {
            log += 0.001 * normal();
            c.ts.push(1_699_920_000 + day * 86_400 + 14 * 3600 + k * 300);
            c.close.push(log.exp());
        }
    }
    c.open = c.close.clone();
    c.high = c.close.clone();
    c.low = c.close.clone();
    c
}

#[test]
fn session_models_give_closed_hours_the_overnight_variance_and_ignore_the_future() {
    let h = session_market();
    // A prompt at 15:00 on the last day (a trading day), history before it only.
    let start = h.ts[h.ts.len() - 60];
    let past = h.slice_time(h.ts[0], start - 299);
    let req = ForecastRequest {
        asset: "SPYX",
        history: &past,
        start_price: *past.close.last().unwrap(),
        start_time: start,
        time_increment: 300,
        time_length: 86_400,
        num_simulations: 1000,
        seed: 9,
        context: Default::default(),
    };
    let sess = baseline("bootstrap_sess").unwrap();
    let p = sess.forecast(&req).unwrap();
    assert!(p.paths().all(|x| x[0] == req.start_price));
    assert!(p.as_flat().iter().all(|x| x.is_finite() && *x > 0.0));
    assert_eq!(p, sess.forecast(&req).unwrap());
    // Candles after the start are never read.
    let all = ForecastRequest {
        history: &h,
        ..req.clone()
    };
    assert_eq!(p, sess.forecast(&all).unwrap());
    // 24 h: 72 session steps + an overnight gap of 8 steps' variance, about sqrt(80)·0.001;
    // the plain bootstrap spreads session volatility over all 288 steps.
    let truth = 80f64.sqrt() * 0.001;
    let sd_sess = horizon_sd(&p);
    let sd_plain = horizon_sd(&baseline("bootstrap").unwrap().forecast(&req).unwrap());
    assert!((sd_sess / truth - 1.0).abs() < 0.25, "{sd_sess} vs {truth}");
    assert!(sd_plain > 1.5 * truth, "{sd_plain} vs {truth}");
    // GARCH the same way.
    let g = models::baselines::GarchT {
        sessions: true,
        ..Default::default()
    };
    assert_eq!(g.name(), "garch_t_sess");
    let sd_g = horizon_sd(&g.forecast(&req).unwrap());
    let sd_g_plain = horizon_sd(&baseline("garch_t").unwrap().forecast(&req).unwrap());
    assert!((sd_g / truth - 1.0).abs() < 0.25, "{sd_g} vs {truth}");
    assert!(sd_g_plain > 1.5 * truth, "{sd_g_plain} vs {truth}");
}

#[test]
fn mix_sess_pools_its_members_per_competition() {
    use models::baselines::SessionMix;
    let mix = SessionMix::default();
    for (h, inc, len) in [
        (history(300, 20, 0.5), 300, 86_400),
        (history(60, 8, 0.5), 60, 3_600),
    ] {
        let req = request(&h, inc, len, 4);
        let p = mix.forecast(&req).unwrap();
        let t = req.n_points();
        assert_eq!((p.n_paths(), p.n_points()), (1000, t));
        assert!(p.paths().all(|x| x[0] == req.start_price));
        assert!(p.as_flat().iter().all(|x| x.is_finite() && *x > 0.0));
        // The first half: the bootstrap member of this competition for 500 paths.
        let m = if inc >= 300 { &mix.low } else { &mix.high };
        let half = m
            .bootstrap
            .forecast(&ForecastRequest {
                num_simulations: 500,
                ..req.clone()
            })
            .unwrap();
        assert_eq!(&p.as_flat()[..500 * t], half.as_flat());
    }
    assert_eq!(mix.high.bootstrap.ewma_half_life_secs, 1800.0);
}
