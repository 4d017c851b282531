//! Mamba-style selective state-space block (pre-norm, residual): input projection to (x, z),
//! causal depthwise convolution + SiLU on x, input-dependent Δ, B, C; diagonal A = −exp(A_log)·n;
//! the selective scan h_t = exp(Δ_t A) h_{t−1} + Δ_t B_t x_t, y_t = C_t h_t + D x_t; gate by
//! SiLU(z); output projection. The scan is sequential (no parallel scan). On the CPU the
//! convolution + SiLU (`nn::causal_conv`) and softplus(Δ) + scan + skip + gate (`nn::selective_scan`) run
//! as fused ops with hand-written backward passes; elsewhere as graphs of tensor ops.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::{Conv1d, Conv1dConfig, Init, VarBuilder};

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::nn::layers::{silu, softplus};
use crate::nn::{LayerNorm, Linear};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "mamba",
        kind: ComponentKind::Block,
        summary: "Mamba-style selective SSM: input-dependent Δ, B, C; gated; sequential scan",
        simplified: Some("sequential scan (fused CPU op; no hardware-aware parallel scan)"),
        params: &[
            int("d_state", 16, 1, 256, "state size N per channel"),
            int("expand", 2, 1, 8, "inner width as a multiple of d_model"),
            int("d_conv", 4, 1, 16, "causal depthwise convolution kernel"),
        ],
    },
    build,
    check: no_check,
};

struct Mamba {
    ln: LayerNorm,
    in_proj: Linear,
    conv_w: Tensor,
    conv_b: Tensor,
    x_proj: Linear,
    dt_proj: Linear,
    a_log: Tensor,
    a_base: Tensor,
    d_skip: Tensor,
    out_proj: Linear,
    di: usize,
    n: usize,
    rank: usize,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let di = d * p.usize("expand")?;
    let n = p.usize("d_state")?;
    let k = p.usize("d_conv")?;
    let rank = d.div_ceil(16);
    let bound = 1.0 / (k as f64).sqrt();
    let cinit = Init::Uniform {
        lo: -bound,
        up: bound,
    };
    let cw = vb.pp("conv").get_with_hints((di, 1, k), "weight", cinit)?;
    let cb = vb.pp("conv").get_with_hints(di, "bias", cinit)?;
    let base: Vec<f32> = (0..di).flat_map(|_| (1..=n).map(|j| j as f32)).collect();
    let dt_bias = (0.01f64.exp() - 1.0).ln(); // softplus⁻¹(0.01)
    let dt_proj = {
        let vb = vb.pp("dt_proj");
        let bound = 1.0 / (rank as f64).sqrt();
        let w = vb.get_with_hints(
            (di, rank),
            "weight",
            Init::Uniform {
                lo: -bound,
                up: bound,
            },
        )?;
        let b = vb.get_with_hints(di, "bias", Init::Const(dt_bias))?;
        Linear::from_tensors(w, Some(b))
    };
    Ok(Box::new(Mamba {
        ln: LayerNorm::new(d, vb.pp("ln"))?,
        in_proj: Linear::no_bias(d, 2 * di, vb.pp("in_proj"))?,
        conv_w: cw,
        conv_b: cb,
        x_proj: Linear::no_bias(di, rank + 2 * n, vb.pp("x_proj"))?,
        dt_proj,
        a_log: vb.get_with_hints((di, n), "a_log", Init::Const(0.0))?,
        a_base: Tensor::from_vec(base, (di, n), vb.device())?,
        d_skip: vb.get_with_hints(di, "d_skip", Init::Const(1.0))?,
        out_proj: Linear::new(di, d, vb.pp("out_proj"))?,
        di,
        n,
        rank,
    }))
}

impl Block for Mamba {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let xz = self.in_proj.forward(&self.ln.forward(x)?)?;
        let xs = xz.narrow(2, 0, self.di)?;
        let z = xz.narrow(2, self.di, self.di)?;
        let fused = xs.device().is_cpu() && xs.dtype() == DType::F32;
        let xc = if fused {
            crate::nn::causal_conv::causal_conv_silu(&xs, &self.conv_w, &self.conv_b)?
        } else {
            conv_graph(&xs, &self.conv_w, &self.conv_b)?
        }; // (B, T, di)
        let proj = self.x_proj.forward(&xc)?;
        // Δ = softplus(u) (inside the fused scan on the CPU).
        let u = self
            .dt_proj
            .forward(&proj.narrow(2, 0, self.rank)?.contiguous()?)?;
        let bm = proj.narrow(2, self.rank, self.n)?.contiguous()?; // (B, T, N)
        let cm = proj.narrow(2, self.rank + self.n, self.n)?.contiguous()?;
        let a = (self.a_log.exp()? * &self.a_base)?.neg()?; // (di, N)
                                                            // (scan + D·x)·silu(z), fused on the CPU.
        let y = if fused {
            crate::nn::selective_scan::mamba_scan(&u, &xc, &z, &bm, &cm, &a, &self.d_skip)?
        } else {
            let y = scan_graph(&softplus(&u)?, &xc, &bm, &cm, &a)?; // (B, T, di)
            let y = (y + xc.broadcast_mul(&self.d_skip)?)?;
            (y * silu(&z)?)?
        };
        x + self.out_proj.forward(&y)?
    }
}

/// SiLU of the causal depthwise convolution over time in candle's graph: (B, T, C) from `x`
/// (B, T, C), `w` (C, 1, K) and `bias` (C). Used off the CPU; the reference the fused
/// `nn::causal_conv` is tested against.
pub fn conv_graph(x: &Tensor, w: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let (c, _, k) = w.dims3()?;
    let conv = Conv1d::new(
        w.clone(),
        Some(bias.clone()),
        Conv1dConfig {
            groups: c,
            ..Default::default()
        },
    );
    let xc = x
        .transpose(1, 2)?
        .contiguous()?
        .pad_with_zeros(2, k - 1, 0)?;
    silu(&conv.forward(&xc)?.transpose(1, 2)?.contiguous()?)
}

/// The selective scan step by step in candle's graph: `y` (B, T, D) from `dt`, `x` (B, T, D),
/// `b`, `c` (B, T, N) and `a` (D, N). Used off the CPU; the reference the fused
/// `nn::selective_scan` is tested against.
pub fn scan_graph(dt: &Tensor, x: &Tensor, b: &Tensor, c: &Tensor, a: &Tensor) -> Result<Tensor> {
    let (bs, t, d) = dt.dims3()?;
    let n = a.dim(1)?;
    let da = dt.unsqueeze(3)?.broadcast_mul(a)?.exp()?; // (B, T, D, N)
    let dbx = (dt * x)?.unsqueeze(3)?.broadcast_mul(&b.unsqueeze(2)?)?; // (B, T, D, N)
    let mut h = Tensor::zeros((bs, d, n), dt.dtype(), dt.device())?;
    let mut ys = Vec::with_capacity(t);
    for s in 0..t {
        h = ((da.narrow(1, s, 1)?.squeeze(1)? * &h)? + dbx.narrow(1, s, 1)?.squeeze(1)?)?;
        let cs = c.narrow(1, s, 1)?; // (B, 1, N)
        ys.push(h.broadcast_mul(&cs)?.sum(D::Minus1)?); // (B, D)
    }
    Tensor::stack(&ys, 1)
}
