//! Student-t head: per-step drift and volatility with Student-t innovations of fixed degrees
//! of freedom ν, rescaled to unit variance: ε = z·√(ν/χ²_ν)·√((ν−2)/ν).

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use super::sde::PerStep;
use super::{per_step, Head, HeadCtx, HeadEntry, Noise};
use crate::registry::{float, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "student_t",
        kind: ComponentKind::Head,
        summary:
            "Per-step drift and volatility with unit-variance Student-t innovations (fat tails)",
        simplified: Some("ν is a fixed hyperparameter, not learned"),
        params: &[
            int("hidden", 64, 4, 4096, "MLP width"),
            float("df", 4.0, 2.1, 100.0, "degrees of freedom ν"),
        ],
    },
    build,
};

struct StudentT {
    ps: PerStep,
    df: f64,
}

fn build(p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    Ok(Box::new(StudentT {
        ps: PerStep::new(ctx.d_model, p.usize("hidden")?, ctx.horizon, vb)?,
        df: p.f64("df")?,
    }))
}

impl Head for StudentT {
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
        let z = noise.normal(&[b, n, horizon])?;
        let f = noise.t_factor(self.df, &[b, n, horizon])?;
        let eps = ((z * f)? * ((self.df - 2.0) / self.df).sqrt())?;
        let m = (mu - (sigma.sqr()? * 0.5)?)?;
        eps.broadcast_mul(&per_step(&sigma)?)?
            .broadcast_add(&per_step(&m)?)
    }
}
