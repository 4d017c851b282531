//! Jump-diffusion head (Merton): per-step diffusion plus compound-Poisson jumps,
//! increments = (μ − σ²/2) + σ·ε + 1{jump}·(μ_J + σ_J·η). The jump indicator is a
//! straight-through relaxed Bernoulli (exact 0/1 forward, logistic relaxation backward) so
//! the jump intensity λ receives a gradient.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{drift, vol, Head, HeadCtx, HeadEntry, Noise};
use crate::nn::layers::sigmoid;
use crate::nn::{LayerNorm, Linear};
use crate::registry::{float, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "jump",
        kind: ComponentKind::Head,
        summary: "Merton jump-diffusion: GBM plus Gaussian jumps with learned intensity",
        simplified: Some(
            "at most one jump per step (Bernoulli per step rather than Poisson counts)",
        ),
        params: &[
            float(
                "jump_prob",
                0.01,
                1e-4,
                0.5,
                "initial jump probability per step",
            ),
            float(
                "jump_scale",
                4.0,
                0.5,
                50.0,
                "initial jump size in units of the step volatility",
            ),
            float(
                "temperature",
                0.5,
                0.05,
                10.0,
                "relaxation temperature (gradient only)",
            ),
        ],
    },
    build,
};

struct Jump {
    ln: LayerNorm,
    proj: Linear,
    logit0: f64,
    log_scale0: f64,
    tau: f64,
}

fn build(p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    let q = p.f64("jump_prob")?;
    Ok(Box::new(Jump {
        ln: LayerNorm::new(ctx.d_model, vb.pp("ln"))?,
        proj: Linear::new(ctx.d_model, 5, vb.pp("proj"))?,
        logit0: (q / (1.0 - q)).ln(),
        log_scale0: p.f64("jump_scale")?.ln(),
        tau: p.f64("temperature")?,
    }))
}

impl Head for Jump {
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
        let col = |i: usize| -> Result<Tensor> { p.narrow(1, i, 1)?.unsqueeze(2) }; // (B, 1, 1)
        let s3 = scale.unsqueeze(2)?;
        let mu = drift(&col(0)?, &s3)?;
        let sigma = vol(&col(1)?, &s3)?;
        let logit = (col(2)? + self.logit0)?;
        let mu_j = drift(&col(3)?, &s3)?;
        let sigma_j = vol(&(col(4)? + self.log_scale0)?, &s3)?;
        let shape = [b, n, horizon];
        let eps = noise.normal(&shape)?;
        let eta = noise.normal(&shape)?;
        let u = noise.uniform(&shape)?;
        let logistic = (u.log()? - (u.neg()? + 1.0)?.log()?)?;
        let soft = sigmoid(&(logistic.broadcast_add(&logit)? / self.tau)?)?;
        let hard = soft.ge(0.5f32)?.to_dtype(DType::F32)?;
        let ind = ((hard - soft.detach())? + soft)?;
        let diff = eps
            .broadcast_mul(&sigma)?
            .broadcast_add(&(mu - (sigma.sqr()? * 0.5)?)?)?;
        let jumps = (eta.broadcast_mul(&sigma_j)?.broadcast_add(&mu_j)? * ind)?;
        diff + jumps
    }
}
