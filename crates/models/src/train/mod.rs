//! Training: AdamW, global-norm clipping, warm-up + cosine schedule, early stopping on the
//! validation loss with best-weights restore. Seeded: the same spec, seed and windows give the
//! same weights (batch order and noise come from `rand` generators derived from the seed).

pub mod clip;
pub mod early_stop;
pub mod schedule;

use std::time::Instant;

use candle_core::{Tensor, Var};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;

use crate::features::{Series, Window};
use crate::heads::Noise;
use crate::loss;
use crate::neural::{batch, NeuralModel};
use crate::spec::LossKind;
use crate::split::Span;
use crate::ModelError;

pub use early_stop::{EarlyStopping, Verdict};

/// Per-epoch figures.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EpochReport {
    /// 0-based epoch.
    pub epoch: usize,
    /// Mean training loss (mean per-term CRPS, bps).
    pub train_loss: f64,
    /// Validation loss (same units; NaN without validation windows).
    pub val_loss: f64,
    /// Learning rate at the end of the epoch.
    pub lr: f64,
    /// Mean gradient norm before clipping.
    pub grad_norm: f64,
}

/// What a training run did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrainReport {
    /// Every epoch run.
    pub epochs: Vec<EpochReport>,
    /// Epoch whose weights were kept (best validation loss; last epoch without validation).
    pub best_epoch: usize,
    /// Its validation loss.
    pub best_val_loss: f64,
    /// True when early stopping ended the run.
    pub stopped_early: bool,
    /// Optimiser steps taken.
    pub steps: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Training and validation windows.
    pub n_train: usize,
    /// Validation windows.
    pub n_val: usize,
    /// Scalar parameters.
    pub n_params: usize,
}

