//! SDE head: per-step drift μ_t and volatility σ_t over the horizon (a time-inhomogeneous
//! GBM, Euler–Maruyama in log price): increments (μ_t − σ_t²/2) + σ_t·ε_t.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{drift, per_step, vol, Head, HeadCtx, HeadEntry, Noise};
use crate::nn::{Act, LayerNorm, Mlp};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "sde",
        kind: ComponentKind::Head,
        summary: "Per-step drift and volatility over the horizon (time-varying GBM)",
        simplified: None,
        params: &[int("hidden", 64, 4, 4096, "MLP width")],
    },
    build,
};

/// Shared by heads that emit per-step (μ_t, σ_t): LN → MLP → 2H outputs.
pub struct PerStep {
    ln: LayerNorm,
    mlp: Mlp,
    horizon: usize,
}

impl PerStep {
    /// Parameters under `ln`, `mlp`.
    pub fn new(d: usize, hidden: usize, horizon: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            ln: LayerNorm::new(d, vb.pp("ln"))?,
            mlp: Mlp::new(d, hidden, 2 * horizon, Act::Silu, vb.pp("mlp"))?,
            horizon,
        })
    }

    /// (μ_t, σ_t), each (B, H'), for the first `horizon` ≤ H steps.
    pub fn params(&self, h: &Tensor, scale: &Tensor, horizon: usize) -> Result<(Tensor, Tensor)> {
        if horizon > self.horizon {
            candle_core::bail!("horizon {horizon} exceeds the head's {}", self.horizon);
        }
        let p = (self.mlp.forward(&self.ln.forward(h)?)? * 0.1)?;
        let mu = drift(&p.narrow(1, 0, horizon)?, scale)?;
        let sigma = vol(&p.narrow(1, self.horizon, horizon)?, scale)?;
        Ok((mu, sigma))
    }
}

struct Sde {
    ps: PerStep,
}

fn build(p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    Ok(Box::new(Sde {
        ps: PerStep::new(ctx.d_model, p.usize("hidden")?, ctx.horizon, vb)?,
    }))
}

impl Head for Sde {
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
        let m = (mu - (sigma.sqr()? * 0.5)?)?;
        let eps = noise.normal(&[b, n, horizon])?;
        eps.broadcast_mul(&per_step(&sigma)?)?
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
