//! Heads: map the backbone's last-step state (B, d_model) to a stochastic process and sample
//! reparameterised per-step log-price increments (B, N, H) from seeded noise. The sampler
//! ([`crate::sampler`]) turns increments into price paths that include the start price.
//!
//! Scale anchoring: every head receives `scale` (B, 1), the realised per-step volatility of the
//! input window, and predicts volatility as `scale · exp(raw)`, drift as a small multiple of
//! `scale`; so an untrained head already produces paths at the right order of magnitude.

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::VarBuilder;
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::{ChiSquared, Distribution, StandardNormal};

use crate::registry::{ComponentInfo, Resolved};

pub mod copula;
pub mod flow;
pub mod gbm;
pub mod jump;
pub mod mixture;
pub mod quantile;
pub mod sde;
pub mod student_t;

/// Largest |log| of the per-step volatility multiplier `exp(raw)`.
pub const RAW_VOL_MIN: f64 = -6.0;
/// Upper clamp of the raw log volatility multiplier.
pub const RAW_VOL_MAX: f64 = 4.0;

/// A head: a stochastic process over the next `horizon` steps and its sampler.
pub trait Head: Send + Sync {
    /// Reparameterised log-price increments (B, N, H) for the state `h` (B, d_model), the
    /// per-step scale (B, 1), `n_paths` N and `horizon` H. Differentiable in the parameters.
    fn increments(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
        n_paths: usize,
        noise: &mut Noise,
    ) -> Result<Tensor>;

    /// Per-step Gaussian marginals of the log increments, `(mean, std)` each (B, H), for the
    /// closed-form CRPS loss; `None` when the head's marginals are not Gaussian.
    fn gaussian(
        &self,
        _h: &Tensor,
        _scale: &Tensor,
        _horizon: usize,
    ) -> Result<Option<(Tensor, Tensor)>> {
        Ok(None)
    }
}

/// What a head needs to build its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadCtx {
    /// Width of the backbone state.
    pub d_model: usize,
    /// Steps to forecast (288 for 5m, 60 for 1m).
    pub horizon: usize,
}

/// A registry entry: the descriptor and the constructor.
pub struct HeadEntry {
    /// Name, summary, hyperparameters.
    pub info: ComponentInfo,
    /// Builds the head from resolved hyperparameters.
    pub build: fn(&Resolved, HeadCtx, VarBuilder) -> Result<Box<dyn Head>>,
}

/// Every head, in listing order.
pub static REGISTRY: &[HeadEntry] = &[
    gbm::ENTRY,
    sde::ENTRY,
    mixture::ENTRY,
    quantile::ENTRY,
    copula::ENTRY,
    flow::ENTRY,
    student_t::ENTRY,
    jump::ENTRY,
];

/// The registry entry of a head by name.
pub fn entry(name: &str) -> Option<&'static HeadEntry> {
    REGISTRY.iter().find(|e| e.info.name == name)
}

/// Builds a head by name (hyperparameters already resolved).
pub fn build(name: &str, p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    match entry(name) {
        Some(e) => (e.build)(p, ctx, vb),
        None => candle_core::bail!("unknown head `{name}`"),
    }
}

/// Per-step volatility `scale · exp(clamp(raw))`.
pub fn vol(raw: &Tensor, scale: &Tensor) -> Result<Tensor> {
    raw.clamp(RAW_VOL_MIN, RAW_VOL_MAX)?
        .exp()?
        .broadcast_mul(scale)
}

/// Per-step drift `0.1 · scale · tanh(raw)` (a small residual around zero).
pub fn drift(raw: &Tensor, scale: &Tensor) -> Result<Tensor> {
    (raw.tanh()? * 0.1)?.broadcast_mul(scale)
}

/// Seeded noise for sampling (candle's CPU RNG cannot be seeded): xoshiro256++, whose
/// stream for a seed is fixed by its specification (rand documents it as portable).
pub struct Noise {
    rng: Xoshiro256PlusPlus,
    device: Device,
}

impl Noise {
    /// A noise source from a seed.
    pub fn new(seed: u64, device: &Device) -> Self {
        Self {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            device: device.clone(),
        }
    }

    fn tensor(&self, v: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        Tensor::from_vec(v, shape, &self.device)?.to_dtype(DType::F32)
    }

    /// Standard normal values of `shape`.
    pub fn normal(&mut self, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| StandardNormal.sample(&mut self.rng))
            .collect();
        self.tensor(v, shape)
    }

    /// Uniform values in the open interval (0, 1).
    pub fn uniform(&mut self, shape: &[usize]) -> Result<Tensor> {
        let v = self.uniform_vec(shape.iter().product());
        self.tensor(v, shape)
    }

    /// `n` uniform values in (0, 1) as a vector.
    pub fn uniform_vec(&mut self, n: usize) -> Vec<f32> {
        (0..n)
            .map(|_| {
                let u: f64 = self.rng.random::<f64>();
                u.clamp(1e-7, 1.0 - 1e-7) as f32
            })
            .collect()
    }

    /// Student-t scale factors `sqrt(df / χ²_df)` (a t variate is z · factor).
    pub fn t_factor(&mut self, df: f64, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        let chi = ChiSquared::new(df).map_err(|e| candle_core::Error::Msg(format!("df: {e}")))?;
        let v: Vec<f32> = (0..n)
            .map(|_| {
                let c: f64 = chi.sample(&mut self.rng);
                (df / c.max(1e-12)).sqrt().min(1e3) as f32
            })
            .collect();
        self.tensor(v, shape)
    }

    /// Standard Gumbel values −ln(−ln u).
    pub fn gumbel(&mut self, shape: &[usize]) -> Result<Tensor> {
        let v: Vec<f32> = self
            .uniform_vec(shape.iter().product())
            .into_iter()
            .map(|u| -(-(u as f64).ln()).ln() as f32)
            .collect();
        self.tensor(v, shape)
    }

    /// The device tensors are made on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}

/// Broadcasts per-step parameters (B, H) against noise (B, N, H).
pub fn per_step(p: &Tensor) -> Result<Tensor> {
    p.unsqueeze(1)
}
