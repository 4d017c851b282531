//! Quantile head: a monotone piecewise-linear quantile function of the standardised per-step
//! log return at K evenly spaced levels in [0.005, 0.995]; sampling interpolates it at uniform
//! noise (inverse-CDF), so the paths are differentiable in every knot. Knots start at the
//! Gaussian quantiles: q_k = z_k·e^s + shift + Σ_{j≤k} softplus(δ_j) (non-decreasing in k).

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{vol, Head, HeadCtx, HeadEntry, Noise};
use crate::nn::layers::softplus;
use crate::nn::{LayerNorm, Linear};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "quantile",
        kind: ComponentKind::Head,
        summary: "Learned monotone quantile function of per-step returns, sampled by inverse CDF",
        simplified: Some(
            "one quantile function for all horizon steps (no per-step term structure)",
        ),
        params: &[int("knots", 16, 3, 128, "quantile levels K")],
    },
    build,
};

const LO: f64 = 0.005;
const HI: f64 = 0.995;

struct Quantile {
    ln: LayerNorm,
    proj: Linear,
    z: Tensor,
    k: usize,
}

/// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
#[allow(clippy::excessive_precision)]
pub fn norm_ppf(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969683028665376e1,
        2.209460984245205e2,
        -2.759285104469687e2,
        1.383577518672690e2,
        -3.066479806614716e1,
        2.506628277459239,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e1,
        1.615858368580409e2,
        -1.556989798598866e2,
        6.680131188771972e1,
        -1.328068155288572e1,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-3,
        -3.223964580411365e-1,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-3,
        3.224671290700398e-1,
        2.445134137142996,
        3.754408661907416,
    ];
    let pl = 0.02425;
    if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -norm_ppf(1.0 - p)
    }
}

fn build(p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    let k = p.usize("knots")?;
    let z: Vec<f32> = (0..k)
        .map(|i| norm_ppf(LO + (HI - LO) * i as f64 / (k - 1) as f64) as f32)
        .collect();
    Ok(Box::new(Quantile {
        ln: LayerNorm::new(ctx.d_model, vb.pp("ln"))?,
        proj: Linear::new(ctx.d_model, k + 2, vb.pp("proj"))?,
        z: Tensor::from_vec(z, (1, k), vb.device())?,
        k,
    }))
}

impl Quantile {
    /// Knot values (B, K) in log-return units.
    fn knots(&self, h: &Tensor, scale: &Tensor) -> Result<Tensor> {
        let p = (self.proj.forward(&self.ln.forward(h)?)? * 0.1)?;
        let k = self.k;
        let s = p.narrow(1, 0, 1)?;
        let shift = (p.narrow(1, 1, 1)?.tanh()? * 0.1)?;
        let steps = softplus(&(p.narrow(1, 2, k)? - 6.0)?)?.cumsum(1)?;
        let steps = steps.broadcast_sub(&steps.mean_keepdim(1)?)?;
        let std = self.z.broadcast_add(&steps)?.broadcast_add(&shift)?;
        // σ multiplier e^s, anchored on the window's realised vol
        std.broadcast_mul(&vol(&s, scale)?)
    }
}

impl Head for Quantile {
    fn increments(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
        n: usize,
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let b = h.dim(0)?;
        let q = self.knots(h, scale)?; // (B, K)
        let m = n * horizon;
        let u = noise.uniform_vec(b * m);
        let (mut lo_idx, mut hi_idx, mut frac) = (
            Vec::with_capacity(b * m),
            Vec::with_capacity(b * m),
            Vec::with_capacity(b * m),
        );
        for &x in &u {
            let pos = ((x as f64 - LO) / (HI - LO)).clamp(0.0, 1.0) * (self.k - 1) as f64;
            let i = (pos.floor() as usize).min(self.k - 2);
            lo_idx.push(i as u32);
            hi_idx.push(i as u32 + 1);
            frac.push((pos - i as f64) as f32);
        }
        let dev = h.device();
        let lo_idx = Tensor::from_vec(lo_idx, (b, m), dev)?;
        let hi_idx = Tensor::from_vec(hi_idx, (b, m), dev)?;
        let frac = Tensor::from_vec(frac, (b, m), dev)?;
        let ql = q.contiguous()?.gather(&lo_idx, 1)?;
        let qh = q.contiguous()?.gather(&hi_idx, 1)?;
        let x = (&ql + ((qh - &ql)? * frac)?)?;
        x.reshape((b, n, horizon))
    }
}