fn sorted_vars(model: &NeuralModel) -> Vec<Var> {
    model
        .store()
        .named_vars()
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

/// A seed for step `k` of stream `stream` derived from the run seed (splitmix64).
pub fn derive_seed(seed: u64, stream: u64, k: u64) -> u64 {
    crate::rng::mix64(
        seed ^ stream.wrapping_mul(crate::rng::GAMMA) ^ k.wrapping_mul(0xBF58_476D_1CE4_E5B9),
    )
}

/// The training loss of a batch of windows, as a scalar tensor.
pub fn batch_loss(
    model: &NeuralModel,
    windows: &[&Window],
    n_paths: usize,
    noise: &mut Noise,
) -> Result<Tensor, ModelError> {
    let spec = model.spec();
    let fb = model.features();
    let dev = model.store().device().clone();
    let b = batch(windows, fb.seq_len(), fb.n_features(), &dev)?;
    let target = b
        .target
        .ok_or_else(|| ModelError::Data("training windows need targets".into()))?;
    let net = model.network();
    let l = match spec.training.loss {
        LossKind::PathCrps => {
            let f = net.sample_factors(&b.x, &b.scale, n_paths, noise)?;
            let real = loss::real_factors(&target)?;
            loss::path_crps(&f, &real, loss::intervals(spec.timeframe))?
        }
        LossKind::GaussianCrps => {
            let h = net.state(&b.x)?;
            let (mu, sigma) = net
                .head()
                .gaussian(&h, &b.scale, net.horizon())?
                .ok_or_else(|| {
                    ModelError::InvalidConfig(
                        "training.loss: head has no Gaussian marginals".into(),
                    )
                })?;
            loss::gaussian_crps(&mu, &sigma, &target)?
        }
    };
    Ok(l)
}

/// Mean loss over windows in batches, with fixed noise (common random numbers per batch).
pub fn evaluate(model: &NeuralModel, windows: &[Window], seed: u64) -> Result<f64, ModelError> {
    if windows.is_empty() {
        return Ok(f64::NAN);
    }
    let t = &model.spec().training;
    let mut sum = 0.0;
    let mut count = 0usize;
    for (k, chunk) in windows.chunks(t.batch_size).enumerate() {
        let refs: Vec<&Window> = chunk.iter().collect();
        let mut noise = Noise::new(derive_seed(seed, 2, k as u64), model.store().device());
        let l = batch_loss(model, &refs, t.n_paths, &mut noise)?;
        sum += l.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()? * chunk.len() as f64;
        count += chunk.len();
    }
    Ok(sum / count as f64)
}

/// Trains `model` in place on `train` windows, early-stopping on `val` (may be empty), and
/// restores the best weights. `on_epoch` sees each epoch's figures (progress bars, logs).
pub fn fit(
    model: &mut NeuralModel,
    train: &[Window],
    val: &[Window],
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainReport, ModelError> {
    // Recurrent backward passes produce denormals: flush them while training (crate::fpenv).
    crate::fpenv::with_flushed_denormals(|| fit_flushed(model, train, val, on_epoch))
}

fn fit_flushed(
    model: &mut NeuralModel,
    train: &[Window],
    val: &[Window],
    on_epoch: &mut dyn FnMut(&EpochReport),
) -> Result<TrainReport, ModelError> {
    if train.is_empty() {
        return Err(ModelError::Data("no training windows".into()));
    }
    let start = Instant::now();
    let t = model.spec().training.clone();
    let vars = sorted_vars(model);
    let steps_per_epoch = train.len().div_ceil(t.batch_size);
    let total = (steps_per_epoch * t.epochs).max(1);
    let warmup = (t.warmup_frac * total as f64).round() as usize;
    let mut opt = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: t.lr,
            weight_decay: t.weight_decay,
            ..Default::default()
        },
    )?;
    let mut order: Vec<usize> = (0..train.len()).collect();
    let mut rng = StdRng::seed_from_u64(derive_seed(t.seed, 1, 0));
    let mut stopper = EarlyStopping::new(t.patience);
    let mut best = model.store().snapshot()?;
    let mut epochs = Vec::new();
    let mut step = 0usize;
    let mut stopped_early = false;
    for epoch in 0..t.epochs {
        order.shuffle(&mut rng);
        let (mut loss_sum, mut norm_sum, mut n) = (0.0, 0.0, 0usize);
        for idx in order.chunks(t.batch_size) {
            let lr = schedule::lr_at(step, total, warmup, t.lr, 0.05);
            opt.set_learning_rate(lr);
            let refs: Vec<&Window> = idx.iter().map(|&i| &train[i]).collect();
            let mut noise = Noise::new(derive_seed(t.seed, 3, step as u64), model.store().device());
            let l = batch_loss(model, &refs, t.n_paths, &mut noise)?;
            let lv = l.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
            if !lv.is_finite() {
                return Err(ModelError::Diverged(format!(
                    "loss is {lv} at epoch {epoch}, step {step}"
                )));
            }
            let mut grads = l.backward()?;
            let norm = clip::clip_grad_norm(&vars, &mut grads, t.clip_norm)?;
            opt.step(&grads)?;
            loss_sum += lv;
            norm_sum += norm;
            n += 1;
            step += 1;
        }
        let val_loss = evaluate(model, val, derive_seed(t.seed, 4, 0))?;
        let rep = EpochReport {
            epoch,
            train_loss: loss_sum / n.max(1) as f64,
            val_loss,
            lr: opt.learning_rate(),
            grad_norm: norm_sum / n.max(1) as f64,
        };
        tracing::debug!(?rep, "epoch");
        on_epoch(&rep);
        epochs.push(rep);
        // Without validation windows, the last epoch's weights are kept.
        let score = if val.is_empty() {
            -(epoch as f64)
        } else {
            val_loss
        };
        match stopper.update(epoch, score) {
            Verdict::Improved => best = model.store().snapshot()?,
            Verdict::Continue => {}
            Verdict::Stop => {
                stopped_early = true;
                break;
            }
        }
    }
    model.store().restore(&best)?;
    let best_epoch = stopper.best_epoch().unwrap_or(0);
    Ok(TrainReport {
        best_val_loss: epochs.get(best_epoch).map_or(f64::NAN, |e| e.val_loss),
        best_epoch,
        epochs,
        stopped_early,
        steps: step,
        seconds: start.elapsed().as_secs_f64(),
        n_train: train.len(),
        n_val: val.len(),
        n_params: model.n_params(),
    })
}

/// Training windows of `candles` whose decision time and target lie inside `span` (a split
/// span from [`crate::split`]), every `spec.training.stride` steps; the most recent
/// `max_windows` are kept when that is set.
pub fn windows_in_span(model: &NeuralModel, series: &Series, span: Span) -> Vec<Window> {
    let spec = model.spec();
    let horizon_secs = (spec.horizon() as i64) * spec.timeframe.step_secs() as i64;
    let mut w = model.features().windows(series, spec.training.stride, |d| {
        span.holds_window(d, horizon_secs)
    });
    let cap = spec.training.max_windows;
    if cap > 0 && w.len() > cap {
        w.drain(..w.len() - cap);
    }
    w
}
