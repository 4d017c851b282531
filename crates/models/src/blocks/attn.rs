//! Attention helpers shared by the TFT, Informer and Crossformer blocks: head split/merge,
//! a causal mask, and multi-head attention whose queries and keys/values come from different
//! inputs (the encoder `MultiHeadAttention` in `nn::attention` is self-attention only).

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::VarBuilder;

use crate::nn::layers::softmax_last;
use crate::nn::Linear;

/// (B, T, d) → (B, H, T, d/H), contiguous.
pub fn split_heads(x: &Tensor, h: usize) -> Result<Tensor> {
    let (b, t, d) = x.dims3()?;
    x.reshape((b, t, h, d / h))?.transpose(1, 2)?.contiguous()
}

/// (B, H, T, hd) → (B, T, H·hd).
pub fn merge_heads(x: &Tensor) -> Result<Tensor> {
    let (b, h, t, hd) = x.dims4()?;
    x.transpose(1, 2)?.contiguous()?.reshape((b, t, h * hd))
}

/// Additive causal mask (T, T): 0 where key ≤ query, −1e9 above the diagonal.
pub fn causal_mask(t: usize, dev: &Device) -> Result<Tensor> {
    let v: Vec<f32> = (0..t * t)
        .map(|i| if i % t > i / t { -1e9 } else { 0.0 })
        .collect();
    Tensor::from_vec(v, (t, t), dev)
}

/// Multi-head scaled dot-product attention with separate query and key/value inputs:
/// (B, Tq, d) × (B, Tk, d) → (B, Tq, d).
#[derive(Debug, Clone)]
pub struct CrossAttention {
    q: Linear,
    kv: Linear,
    out: Linear,
    n_heads: usize,
}

impl CrossAttention {
    /// Parameters under `q`, `kv`, `out`; `d` must be divisible by `n_heads`.
    pub fn new(d: usize, n_heads: usize, vb: VarBuilder) -> Result<Self> {
        if n_heads == 0 || !d.is_multiple_of(n_heads) {
            candle_core::bail!("width {d} is not divisible by n_heads {n_heads}");
        }
        Ok(Self {
            q: Linear::new(d, d, vb.pp("q"))?,
            kv: Linear::new(d, 2 * d, vb.pp("kv"))?,
            out: Linear::new(d, d, vb.pp("out"))?,
            n_heads,
        })
    }

    /// Attends from `q_in` to `kv_in`.
    pub fn forward(&self, q_in: &Tensor, kv_in: &Tensor) -> Result<Tensor> {
        let d = q_in.dim(2)?;
        let hd = d / self.n_heads;
        let q = split_heads(&self.q.forward(q_in)?, self.n_heads)?;
        let kv = self.kv.forward(kv_in)?;
        let k = split_heads(&kv.narrow(2, 0, d)?, self.n_heads)?;
        let v = split_heads(&kv.narrow(2, d, d)?, self.n_heads)?;
        let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
        let y = softmax_last(&scores)?.matmul(&v)?;
        self.out.forward(&merge_heads(&y)?)
    }
}
