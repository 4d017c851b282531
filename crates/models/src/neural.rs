//! A neural model: features → input projection → blocks → head → paths, and
//! [`NeuralModel`], a (trained) network implementing [`Forecaster`].

use candle_core::{Device, Module, Tensor};
use market::Candles;
use sn50::PathSet;

use crate::blocks::{Block, BuildCtx};
use crate::features::{FeatureBuilder, Series, Window};
use crate::heads::{Head, HeadCtx, Noise};
use crate::nn::{Linear, ParamStore};
use crate::spec::ModelSpec;
use crate::{sampler, ForecastRequest, Forecaster, ModelError};

/// The network of a spec. Parameters live in a [`ParamStore`].
pub struct Network {
    input: Linear,
    blocks: Vec<Box<dyn Block>>,
    head: Box<dyn Head>,
    horizon: usize,
}

impl Network {
    /// Builds (and so initialises, from the store's seed) the network of a validated spec.
    pub fn build(spec: &ModelSpec, store: &ParamStore) -> Result<Self, ModelError> {
        let checked = spec.validate()?;
        let vb = store.vb();
        let n_features: usize = checked.features.iter().map(|f| f.channels()).sum();
        let input = Linear::new(n_features, spec.d_model, vb.pp("input"))?;
        let ctx = BuildCtx {
            d_model: spec.d_model,
            seq_len: spec.seq_len,
        };
        let blocks = checked
            .blocks
            .iter()
            .enumerate()
            .map(|(i, (name, _))| checked.build_block(i, ctx, vb.pp(format!("blocks.{i}.{name}"))))
            .collect::<candle_core::Result<Vec<_>>>()?;
        let hctx = HeadCtx {
            d_model: spec.d_model,
            horizon: spec.horizon(),
        };
        let hname = &checked.head.0;
        let head = checked.build_head(hctx, vb.pp(format!("head.{hname}")))?;
        Ok(Self {
            input,
            blocks,
            head,
            horizon: spec.horizon(),
        })
    }

    /// Backbone output over the whole sequence: (B, T, F) → (B, T, d_model).
    pub fn backbone(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = self.input.forward(x)?;
        for b in &self.blocks {
            h = b.forward(&h)?;
        }
        Ok(h)
    }

    /// Last-step state (B, d_model).
    pub fn state(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.backbone(x)?;
        let t = h.dim(1)?;
        h.narrow(1, t - 1, 1)?.squeeze(1)
    }

    /// The head.
    pub fn head(&self) -> &dyn Head {
        self.head.as_ref()
    }

    /// Steps per horizon.
    pub fn horizon(&self) -> usize {
        self.horizon
    }

    /// Price factors (B, N, H+1) starting at 1, for inputs x (B, T, F) and scale (B, 1).
    pub fn sample_factors(
        &self,
        x: &Tensor,
        scale: &Tensor,
        n_paths: usize,
        noise: &mut Noise,
    ) -> candle_core::Result<Tensor> {
        sampler::factors(&self.sample_increments(x, scale, n_paths, noise)?)
    }

    /// Per-step log increments (B, N, H) for inputs x (B, T, F) and scale (B, 1).
    pub fn sample_increments(
        &self,
        x: &Tensor,
        scale: &Tensor,
        n_paths: usize,
        noise: &mut Noise,
    ) -> candle_core::Result<Tensor> {
        let h = self.state(x)?;
        self.head
            .increments(&h, scale, self.horizon, n_paths, noise)
    }
}

/// A batch of windows as tensors: x (B, T, F), scale (B, 1), target returns (B, H) if present.
pub struct Batch {
    /// Features.
    pub x: Tensor,
    /// Per-window volatility anchors.
    pub scale: Tensor,
    /// Realised log returns (training windows only).
    pub target: Option<Tensor>,
}

/// Stacks windows into a batch.
pub fn batch(
    windows: &[&Window],
    seq_len: usize,
    n_features: usize,
    device: &Device,
) -> Result<Batch, ModelError> {
    let b = windows.len();
    if b == 0 {
        return Err(ModelError::Data("empty batch".into()));
    }
    let mut x = Vec::with_capacity(b * seq_len * n_features);
    let mut scale = Vec::with_capacity(b);
    let mut target = Vec::new();
    let has_target = windows.iter().all(|w| !w.target.is_empty());
    for w in windows {
        if w.x.len() != seq_len * n_features {
            return Err(ModelError::Data(format!(
                "window has {} values, expected {}",
                w.x.len(),
                seq_len * n_features
            )));
        }
        x.extend_from_slice(&w.x);
        scale.push(w.scale);
        if has_target {
            target.extend_from_slice(&w.target);
        }
    }
    let h = if has_target {
        windows[0].target.len()
    } else {
        0
    };
    Ok(Batch {
        x: Tensor::from_vec(x, (b, seq_len, n_features), device)?,
        scale: Tensor::from_vec(scale, (b, 1), device)?,
        target: if has_target {
            Some(Tensor::from_vec(target, (b, h), device)?)
        } else {
            None
        },
    })
}

