//! The synthetic market: determinism, labels, and sample statistics that follow its parameters.

use market::returns::{annualized_vol, autocorrelation, excess_kurtosis, log_returns};
use market::synthetic::SyntheticParams;
use market::Provenance;

const DAY: usize = 1440;

#[test]
fn same_seed_same_series_and_labelled_synthetic() {
    let p = SyntheticParams::for_asset("BTC");
    let a = p.generate(1_700_000_030, 60, 2000, 7).unwrap();
    let b = p.generate(1_700_000_030, 60, 2000, 7).unwrap();
    let c = p.generate(1_700_000_030, 60, 2000, 8).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.close, c.close);
    assert_eq!(a.provenance, Provenance::Synthetic);
    assert_eq!(a.ts[0], 1_699_999_980, "start floored to the grid");
    assert!(a.ts.windows(2).all(|w| w[1] - w[0] == 60));
    assert_eq!(a.open[0], p.start_price);
    for i in 0..a.len() {
        assert!(a.high[i] >= a.open[i].max(a.close[i]) && a.low[i] <= a.open[i].min(a.close[i]));
        assert!(a.low[i] > 0.0);
        if i > 0 {
            assert_eq!(a.open[i], a.close[i - 1]);
        }
    }
}

#[test]
fn btc_statistics_follow_parameters() {
    let p = SyntheticParams::for_asset("BTC");
    let c = p.generate(1_700_006_400, 60, 60 * DAY, 42).unwrap();
    let r = log_returns(&c).value;
    let vol = annualized_vol(&c);
    assert!(
        (vol / p.annual_vol - 1.0).abs() < 0.15,
        "vol {vol} vs {}",
        p.annual_vol
    );
    // Student-t(4.5) alone has excess kurtosis 12; GARCH and jumps add more.
    let k = excess_kurtosis(&r);
    assert!(k > 3.0, "excess kurtosis {k}");
    let sq: Vec<f64> = r.iter().map(|x| x * x).collect();
    let acf1 = autocorrelation(&sq, 1);
    let acf60 = autocorrelation(&sq, 60);
    assert!(acf1 > 0.03, "acf(r², 1) = {acf1}");
    assert!(acf60 > 0.01, "acf(r², 60) = {acf60}: clustering persists");
    assert!(
        autocorrelation(&r, 1).abs() < 0.02,
        "returns themselves uncorrelated"
    );
}

#[test]
fn intraday_pattern_puts_more_variance_at_the_peak() {
    let p = SyntheticParams::for_asset("SPYX");
    let c = p.generate(1_700_006_400, 60, 60 * DAY, 3).unwrap();
    let r = log_returns(&c);
    let hour_var = |h: i64| {
        let v: Vec<f64> =
            r.ts.iter()
                .zip(&r.value)
                .filter(|(t, _)| t.rem_euclid(86_400) / 3600 == h)
                .map(|(_, x)| x * x)
                .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    let peak = hour_var(14);
    let trough = hour_var(2);
    // s² = 1 ± 0.8: the ratio is about 9 in theory
    assert!(peak / trough > 3.0, "peak {peak} trough {trough}");
}

#[test]
fn gbm_has_thin_tails_and_no_clustering() {
    let p = SyntheticParams::gbm("TEST", 100.0, 0.4);
    let c = p.generate(0, 60, 60 * DAY, 1).unwrap();
    let r = log_returns(&c).value;
    let vol = annualized_vol(&c);
    assert!((vol / 0.4 - 1.0).abs() < 0.03, "vol {vol}");
    assert!(
        excess_kurtosis(&r).abs() < 0.15,
        "kurtosis {}",
        excess_kurtosis(&r)
    );
    let sq: Vec<f64> = r.iter().map(|x| x * x).collect();
    assert!(autocorrelation(&sq, 1).abs() < 0.02);
}

#[test]
fn bad_parameters_are_refused() {
    let mut p = SyntheticParams::for_asset("ETH");
    p.garch_alpha = 0.5;
    p.garch_beta = 0.6;
    let e = p.generate(0, 60, 10, 1).unwrap_err();
    assert!(e.to_string().contains("alpha + beta"), "{e}");
    let mut p = SyntheticParams::for_asset("ETH");
    p.tail_df = 2.0;
    assert!(p.generate(0, 60, 10, 1).is_err());
    assert!(SyntheticParams::for_asset("ETH")
        .generate(0, 0, 10, 1)
        .is_err());
}
