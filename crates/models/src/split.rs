//! Leak-free temporal splits: walk-forward folds of train / validation / test time spans,
//! separated by a purge gap of at least one forecast horizon.
//!
//! A *window* is one training or evaluation sample: history up to a decision (prompt start)
//! time `d`, and targets over `(d, d + horizon]`. A window belongs to a [`Span`] only when its
//! decision time and its whole target lie inside the span ([`Span::holds_window`]). Spans of one
//! fold are ordered train < validation < test with a gap of `purge_secs >= horizon_secs`
//! between them, so no target of one split overlaps a window of another, and every training
//! target is observed before any validation or test prompt starts. (The Python framework
//! shuffled overlapping windows into train and validation: that leaks, and is not repeated here.)
//!
//! The history *before* a validation or test prompt may include training data: that is not a
//! leak, it is what a miner knows at prompt time.

use serde::{Deserialize, Serialize};

use crate::ModelError;

/// A half-open time span `[from, to)` in UTC unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    /// First second in the span.
    pub from: i64,
    /// First second after the span.
    pub to: i64,
}

impl Span {
    /// Length in seconds (0 when empty).
    pub fn len_secs(&self) -> i64 {
        (self.to - self.from).max(0)
    }

    /// True when the span holds no second.
    pub fn is_empty(&self) -> bool {
        self.to <= self.from
    }

    /// True when a window deciding at `decision` with targets up to `decision + horizon_secs`
    /// lies wholly inside the span (decision and the last target point both inside).
    pub fn holds_window(&self, decision: i64, horizon_secs: i64) -> bool {
        decision >= self.from && decision + horizon_secs < self.to
    }

    /// The decision times in the span for windows of `horizon_secs`, from `from` rounded up to
    /// a multiple of `stride_secs`, every `stride_secs` (which must be positive).
    pub fn decision_times(&self, horizon_secs: i64, stride_secs: i64) -> Vec<i64> {
        if stride_secs <= 0 {
            return Vec::new();
        }
        let first = self.from.div_euclid(stride_secs) * stride_secs;
        let first = if first < self.from {
            first + stride_secs
        } else {
            first
        };
        (0..)
            .map(|k| first + k * stride_secs)
            .take_while(|&d| self.holds_window(d, horizon_secs))
            .collect()
    }
}

/// One walk-forward fold: train, then validation (for early stopping), then test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fold {
    /// Training span.
    pub train: Span,
    /// Validation span (early stopping, model selection); may be empty.
    pub val: Span,
    /// Held-out test span.
    pub test: Span,
}

/// How to cut a time range into walk-forward folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalkForward {
    /// Forecast horizon of one window (86,400 for LOW, 3,600 for HIGH).
    pub horizon_secs: i64,
    /// Gap between consecutive spans; must be at least `horizon_secs`.
    pub purge_secs: i64,
    /// Training length; `None` = expanding (from the start of the data).
    pub train_secs: Option<i64>,
    /// Validation length per fold (0 for none).
    pub val_secs: i64,
    /// Test length per fold; consecutive folds' test spans tile the end of the range.
    pub test_secs: i64,
    /// Number of folds.
    pub folds: usize,
}

impl WalkForward {
    /// An expanding walk-forward with the minimum purge (one horizon).
    pub fn expanding(horizon_secs: i64, val_secs: i64, test_secs: i64, folds: usize) -> Self {
        Self {
            horizon_secs,
            purge_secs: horizon_secs,
            train_secs: None,
            val_secs,
            test_secs,
            folds,
        }
    }

