//! Early stopping on the validation loss.

/// Tracks the best validation loss and counts epochs without improvement.
#[derive(Debug, Clone)]
pub struct EarlyStopping {
    patience: usize,
    best: f64,
    best_epoch: Option<usize>,
    bad: usize,
}

/// What to do after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// New best: keep these weights.
    Improved,
    /// No improvement, keep going.
    Continue,
    /// Out of patience.
    Stop,
}

impl EarlyStopping {
    /// `patience` epochs without improvement stop training (0 = never stop).
    pub fn new(patience: usize) -> Self {
        Self {
            patience,
            best: f64::INFINITY,
            best_epoch: None,
            bad: 0,
        }
    }

    /// Records an epoch's validation loss.
    pub fn update(&mut self, epoch: usize, loss: f64) -> Verdict {
        if loss.is_finite() && loss < self.best {
            self.best = loss;
            self.best_epoch = Some(epoch);
            self.bad = 0;
            return Verdict::Improved;
        }
        self.bad += 1;
        if self.patience > 0 && self.bad >= self.patience {
            Verdict::Stop
        } else {
            Verdict::Continue
        }
    }

    /// The best loss so far.
    pub fn best(&self) -> f64 {
        self.best
    }

    /// The epoch of the best loss.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
}
