//! Mixture head: K GBM components (Gaussian or Student-t innovations) with weights w; each
//! path draws one component (a mixture of GBMs: fat-tailed, possibly multimodal). The draw
//! is a straight-through Gumbel-softmax: the forward pass uses the exact one-hot choice, the
//! backward pass the softmax relaxation, so the CRPS gradient reaches the mixture weights
//! (the Python framework sampled a categorical and its weights never learned).

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use super::{drift, vol, Head, HeadCtx, HeadEntry, Noise};
use crate::nn::layers::softmax_last;
use crate::nn::{Act, LayerNorm, Mlp};
use crate::registry::{choice, float, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: HeadEntry = HeadEntry {
    info: ComponentInfo {
        name: "mixture",
        kind: ComponentKind::Head,
        summary:
            "Mixture of K GBMs (Gaussian or Student-t); straight-through Gumbel-softmax choice",
        simplified: None,
        params: &[
            int("components", 3, 1, 16, "mixture components K"),
            int("hidden", 64, 4, 4096, "MLP width"),
            choice(
                "innovations",
                "gaussian",
                &["gaussian", "student_t"],
                "noise distribution",
            ),
            float("df", 5.0, 2.1, 100.0, "Student-t degrees of freedom"),
            float(
                "temperature",
                0.5,
                0.05,
                10.0,
                "Gumbel-softmax temperature (gradient only)",
            ),
        ],
    },
    build,
};

struct Mixture {
    ln: LayerNorm,
    mlp: Mlp,
    k: usize,
    student: Option<f64>,
    tau: f64,
}

fn build(p: &Resolved, ctx: HeadCtx, vb: VarBuilder) -> Result<Box<dyn Head>> {
    let k = p.usize("components")?;
    Ok(Box::new(Mixture {
        ln: LayerNorm::new(ctx.d_model, vb.pp("ln"))?,
        mlp: Mlp::new(
            ctx.d_model,
            p.usize("hidden")?,
            3 * k,
            Act::Silu,
            vb.pp("mlp"),
        )?,
        k,
        student: (p.str("innovations")? == "student_t")
            .then(|| p.f64("df"))
            .transpose()?,
        tau: p.f64("temperature")?,
    }))
}

impl Mixture {
    /// (μ_k, σ_k, logits_k), each (B, K). Components start spread over vol multipliers.
    fn params(&self, h: &Tensor, scale: &Tensor) -> Result<(Tensor, Tensor, Tensor)> {
        let p = (self.mlp.forward(&self.ln.forward(h)?)? * 0.1)?;
        let k = self.k;
        let spread: Vec<f32> = (0..k)
            .map(|i| {
                if k == 1 {
                    0.0
                } else {
                    -0.5 + i as f32 / (k - 1) as f32
                }
            })
            .collect();
        let spread = Tensor::from_vec(spread, (1, k), h.device())?;
        let mu = drift(&p.narrow(1, 0, k)?, scale)?;
        let sigma = vol(&p.narrow(1, k, k)?.broadcast_add(&spread)?, scale)?;
        Ok((mu, sigma, p.narrow(1, 2 * k, k)?))
    }
}

/// Straight-through one-hot choice (B, N, K) from logits (B, K) and Gumbel noise (B, N, K).
pub fn straight_through(logits: &Tensor, gumbel: &Tensor, tau: f64) -> Result<Tensor> {
    let (_, _, k) = gumbel.dims3()?;
    let soft = softmax_last(&(gumbel.broadcast_add(&logits.unsqueeze(1)?)? / tau)?)?;
    let idx = soft.argmax_keepdim(D::Minus1)?; // (B, N, 1) u32
    let ar = Tensor::arange(0u32, k as u32, soft.device())?.reshape((1, 1, k))?;
    let hard = ar.broadcast_eq(&idx)?.to_dtype(DType::F32)?;
    (hard - soft.detach())? + soft
}

impl Head for Mixture {
    fn increments(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
        n: usize,
        noise: &mut Noise,
    ) -> Result<Tensor> {
        let b = h.dim(0)?;
        let (mu, sigma, logits) = self.params(h, scale)?;
        let g = noise.gumbel(&[b, n, self.k])?;
        let onehot = straight_through(&logits, &g, self.tau)?; // (B, N, K)
        let m = (mu - (sigma.sqr()? * 0.5)?)?.unsqueeze(2)?; // (B, K, 1)
        let m_sel = onehot.matmul(&m)?; // (B, N, 1)
        let s_sel = onehot.matmul(&sigma.unsqueeze(2)?)?;
        let mut eps = noise.normal(&[b, n, horizon])?;
        if let Some(df) = self.student {
            let f = noise.t_factor(df, &[b, n, horizon])?;
            eps = ((eps * f)? * ((df - 2.0) / df).sqrt())?;
        }
        eps.broadcast_mul(&s_sel)?.broadcast_add(&m_sel)
    }
}
