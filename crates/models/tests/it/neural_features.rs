//! Features: values, per-window normalisation, and no look-ahead.

use models::features::{Feature, FeatureBuilder, Series};

use super::neural_support::gbm_candles;

fn builder() -> FeatureBuilder {
    let f = [
        "log_return",
        "abs_return",
        "rv_4",
        "time_of_day",
        "day_of_week",
    ]
    .iter()
    .map(|s| Feature::parse(s).unwrap())
    .collect();
    FeatureBuilder::new(f, 8, 5)
}

#[test]
fn window_values_are_normalised_by_the_window_rms() {
    let c = gbm_candles(100, 300, 0.003, 2);
    let s = Series::new(&c);
    let fb = builder();
    assert_eq!(fb.n_features(), 7);
    let i = 50;
    let w = fb.window_at(&s, i, true).unwrap();
    let rets: Vec<f64> = (i - 7..=i)
        .map(|j| (c.close[j] / c.close[j - 1]).ln())
        .collect();
    let rms = (rets.iter().map(|r| r * r).sum::<f64>() / 8.0).sqrt();
    assert!((w.scale as f64 - rms).abs() < 1e-9);
    // the first channel of the last row is the normalised last return
    let last = &w.x[7 * 7..];
    assert!((last[0] as f64 - rets[7] / rms).abs() < 1e-5);
    assert!((last[1] as f64 - (rets[7].abs() / rms - 0.8)).abs() < 1e-5);
    let rv4 = (rets[4..].iter().map(|r| r * r).sum::<f64>() / 4.0).sqrt();
    assert!((last[2] as f64 - (rv4 / rms).ln()).abs() < 1e-5);
    assert_eq!(w.target.len(), 5);
    assert!((w.target[0] as f64 - (c.close[i + 1] / c.close[i]).ln()).abs() < 1e-7);
    assert_eq!(w.decision_ts, c.ts[i] + 300);
    assert_eq!(w.last_close, c.close[i]);
}

#[test]
fn windows_do_not_look_past_the_decision_time() {
    let c = gbm_candles(100, 300, 0.003, 3);
    let mut changed = c.clone();
    for j in 61..100 {
        changed.close[j] *= 1.5;
    }
    let fb = builder();
    let a = fb.window_at(&Series::new(&c), 60, false).unwrap();
    let b = fb.window_at(&Series::new(&changed), 60, false).unwrap();
    assert_eq!(a, b);
}

#[test]
fn training_windows_skip_gaps() {
    let mut c = gbm_candles(200, 300, 0.003, 4);
    for t in c.ts.iter_mut().skip(100) {
        *t += 3_600; // a one-hour gap between rows 99 and 100
    }
    let fb = builder();
    let s = Series::new(&c);
    let all = fb.windows(&s, 1, |_| true);
    for w in &all {
        let i = c.ts.iter().position(|&t| t + 300 == w.decision_ts).unwrap();
        assert!(
            i + 5 < 100 || i + 1 >= 100 + fb.rows_needed(),
            "window at row {i} spans the gap"
        );
    }
    assert!(!all.is_empty());
}
