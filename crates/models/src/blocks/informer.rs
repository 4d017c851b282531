//! Informer encoder block (Zhou et al. 2021): ProbSparse self-attention in post-norm encoder
//! layers, with optional self-attention distilling between layers.
//!
//! ProbSparse: each query's sparsity M(q) = max_j(q·k_j/√d) − mean_j(q·k_j/√d) is measured on
//! U = ⌈c·ln T⌉ sampled keys; only the u = ⌈c·ln T⌉ queries with the largest M attend to all
//! keys, the others output mean(V) (the encoder's non-causal form). Queries are selected by a
//! constant one-hot matrix, so the selected rows are plain matmuls (differentiable).
//!
//! Distilling (optional, `distil`): between layers, Conv1d(k = 3) + ELU + max-pool(2, stride 2)
//! halves T; after the last layer the sequence is upsampled back to T by repetition, so the
//! block still maps (B, T, d) → (B, T, d).

use candle_core::{DType, Device, Module, Result, Tensor};
use candle_nn::{Conv1d, Conv1dConfig, Init, VarBuilder};

use super::attn::{merge_heads, split_heads};
use super::{Block, BlockEntry, BuildCtx};
use crate::nn::layers::softmax_last;
use crate::nn::{Act, LayerNorm, Linear, Mlp};
use crate::registry::{boolean, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "informer",
        kind: ComponentKind::Block,
        summary: "Informer encoder: ProbSparse self-attention (top-u queries by max−mean sparsity), optional distilling",
        simplified: Some(
            "the U keys that measure sparsity are evenly strided, not random; distilled \
             layers are upsampled back to T by repetition (no decoder); no dropout",
        ),
        params: &[
            int("num_layers", 2, 1, 8, "encoder layers"),
            int("n_heads", 4, 1, 32, "attention heads (must divide d_model)"),
            int("factor", 5, 1, 50, "sampling factor c: u = U = ⌈c·ln T⌉"),
            int("d_ff", 0, 0, 4096, "feed-forward width; 0 = 4·d_model"),
            boolean("distil", false, "distilling conv + max-pool between layers"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, ctx: BuildCtx) -> std::result::Result<(), String> {
    super::transformer::check(p, ctx)?;
    if p.bool("distil")? && ctx.seq_len >> (p.usize("num_layers")? - 1) < 2 {
        return Err(format!(
            "num_layers: {} distilling halvings leave fewer than 2 steps of seq_len {}",
            p.usize("num_layers")? - 1,
            ctx.seq_len
        ));
    }
    Ok(())
}

/// ⌈c·ln n⌉ clamped to [1, n].
pub fn n_top(factor: usize, n: usize) -> usize {
    ((factor as f64 * (n.max(1) as f64).ln()).ceil() as usize).clamp(1, n.max(1))
}

/// ProbSparse multi-head self-attention.
struct ProbAttention {
    qkv: Linear,
    out: Linear,
    n_heads: usize,
    factor: usize,
}

/// Rows of a (rows, n) one-hot matrix: entry (r, idx[r]) = 1.
fn one_hot(idx: &[u32], n: usize, dev: &Device) -> Result<Tensor> {
    let mut v = vec![0f32; idx.len() * n];
    for (r, &i) in idx.iter().enumerate() {
        v[r * n + i as usize] = 1.0;
    }
    Tensor::from_vec(v, (idx.len(), n), dev)
}

impl ProbAttention {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let h = self.n_heads;
        let hd = d / h;
        let scale = 1.0 / (hd as f64).sqrt();
        let qkv = self.qkv.forward(x)?;
        let q = split_heads(&qkv.narrow(2, 0, d)?, h)?; // (B, H, T, hd)
        let k = split_heads(&qkv.narrow(2, d, d)?, h)?;
        let v = split_heads(&qkv.narrow(2, 2 * d, d)?, h)?;
        let u = n_top(self.factor, t);
        // Sparsity on U evenly strided keys.
        let n_keys = n_top(self.factor, t);
        let keys: Vec<u32> = (0..n_keys).map(|i| (i * t / n_keys) as u32).collect();
        let k_idx = Tensor::new(keys.as_slice(), x.device())?;
        let k_sample = k.index_select(&k_idx, 2)?; // (B, H, U, hd)
        let s = (q.matmul(&k_sample.t()?)? * scale)?; // (B, H, T, U)
        let m = (s.max(3)? - s.mean(3)?)?.detach(); // (B, H, T)
        let top = m
            .contiguous()?
            .arg_sort_last_dim(false)?
            .narrow(2, 0, u)?
            .contiguous()?
            .flatten_all()?
            .to_dtype(DType::U32)?
            .to_vec1::<u32>()?;
        // sel (B, H, u, T): one-hot rows of the selected queries.
        let sel = one_hot(&top, t, x.device())?
            .reshape((b, h, u, t))?
            .to_dtype(x.dtype())?;
        let q_top = sel.matmul(&q)?; // (B, H, u, hd)
        let att = softmax_last(&(q_top.matmul(&k.t()?)? * scale)?)?;
        let out_top = att.matmul(&v)?; // (B, H, u, hd)
                                       // Lazy queries take mean(V); selected rows are replaced by their attention output.
        let sel_t = sel.transpose(2, 3)?.contiguous()?; // (B, H, T, u)
        let lazy = (1.0 - sel_t.sum_keepdim(3)?)?; // (B, H, T, 1)
        let mean_v = v.mean_keepdim(2)?; // (B, H, 1, hd)
        let ctx = (lazy.broadcast_mul(&mean_v)? + sel_t.matmul(&out_top)?)?;
        self.out.forward(&merge_heads(&ctx)?)
    }
}

/// Post-norm encoder layer: LN(x + Attn(x)), then LN(x + FFN(x)).
struct Layer {
    attn: ProbAttention,
    ln1: LayerNorm,
    ffn: Mlp,
    ln2: LayerNorm,
}

/// Distilling: Conv1d(k = 3, replicate padding) → ELU → max-pool(2, stride 2) over time.
struct Distil {
    conv: Conv1d,
}

impl Distil {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let xt = x.transpose(1, 2)?.contiguous()?; // (B, d, T)
        let first = xt.narrow(2, 0, 1)?;
        let last = xt.narrow(2, t - 1, 1)?;
        let y = self
            .conv
            .forward(&Tensor::cat(&[&first, &xt, &last], 2)?)?
            .elu(1.0)?
            .transpose(1, 2)?; // (B, T, d)
        let y = if t % 2 == 1 {
            Tensor::cat(&[&y, &y.narrow(1, t - 1, 1)?], 1)?
        } else {
            y
        };
        let half = y.dim(1)? / 2;
        y.contiguous()?.reshape((b, half, 2, d))?.max(2)
    }
}

