//! Copula head: per-step Gaussian marginals (μ_t, σ_t) joined by a one-factor Gaussian copula
//! across horizon steps: z_t = ℓ_t·u + √(1−ℓ_t²)·ε_t with a path-level factor u, so
//! corr(z_t, z_s) = ℓ_t·ℓ_s. Loadings ℓ_t = tanh(·) are learned, which lets multi-step interval
//! returns be more (or less) dispersed than independent steps imply.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::sde::PerStep;
use super::{per_step, Head, HeadCtx, HeadEntry, Noise};
use crate::nn::{LayerNorm, Linear};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "copula",
        kind: ComponentKind::Head,
        summary:
            "Per-step Gaussian marginals with a learned one-factor Gaussian copula across steps",
        simplified: None,
        params: &[int("hidden", 64, 4, 4096, "MLP width")],
    },
    build,
};

struct Copula {
    ps: PerStep,
    ln: LayerNorm,
    load: Linear,
}

fn build(p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    Ok(Box::new(Copula {
        ps: PerStep::new(
            ctx.d_model,
            p.usize("hidden")?,
            ctx.horizon,
            vb.pp("marginals"),
        )?,
        ln: LayerNorm::new(ctx.d_model, vb.pp("ln"))?,
        load: Linear::new(ctx.d_model, ctx.horizon, vb.pp("load"))?,
    }))
}

impl Head for Copula {
    fn increments(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
        n: usize,
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let b = h.dim(0)?;
        let (mu, sigma) = self.ps.params(h, scale, horizon)?;
        let l = (self
            .load
            .forward(&self.ln.forward(h)?)?
            .narrow(1, 0, horizon)?
            * 0.1)?
            .tanh()?;
        let resid = ((l.sqr()?.neg()? + 1.0)?.clamp(1e-6, 1.0)?).sqrt()?;
        let u = noise.normal(&[b, n, 1])?;
        let eps = noise.normal(&[b, n, horizon])?;
        let z = (u.broadcast_mul(&per_step(&l)?)? + eps.broadcast_mul(&per_step(&resid)?)?)?;
        let m = (mu - (sigma.sqr()? * 0.5)?)?;
        z.broadcast_mul(&per_step(&sigma)?)?
            .broadcast_add(&per_step(&m)?)
    }

    fn gaussian(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
    ) -> Result<Option<(Tensor, Tensor)>> {
        let (mu, sigma) = self.ps.params(h, scale, horizon)?;
        Ok(Some(((mu - (sigma.sqr()? * 0.5)?)?, sigma)))
    }
}