/// A network with its weights, spec and feature builder: a [`Forecaster`].
pub struct NeuralModel {
    spec: ModelSpec,
    store: ParamStore,
    net: Network,
    features: FeatureBuilder,
}

impl NeuralModel {
    /// A freshly initialised model (weights drawn from `spec.training.seed`), on the CPU.
    pub fn new(spec: ModelSpec) -> Result<Self, ModelError> {
        Self::with_device(spec, Device::Cpu)
    }

    /// A freshly initialised model on `device`.
    pub fn with_device(spec: ModelSpec, device: Device) -> Result<Self, ModelError> {
        let checked = spec.validate()?;
        let store = ParamStore::new(spec.training.seed, device);
        let net = Network::build(&spec, &store)?;
        let features = FeatureBuilder::new(checked.features, spec.seq_len, spec.horizon());
        Ok(Self {
            spec,
            store,
            net,
            features,
        })
    }

    /// The spec.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The parameters.
    pub fn store(&self) -> &ParamStore {
        &self.store
    }

    /// Mutable parameters (loading checkpoints).
    pub fn store_mut(&mut self) -> &mut ParamStore {
        &mut self.store
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The feature builder.
    pub fn features(&self) -> &FeatureBuilder {
        &self.features
    }

    /// Scalar parameter count.
    pub fn n_params(&self) -> usize {
        self.store.n_params()
    }

    /// Samples paths for one window: `n_paths` × (H+1) prices from `start_price`.
    pub fn sample_window(
        &self,
        w: &Window,
        start_price: f64,
        n_paths: usize,
        seed: u64,
    ) -> Result<PathSet, ModelError> {
        crate::fpenv::with_flushed_denormals(|| self.sample_flushed(w, start_price, n_paths, seed))
    }

    /// [`Self::sample_window`] on a thread that flushes denormals (crate::fpenv).
    fn sample_flushed(
        &self,
        w: &Window,
        start_price: f64,
        n_paths: usize,
        seed: u64,
    ) -> Result<PathSet, ModelError> {
        let dev = self.store.device().clone();
        let b = batch(
            &[w],
            self.features.seq_len(),
            self.features.n_features(),
            &dev,
        )?;
        let mut noise = Noise::new(seed, &dev);
        let inc = self
            .net
            .sample_increments(&b.x, &b.scale, n_paths, &mut noise)?;
        sampler::to_pathset(&inc, 0, start_price)
    }

    /// The inference window at the end of `history`.
    pub fn last_window(&self, history: &Candles) -> Result<Window, ModelError> {
        let s = Series::new(history);
        let need = self.features.rows_needed();
        if s.len() < need {
            return Err(ModelError::Data(format!(
                "{} needs at least {need} candles of history, got {}",
                self.spec.display_name(),
                s.len()
            )));
        }
        self.features
            .window_at(&s, s.len() - 1, false)
            .ok_or_else(|| ModelError::Data("history too short".into()))
    }
}

impl Forecaster for NeuralModel {
    fn name(&self) -> String {
        self.spec.display_name()
    }

    fn forecast(&self, req: &ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        let tf = self.spec.timeframe;
        if req.time_increment != tf.step_secs() || req.n_points() != tf.horizon() + 1 {
            return Err(ModelError::InvalidConfig(format!(
                "model {} is trained for {} ({} points at {} s), the request asks for {} points at {} s",
                self.name(),
                tf.as_str(),
                tf.horizon() + 1,
                tf.step_secs(),
                req.n_points(),
                req.time_increment
            )));
        }
        if req.history.resolution_secs != tf.step_secs() {
            return Err(ModelError::Data(format!(
                "history has {} s candles; the model needs {} s",
                req.history.resolution_secs,
                tf.step_secs()
            )));
        }
        if !(req.start_price.is_finite() && req.start_price > 0.0) {
            return Err(ModelError::Data(format!(
                "start price {} is not positive",
                req.start_price
            )));
        }
        let w = self.last_window(req.history)?;
        self.sample_window(&w, req.start_price, req.num_simulations, req.seed)
    }
}