/// Nearest-neighbour upsampling of (B, t, d) by `factor` along time, cut to `len` steps.
fn upsample(x: &Tensor, factor: usize, len: usize) -> Result<Tensor> {
    let (b, t, d) = x.dims3()?;
    x.unsqueeze(2)?
        .broadcast_as((b, t, factor, d))?
        .contiguous()?
        .reshape((b, t * factor, d))?
        .narrow(1, 0, len)
}

struct Informer {
    layers: Vec<Layer>,
    distils: Vec<Distil>,
    norm: LayerNorm,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let h = p.usize("n_heads")?;
    if h == 0 || !d.is_multiple_of(h) {
        candle_core::bail!("n_heads {h} does not divide d_model {d}");
    }
    let d_ff = match p.usize("d_ff")? {
        0 => 4 * d,
        n => n,
    };
    let n = p.usize("num_layers")?;
    let layers = (0..n)
        .map(|i| {
            let vb = vb.pp(format!("l{i}"));
            Ok(Layer {
                attn: ProbAttention {
                    qkv: Linear::new(d, 3 * d, vb.pp("attn.qkv"))?,
                    out: Linear::new(d, d, vb.pp("attn.out"))?,
                    n_heads: h,
                    factor: p.usize("factor")?,
                },
                ln1: LayerNorm::new(d, vb.pp("ln1"))?,
                ffn: Mlp::new(d, d_ff, d, Act::Gelu, vb.pp("ffn"))?,
                ln2: LayerNorm::new(d, vb.pp("ln2"))?,
            })
        })
        .collect::<Result<_>>()?;
    let distils = if p.bool("distil")? {
        (0..n - 1)
            .map(|i| {
                let vb = vb.pp(format!("distil{i}"));
                let bound = 1.0 / ((3 * d) as f64).sqrt();
                let init = Init::Uniform {
                    lo: -bound,
                    up: bound,
                };
                let w = vb.get_with_hints((d, d, 3), "weight", init)?;
                let bias = vb.get_with_hints(d, "bias", init)?;
                Ok(Distil {
                    conv: Conv1d::new(w, Some(bias), Conv1dConfig::default()),
                })
            })
            .collect::<Result<_>>()?
    } else {
        Vec::new()
    };
    Ok(Box::new(Informer {
        layers,
        distils,
        norm: LayerNorm::new(d, vb.pp("norm"))?,
    }))
}

impl Block for Informer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(1)?;
        let mut h = x.clone();
        for (i, l) in self.layers.iter().enumerate() {
            h = l.ln1.forward(&(&h + l.attn.forward(&h)?)?)?;
            h = l.ln2.forward(&(&h + l.ffn.forward(&h)?)?)?;
            if let Some(dst) = self.distils.get(i) {
                h = dst.forward(&h)?;
            }
        }
        if !self.distils.is_empty() {
            h = upsample(&h, 1 << self.distils.len(), t)?;
        }
        self.norm.forward(&h)
    }
}
