//! Flow head: a learned monotone transform of Gaussian noise, a stack of sinh-arcsinh layers
//! y ← sinh(δ_l·asinh(y) − ε_l) with δ_l > 0 (skew ε, tail weight δ), then μ + σ·y.
//! Each layer is strictly increasing, so the whole map is a normalising-flow-style monotone
//! transform; parameters depend on the backbone state.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{drift, vol, Head, HeadCtx, HeadEntry, Noise};
use crate::nn::{LayerNorm, Linear};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "flow",
        kind: ComponentKind::Head,
        summary: "Monotone sinh-arcsinh flow of Gaussian noise (learned skew and tails)",
        simplified: Some("one transform for all horizon steps; steps are independent"),
        params: &[int("layers", 2, 1, 8, "sinh-arcsinh layers")],
    },
    build,
};

struct Flow {
    ln: LayerNorm,
    proj: Linear,
    layers: usize,
}

fn build(p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    let layers = p.usize("layers")?;
    Ok(Box::new(Flow {
        ln: LayerNorm::new(ctx.d_model, vb.pp("ln"))?,
        proj: Linear::new(ctx.d_model, 2 + 2 * layers, vb.pp("proj"))?,
        layers,
    }))
}

/// asinh(y) = sign(y)·ln(|y| + √(y²+1)), stable for large negative y.
pub fn asinh(y: &Tensor) -> Result<Tensor> {
    let a = y.abs()?;
    let v = (&a + (a.sqr()? + 1.0)?.sqrt()?)?.log()?;
    let sign = y.ge(0f32)?.to_dtype(y.dtype())?.affine(2.0, -1.0)?;
    v * sign
}

/// sinh(x) with x clamped to ±15 (finite output).
pub fn sinh(x: &Tensor) -> Result<Tensor> {
    let x = x.clamp(-15f32, 15f32)?;
    (x.exp()? - x.neg()?.exp()?)? * 0.5
}

impl Head for Flow {
    fn increments(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
        n: usize,
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let b = h.dim(0)?;
        let p = (self.proj.forward(&self.ln.forward(h)?)? * 0.1)?;
        let mu = drift(&p.narrow(1, 0, 1)?, scale)?.unsqueeze(2)?; // (B, 1, 1)
        let sigma = vol(&p.narrow(1, 1, 1)?, scale)?.unsqueeze(2)?;
        let mut y = noise.normal(&[b, n, horizon])?;
        for l in 0..self.layers {
            let skew = p.narrow(1, 2 + 2 * l, 1)?.unsqueeze(2)?;
            let tail = p
                .narrow(1, 3 + 2 * l, 1)?
                .clamp(-3f32, 3f32)?
                .exp()?
                .unsqueeze(2)?;
            y = sinh(&asinh(&y)?.broadcast_mul(&tail)?.broadcast_sub(&skew)?)?;
        }
        y.broadcast_mul(&sigma)?.broadcast_add(&mu)
    }
}
