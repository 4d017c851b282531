//! Walk-forward splits never leak: every window of a later split starts after every target of an
//! earlier one, across all folds and settings tried.

use models::split::{Fold, Span, WalkForward};
use proptest::prelude::*;

/// All windows `(decision, last target time)` a span admits at `stride`.
fn windows(s: &Span, horizon: i64, stride: i64) -> Vec<(i64, i64)> {
    s.decision_times(horizon, stride)
        .into_iter()
        .map(|d| (d, d + horizon))
        .collect()
}

/// The leak check: every window of `earlier` ends (last target) strictly before the decision
/// time of every window of `later`, and no two windows' target spans intersect.
fn assert_no_leak(earlier: &Span, later: &Span, horizon: i64, stride: i64) {
    let a = windows(earlier, horizon, stride);
    let b = windows(later, horizon, stride);
    let (Some(last_a), Some(first_b)) = (a.iter().map(|w| w.1).max(), b.iter().map(|w| w.0).min())
    else {
        return;
    };
    assert!(
        last_a < first_b,
        "target at {last_a} observed after a later prompt at {first_b}"
    );
    // The gap is at least one horizon: even a window deciding at the end of `earlier`
    // could not reach into `later`.
    assert!(
        later.from - earlier.to >= horizon,
        "purge {} < horizon {horizon}",
        later.from - earlier.to
    );
}

fn check_fold(f: &Fold, horizon: i64, stride: i64) {
    assert_no_leak(&f.train, &f.val, horizon, stride);
    assert_no_leak(&f.train, &f.test, horizon, stride);
    assert_no_leak(&f.val, &f.test, horizon, stride);
    assert!(
        !windows(&f.train, horizon, stride).is_empty(),
        "empty training span {f:?}"
    );
    assert!(
        !windows(&f.test, horizon, stride).is_empty(),
        "empty test span {f:?}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn walk_forward_never_leaks(
        horizon_steps in 2i64..300,
        step in prop::sample::select(vec![60i64, 300]),
        val_mult in 0i64..4,
        test_mult in 2i64..5,
        folds in 1usize..5,
        extra_purge in 0i64..3,
        rolling in any::<bool>(),
    ) {
        let horizon = horizon_steps * step;
        let wf = WalkForward {
            horizon_secs: horizon,
            purge_secs: horizon + extra_purge * step,
            train_secs: rolling.then_some(6 * horizon),
            val_secs: val_mult * horizon,
            test_secs: test_mult * horizon,
            folds,
        };
        let start = 1_700_000_000 - 1_700_000_000 % step;
        let end = start + (40 + 12 * folds as i64) * horizon;
        let fs = wf.folds(start, end).unwrap();
        prop_assert_eq!(fs.len(), folds);
        for f in &fs {
            check_fold(f, horizon, step);
        }
        // Test spans of consecutive folds do not overlap either.
        for w in fs.windows(2) {
            prop_assert!(w[0].test.to <= w[1].test.from);
        }
    }
}

#[test]
fn a_window_at_the_end_of_train_cannot_reach_validation() {
    let h = 86_400;
    let f = WalkForward::expanding(h, 3 * h, 5 * h, 1)
        .folds(0, 60 * h)
        .unwrap()[0];
    let last_train = *f.train.decision_times(h, 300).last().unwrap();
    assert!(last_train + h < f.val.from);
    assert_eq!(f.val.from - f.train.to, h);
    assert!(!f.train.holds_window(f.train.to - h, h));
    assert!(f.train.holds_window(f.train.to - h - 1, h));
}