    /// Cuts `[start, end)` into folds. The last fold's test span ends at `end`; each earlier
    /// fold's test span ends where the next one's begins. Errors when a setting is invalid or
    /// the range is too short to give every fold a training span of at least one horizon.
    pub fn folds(&self, start: i64, end: i64) -> Result<Vec<Fold>, ModelError> {
        let bad = |m: String| Err(ModelError::InvalidConfig(m));
        if self.horizon_secs <= 0 {
            return bad(format!(
                "split.horizon_secs must be positive, got {}",
                self.horizon_secs
            ));
        }
        if self.purge_secs < self.horizon_secs {
            return bad(format!(
                "split.purge_secs ({}) must be at least the horizon ({}) so windows cannot overlap",
                self.purge_secs, self.horizon_secs
            ));
        }
        if self.folds == 0 {
            return bad("split.folds must be at least 1".into());
        }
        if self.test_secs <= self.horizon_secs {
            return bad(format!(
                "split.test_secs ({}) must exceed the horizon ({}) to hold a window",
                self.test_secs, self.horizon_secs
            ));
        }
        if self.val_secs < 0 || self.train_secs.is_some_and(|t| t <= self.horizon_secs) {
            return bad("split.val_secs must be >= 0 and split.train_secs > horizon".into());
        }
        let mut out = Vec::with_capacity(self.folds);
        for k in 0..self.folds {
            let back = (self.folds - 1 - k) as i64 * self.test_secs;
            let test = Span {
                from: end - back - self.test_secs,
                to: end - back,
            };
            let (val, train_end) = if self.val_secs > 0 {
                let val_to = test.from - self.purge_secs;
                let val = Span {
                    from: val_to - self.val_secs,
                    to: val_to,
                };
                (val, val.from - self.purge_secs)
            } else {
                (
                    Span {
                        from: test.from,
                        to: test.from,
                    },
                    test.from - self.purge_secs,
                )
            };
            let train_from = self
                .train_secs
                .map_or(start, |t| (train_end - t).max(start));
            let train = Span {
                from: train_from,
                to: train_end,
            };
            if train.len_secs() <= self.horizon_secs {
                return Err(ModelError::Data(format!(
                    "range {start}..{end} is too short for {} folds: fold {k} gets {} s of training \
                     data (need more than one horizon, {} s)",
                    self.folds,
                    train.len_secs(),
                    self.horizon_secs
                )));
            }
            out.push(Fold { train, val, test });
        }
        Ok(out)
    }
}

/// A single chronological train / validation / test split of `[start, end)` by fractions of
/// time, with the minimum purge gap (one horizon) between spans. `val_frac` may be 0.
pub fn chronological(
    start: i64,
    end: i64,
    val_frac: f64,
    test_frac: f64,
    horizon_secs: i64,
) -> Result<Fold, ModelError> {
    if !(0.0..1.0).contains(&val_frac)
        || !(0.0..1.0).contains(&test_frac)
        || val_frac + test_frac >= 1.0
        || test_frac <= 0.0
    {
        return Err(ModelError::InvalidConfig(format!(
            "split fractions must satisfy 0 <= val < 1, 0 < test < 1, val + test < 1; got val \
             {val_frac}, test {test_frac}"
        )));
    }
    let total = (end - start) as f64;
    let wf = WalkForward {
        horizon_secs,
        purge_secs: horizon_secs,
        train_secs: None,
        val_secs: (total * val_frac) as i64,
        test_secs: (total * test_frac) as i64,
        folds: 1,
    };
    Ok(wf.folds(start, end)?.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decision_times_respect_the_span_and_stride() {
        let s = Span {
            from: 100,
            to: 1000,
        };
        let d = s.decision_times(300, 60);
        assert_eq!(d.first(), Some(&120));
        assert_eq!(d.last(), Some(&660)); // 660 + 300 = 960 < 1000; 720 + 300 = 1020 is out
        assert!(s.decision_times(300, 0).is_empty());
    }

    #[test]
    fn folds_tile_the_end_and_keep_the_purge() {
        let day = 86_400;
        let wf = WalkForward::expanding(day, 5 * day, 10 * day, 3);
        let f = wf.folds(0, 100 * day).unwrap();
        assert_eq!(f.len(), 3);
        assert_eq!(
            f[2].test,
            Span {
                from: 90 * day,
                to: 100 * day
            }
        );
        assert_eq!(f[1].test.to, f[2].test.from);
        assert_eq!(
            f[2].val,
            Span {
                from: 84 * day,
                to: 89 * day
            }
        );
        assert_eq!(
            f[2].train,
            Span {
                from: 0,
                to: 83 * day
            }
        );
        assert!(f.iter().all(|x| x.train.from == 0));
    }

    #[test]
    fn bad_settings_are_rejected_with_the_field_name() {
        let mut wf = WalkForward::expanding(3600, 0, 7200, 1);
        wf.purge_secs = 60;
        let e = wf.folds(0, 1_000_000).unwrap_err().to_string();
        assert!(e.contains("purge_secs"), "{e}");
        let e = WalkForward::expanding(3600, 0, 7200, 50)
            .folds(0, 100_000)
            .unwrap_err();
        assert!(e.to_string().contains("too short"), "{e}");
        assert!(chronological(0, 100, 0.5, 0.6, 1).is_err());
    }
}
