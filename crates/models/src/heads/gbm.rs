//! GBM head: one drift μ and volatility σ per sample; increments (μ − σ²/2) + σ·ε.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{drift, vol, Head, HeadCtx, HeadEntry, Noise};
use crate::nn::{LayerNorm, Linear};
use crate::registry::{ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "gbm",
        kind: ComponentKind::Head,
        summary: "Geometric Brownian motion: constant drift and volatility over the horizon",
        simplified: None,
        params: &[],
    },
    build,
};

struct Gbm {
    ln: LayerNorm,
    proj: Linear,
}

fn build(_: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    Ok(Box::new(Gbm {
        ln: LayerNorm::new(ctx.d_model, vb.pp("ln"))?,
        proj: Linear::new(ctx.d_model, 2, vb.pp("proj"))?,
    }))
}

impl Gbm {
    /// (μ, σ), each (B, 1).
    fn params(&self, h: &Tensor, scale: &Tensor) -> Result<(Tensor, Tensor)> {
        let p = (self.proj.forward(&self.ln.forward(h)?)? * 0.1)?;
        let mu = drift(&p.narrow(1, 0, 1)?, scale)?;
        let sigma = vol(&p.narrow(1, 1, 1)?, scale)?;
        Ok((mu, sigma))
    }
}

impl Head for Gbm {
    fn increments(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
        n: usize,
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let b = h.dim(0)?;
        let (mu, sigma) = self.params(h, scale)?;
        let eps = noise.normal(&[b, n, horizon])?;
        let m = (mu - (sigma.sqr()? * 0.5)?)?.unsqueeze(2)?; // (B, 1, 1)
        eps.broadcast_mul(&sigma.unsqueeze(2)?)?.broadcast_add(&m)
    }

    fn gaussian(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
    ) -> Result<Option<(Tensor, Tensor)>> {
        let b = h.dim(0)?;
        let (mu, sigma) = self.params(h, scale)?;
        let m = (mu - (sigma.sqr()? * 0.5)?)?.broadcast_as((b, horizon))?;
        Ok(Some((m, sigma.broadcast_as((b, horizon))?)))
    }
}
