//! Autoformer encoder block (Wu et al. 2021): layers of x ← x + AutoCorrelation(x),
//! series decomposition, x ← x + FFN(x), decomposition; seasonal layer norm at the end.
//!
//! Auto-correlation: R(τ) = Σ_t ⟨q_t, k_{t−τ}⟩ / d (circular, averaged over channels) for every
//! lag τ, computed from the Gram matrix QKᵀ by summing its circular diagonals (no FFT); the
//! top k = ⌊c·ln T⌋ lags per sample are kept, their R softmax-normalised, and the output is
//! Σ_i w_i · Roll(V, τ_i) with Roll(V, τ)_t = V_{(t+τ) mod T} (time-delay aggregation).
//!
//! The encoder of the paper drops the trends its decompositions remove (the decoder accumulates
//! them); as a backbone block this one sums them and adds a linear projection of the sum to the
//! normalised seasonal output, so the level and trend information is not lost.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::decomp::{check_kernel, series_decomp, SeasonalNorm};
use super::{Block, BlockEntry, BuildCtx};
use crate::nn::layers::softmax_last;
use crate::nn::{Act, Linear, Mlp};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "autoformer",
        kind: ComponentKind::Block,
        summary: "Autoformer encoder: auto-correlation (top-k lags, time-delay aggregation) + moving-average decomposition",
        simplified: Some(
            "encoder only (no decoder); auto-correlation from lag products of QKᵀ instead of \
             FFT, single head; removed trends are summed and projected back into the output; \
             no dropout",
        ),
        params: &[
            int("num_layers", 2, 1, 8, "encoder layers"),
            int("factor", 1, 1, 10, "top-k lags: k = max(2, ⌊c·ln T⌋)"),
            int("kernel_size", 25, 1, 1001, "moving-average window (odd)"),
            int("d_ff", 0, 0, 4096, "feed-forward width; 0 = 4·d_model"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, _: BuildCtx) -> std::result::Result<(), String> {
    check_kernel(p.usize("kernel_size")?)
}

/// Number of lags kept: max(2, ⌊c·ln T⌋), at most T.
pub fn n_lags(factor: usize, t: usize) -> usize {
    ((factor as f64 * (t.max(1) as f64).ln()).floor() as usize)
        .max(2)
        .min(t)
}

/// Circular lag correlation of (B, T, d) queries and keys: R (B, T) with
/// R[b, τ] = Σ_t Σ_c q[b, t, c] · k[b, (t − τ) mod T, c] / d.
pub fn lag_correlation(q: &Tensor, k: &Tensor) -> Result<Tensor> {
    let (b, t, d) = q.dims3()?;
    let g = (q.matmul(&k.t()?)? / d as f64)?; // (B, T, T): g[t, s] = ⟨q_t, k_s⟩ / d
    let idx: Vec<u32> = (0..t)
        .flat_map(|tau| (0..t).map(move |i| (i * t + (i + t - tau) % t) as u32))
        .collect();
    let idx = Tensor::from_vec(idx, t * t, q.device())?;
    g.reshape((b, t * t))?
        .index_select(&idx, 1)?
        .reshape((b, t, t))?
        .sum(2)
}

struct AutoCorrelation {
    q: Linear,
    k: Linear,
    v: Linear,
    out: Linear,
    factor: usize,
}

impl AutoCorrelation {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let q = self.q.forward(x)?;
        let k = self.k.forward(x)?;
        let v = self.v.forward(x)?;
        let r = lag_correlation(&q, &k)?; // (B, T)
        let kk = n_lags(self.factor, t);
        let top = r
            .detach()
            .contiguous()?
            .arg_sort_last_dim(false)?
            .narrow(1, 0, kk)?
            .contiguous()?;
        let w = softmax_last(&r.contiguous()?.gather(&top, 1)?)?; // (B, kk)
        let lags = top.to_dtype(DType::U32)?.to_vec2::<u32>()?;
        let rows: Vec<u32> = lags
            .iter()
            .enumerate()
            .flat_map(|(bi, ls)| {
                ls.iter().flat_map(move |&tau| {
                    (0..t).map(move |i| (bi * t + (i + tau as usize) % t) as u32)
                })
            })
            .collect();
        let rows = Tensor::from_vec(rows, b * kk * t, x.device())?;
        let rolled = v
            .reshape((b * t, d))?
            .index_select(&rows, 0)?
            .reshape((b, kk, t, d))?;
        let agg = rolled.broadcast_mul(&w.reshape((b, kk, 1, 1))?)?.sum(1)?;
        self.out.forward(&agg)
    }
}

struct Layer {
    attn: AutoCorrelation,
    ffn: Mlp,
}

struct Autoformer {
    layers: Vec<Layer>,
    norm: SeasonalNorm,
    trend: Linear,
    k: usize,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let d_ff = match p.usize("d_ff")? {
        0 => 4 * d,
        n => n,
    };
    let layers = (0..p.usize("num_layers")?)
        .map(|i| {
            let vb = vb.pp(format!("l{i}"));
            Ok(Layer {
                attn: AutoCorrelation {
                    q: Linear::new(d, d, vb.pp("q"))?,
                    k: Linear::new(d, d, vb.pp("k"))?,
                    v: Linear::new(d, d, vb.pp("v"))?,
                    out: Linear::new(d, d, vb.pp("out"))?,
                    factor: p.usize("factor")?,
                },
                ffn: Mlp::new(d, d_ff, d, Act::Gelu, vb.pp("ffn"))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Box::new(Autoformer {
        layers,
        norm: SeasonalNorm::new(d, vb.pp("norm"))?,
        trend: Linear::new(d, d, vb.pp("trend"))?,
        k: p.usize("kernel_size")?,
    }))
}

impl Block for Autoformer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut s = x.clone();
        let mut trend = x.zeros_like()?;
        for l in &self.layers {
            let (s1, t1) = series_decomp(&(&s + l.attn.forward(&s)?)?, self.k)?;
            let (s2, t2) = series_decomp(&(&s1 + l.ffn.forward(&s1)?)?, self.k)?;
            trend = ((trend + t1)? + t2)?;
            s = s2;
        }
        self.norm.forward(&s)? + self.trend.forward(&trend)?
    }
}
