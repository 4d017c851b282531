//! TimesNet block (Wu et al. 2023): TimesBlocks, each followed by a LayerNorm.
//!
//! A TimesBlock takes the amplitude spectrum of its input (real DFT along time as a matrix
//! product, averaged over channels), picks the top-k frequencies f_i by the batch-mean
//! amplitude (DC excluded), and for each period p_i = ⌊T / f_i⌋ zero-pads the series to a
//! multiple of p_i, folds it 1D → 2D as (cycles × p_i), applies an Inception block (parallel
//! Conv2d with kernels 1, 3, 5, … averaged) → GELU → Inception, unfolds and truncates to T.
//! The k results are weighted by the softmax of each sample's amplitudes at f_i and added to
//! the input.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::{Block, BlockEntry, BuildCtx};
use crate::nn::conv_taps::Fold;
use crate::nn::layers::softmax_last;
use crate::nn::LayerNorm;
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "timesnet",
        kind: ComponentKind::Block,
        summary:
            "TimesNet: top-k FFT periods, 1D→2D folding, Inception Conv2d, amplitude-weighted sum",
        simplified: Some(
            "small defaults (k = 2 periods, 2 Inception kernels 1×1 and 3×3 instead of 5 and 6); \
             DFT as a matrix product; no dropout",
        ),
        params: &[
            int(
                "num_layers",
                1,
                1,
                4,
                "TimesBlocks (each followed by LayerNorm)",
            ),
            int("top_k", 2, 1, 16, "periods k (at most seq_len / 2)"),
            int(
                "num_kernels",
                2,
                1,
                6,
                "Inception kernels: sizes 1, 3, …, 2·n − 1",
            ),
            int("d_ff", 0, 0, 4096, "Inception hidden width; 0 = d_model"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, ctx: BuildCtx) -> std::result::Result<(), String> {
    if p.usize("top_k")? > ctx.seq_len / 2 {
        return Err(format!(
            "top_k: {} exceeds the {} non-DC frequencies of seq_len {}",
            p.usize("top_k")?,
            ctx.seq_len / 2,
            ctx.seq_len
        ));
    }
    Ok(())
}

/// Parallel Conv2d with odd kernels 1, 3, …, same padding; outputs averaged. Weights as
/// candle's `Conv2d` (out, in, k, k); run in channel-last layout as one convolution with the
/// mean kernel over the folded series (`nn::conv_taps::mean_same_conv2d_folded`).
struct Inception {
    ws: Vec<Tensor>,
    bs: Vec<Tensor>,
}

impl Inception {
    fn new(cin: usize, cout: usize, n: usize, vb: VarBuilder) -> Result<Self> {
        let (ws, bs) = (0..n)
            .map(|i| {
                let k = 2 * i + 1;
                let vb = vb.pp(format!("k{k}"));
                // Kaiming normal (fan_out, ReLU), zero bias, as the reference implementation.
                let std = (2.0 / (cout * k * k) as f64).sqrt();
                let w = vb.get_with_hints(
                    (cout, cin, k, k),
                    "weight",
                    Init::Randn {
                        mean: 0.0,
                        stdev: std,
                    },
                )?;
                let b = vb.get_with_hints(cout, "bias", Init::Const(0.0))?;
                Ok((w, b))
            })
            .collect::<Result<(Vec<_>, Vec<_>)>>()?;
        Ok(Self { ws, bs })
    }

    /// (B, in_len, in) folded as `fold` → (B, out_len, out).
    fn forward(&self, x: &Tensor, fold: Fold) -> Result<Tensor> {
        crate::nn::conv_taps::mean_same_conv2d_folded(x, fold, &self.ws, &self.bs)
    }
}

struct TimesBlock {
    conv1: Inception,
    conv2: Inception,
    norm: LayerNorm,
}

struct TimesNet {
    blocks: Vec<TimesBlock>,
    cos: Tensor,
    sin: Tensor,
    k: usize,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let d_ff = match p.usize("d_ff")? {
        0 => d,
        n => n,
    };
    let nk = p.usize("num_kernels")?;
    let blocks = (0..p.usize("num_layers")?)
        .map(|i| {
            let vb = vb.pp(format!("l{i}"));
            Ok(TimesBlock {
                conv1: Inception::new(d, d_ff, nk, vb.pp("conv1"))?,
                conv2: Inception::new(d_ff, d, nk, vb.pp("conv2"))?,
                norm: LayerNorm::new(d, vb.pp("norm"))?,
            })
        })
        .collect::<Result<_>>()?;
    let modes: Vec<usize> = (0..=ctx.seq_len / 2).collect();
    let (cos, sin, _, _) = super::fedformer::rdft_matrices(ctx.seq_len, &modes, vb.device())?;
    Ok(Box::new(TimesNet {
        blocks,
        cos,
        sin,
        k: p.usize("top_k")?,
    }))
}

impl TimesNet {
    /// Amplitude spectrum (B, F) of `xt` (B·d, T) — the series of (B, T, d) channel by
    /// channel — at the frequency columns of `cos` and `sin` (T, F), averaged over channels.
    fn amplitude(xt: &Tensor, b: usize, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        let re = xt.matmul(&cos.to_dtype(xt.dtype())?)?;
        let im = xt.matmul(&sin.to_dtype(xt.dtype())?)?;
        let amp = ((re.sqr()? + im.sqr()?)? + 1e-12)?.sqrt()?;
        let (bd, f) = amp.dims2()?;
        amp.reshape((b, bd / b.max(1), f))?.mean(1)
    }

    fn times_block(&self, blk: &TimesBlock, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let xt = x.transpose(1, 2)?.contiguous()?.reshape((b * d, t))?;
        // The periods are chosen on the whole spectrum, outside the graph (an argmax); only
        // the k chosen amplitudes carry gradients (the aggregation weights): their product
        // is (T, 2k) wide, where differentiating the whole spectrum cost a (T, F) product
        // and its two backward products.
        let freq = Self::amplitude(&xt.detach(), b, &self.cos, &self.sin)?
            .mean(0)?
            .to_dtype(DType::F32)?;
        let mut freq = freq.to_vec1::<f32>()?;
        freq[0] = f32::NEG_INFINITY; // no DC
        let mut order: Vec<usize> = (0..freq.len()).collect();
        order.sort_by(|&i, &j| freq[j].total_cmp(&freq[i]).then(i.cmp(&j)));
        let k = self.k.min(freq.len() - 1); // never the DC bin (period T/0)
        let top: Vec<u32> = order[..k].iter().map(|&f| f as u32).collect();
        if k == 0 {
            return Ok(x.clone());
        }
        let idx = Tensor::new(top.as_slice(), x.device())?;
        let (cos, sin) = (
            self.cos.index_select(&idx, 1)?,
            self.sin.index_select(&idx, 1)?,
        );
        let w = softmax_last(&Self::amplitude(&xt, b, &cos, &sin)?)?; // (B, k)
        let mut acc = x.clone();
        for (i, &f) in top.iter().enumerate() {
            let p = t / f as usize;
            let len = t.div_ceil(p) * p;
            // Folded (cycles × p), zero-padded to `len` and truncated back to T by the
            // convolutions' indexing.
            let grid = |in_len, out_len| Fold {
                h: len / p,
                w: p,
                in_len,
                out_len,
            };
            let h = crate::nn::gelu::gelu(&blk.conv1.forward(x, grid(t, len))?)?;
            // (B, T, d), added to the input weighted by its amplitude's softmax.
            let y = blk.conv2.forward(&h, grid(len, t))?;
            acc = crate::nn::scaled_add::scaled_add(&acc, &y, &w, i)?;
        }
        Ok(acc)
    }
}

impl Block for TimesNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(1)?;
        if t != self.cos.dim(0)? {
            candle_core::bail!(
                "timesnet was built for seq_len {} but got {t}",
                self.cos.dim(0)?
            );
        }
        let mut h = x.clone();
        for blk in &self.blocks {
            h = blk.norm.forward(&self.times_block(blk, &h)?)?;
        }
        Ok(h)
    }
}
