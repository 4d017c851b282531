//! FEDformer encoder block (Zhou et al. 2022), Fourier version: layers of
//! x ← x + FEB-f(x), series decomposition, x ← x + FFN(x), decomposition; seasonal layer norm.
//!
//! FEB-f: queries q = W_q x are split into H heads; their real DFT along time is taken at M
//! selected modes (a fixed random subset of the T/2 lowest bins, or the lowest M), each mode is
//! mixed across the head's channels by its own learned complex matrix W_m (E × E), all other
//! modes are zero, and the inverse real DFT returns length T; an output projection follows.
//! The DFT and its inverse are fixed matrix products with cos/sin matrices (T is small), so
//! gradients flow through them. As in the Autoformer block, the removed trends are summed and
//! projected back into the output.

use std::f64::consts::PI;

use candle_core::{Device, Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::decomp::{check_kernel, series_decomp, SeasonalNorm};
use super::{Block, BlockEntry, BuildCtx};
use crate::nn::{Act, Linear, Mlp};
use crate::registry::{choice, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "fedformer",
        kind: ComponentKind::Block,
        summary: "FEDformer encoder: frequency-enhanced block (learned complex weights on M Fourier modes) + decomposition",
        simplified: Some(
            "encoder only, Fourier variant (no wavelet block, no frequency-enhanced \
             cross-attention); single moving-average decomposition instead of the mixture of \
             experts; DFT as matrix products; removed trends projected back into the output; \
             no dropout",
        ),
        params: &[
            int("num_layers", 2, 1, 8, "encoder layers"),
            int("n_heads", 4, 1, 32, "heads (must divide d_model)"),
            int("modes", 32, 1, 512, "Fourier modes kept: M = min(modes, T/2)"),
            choice(
                "mode_select",
                "random",
                &["random", "low"],
                "modes: fixed random subset of the lowest T/2 bins, or the lowest M",
            ),
            int("kernel_size", 25, 1, 1001, "moving-average window (odd)"),
            int("d_ff", 0, 0, 4096, "feed-forward width; 0 = 4·d_model"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, ctx: BuildCtx) -> std::result::Result<(), String> {
    super::transformer::check(p, ctx)?;
    check_kernel(p.usize("kernel_size")?)
}

/// The M mode indices among `0..t/2` (at least one bin): the lowest, or a random subset drawn
/// with a fixed seed (as the paper's `get_frequency_modes`), in increasing order.
pub fn select_modes(t: usize, modes: usize, random: bool) -> Vec<usize> {
    let bins = (t / 2).max(1);
    let m = modes.min(bins);
    let mut v: Vec<usize> = (0..bins).collect();
    if random {
        // SplitMix64, seed 0: deterministic and independent of the parameter generator.
        let mut g = crate::rng::SplitMix64::new(0);
        for i in 0..m {
            let j = i + (g.next_u64() % (bins - i) as u64) as usize;
            v.swap(i, j);
        }
    }
    v.truncate(m);
    v.sort_unstable();
    v
}

/// Real-DFT matrices at the given modes for length `t`: forward cos (t, M) and −sin (t, M), so
/// that Re X = x·C, Im X = x·S; inverse (M, t) matrices IC, IS with x = Re X·IC + Im X·IS when
/// every mode `0..=t/2` is present (weights 1/t for the DC and Nyquist bins, 2/t otherwise).
pub fn rdft_matrices(
    t: usize,
    modes: &[usize],
    dev: &Device,
) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let m = modes.len();
    let (mut c, mut s) = (vec![0f32; t * m], vec![0f32; t * m]);
    let (mut ic, mut is) = (vec![0f32; m * t], vec![0f32; m * t]);
    for n in 0..t {
        for (j, &k) in modes.iter().enumerate() {
            let a = 2.0 * PI * (k * n) as f64 / t as f64;
            c[n * m + j] = a.cos() as f32;
            s[n * m + j] = -a.sin() as f32;
            let w = if k == 0 || (t.is_multiple_of(2) && k == t / 2) {
                1.0
            } else {
                2.0
            } / t as f64;
            ic[j * t + n] = (w * a.cos()) as f32;
            is[j * t + n] = (-w * a.sin()) as f32;
        }
    }
    Ok((
        Tensor::from_vec(c, (t, m), dev)?,
        Tensor::from_vec(s, (t, m), dev)?,
        Tensor::from_vec(ic, (m, t), dev)?,
        Tensor::from_vec(is, (m, t), dev)?,
    ))
}

/// Frequency-enhanced block (Fourier): weights (H, M, E, E) real and imaginary.
struct FourierBlock {
    q: Linear,
    out: Linear,
    wr: Tensor,
    wi: Tensor,
    n_heads: usize,
}

impl FourierBlock {
    fn forward(&self, x: &Tensor, dft: &(Tensor, Tensor, Tensor, Tensor)) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let (h, e) = (self.n_heads, d / self.n_heads);
        let (c, s, ic, is) = dft;
        let m = c.dim(1)?;
        let q = self.q.forward(x)?.transpose(1, 2)?.contiguous()?; // (B, d, T)
        let flat = q.reshape((b * d, t))?;
        // (B·d, M) → (H·M, B, E) for a batched per-mode channel mix.
        let to_modes = |a: Tensor| -> Result<Tensor> {
            a.reshape((b, h, e, m))?
                .permute((1, 3, 0, 2))?
                .contiguous()?
                .reshape((h * m, b, e))
        };
        let xr = to_modes(flat.matmul(c)?)?;
        let xi = to_modes(flat.matmul(s)?)?;
        let wr = self.wr.reshape((h * m, e, e))?;
        let wi = self.wi.reshape((h * m, e, e))?;
        let yr = (xr.matmul(&wr)? - xi.matmul(&wi)?)?;
        let yi = (xr.matmul(&wi)? + xi.matmul(&wr)?)?;
        // (H·M, B, E) → (B·d, M)
        let back = |a: Tensor| -> Result<Tensor> {
            a.reshape((h, m, b, e))?
                .permute((2, 0, 3, 1))?
                .contiguous()?
                .reshape((b * d, m))
        };
        let y = (back(yr)?.matmul(ic)? + back(yi)?.matmul(is)?)?; // (B·d, T)
        let y = y.reshape((b, d, t))?.transpose(1, 2)?.contiguous()?;
        self.out.forward(&y)
    }
}

struct Layer {
    feb: FourierBlock,
    ffn: Mlp,
}

struct Fedformer {
    layers: Vec<Layer>,
    norm: SeasonalNorm,
    trend: Linear,
    dft: (Tensor, Tensor, Tensor, Tensor),
    seq_len: usize,
    k: usize,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let h = p.usize("n_heads")?;
    if h == 0 || !d.is_multiple_of(h) {
        candle_core::bail!("n_heads {h} does not divide d_model {d}");
    }
    let e = d / h;
    let d_ff = match p.usize("d_ff")? {
        0 => 4 * d,
        n => n,
    };
    let modes = select_modes(
        ctx.seq_len,
        p.usize("modes")?,
        p.str("mode_select")? == "random",
    );
    let m = modes.len();
    let winit = Init::Randn {
        mean: 0.0,
        stdev: 1.0 / e as f64,
    };
    let layers = (0..p.usize("num_layers")?)
        .map(|i| {
            let vb = vb.pp(format!("l{i}"));
            Ok(Layer {
                feb: FourierBlock {
                    q: Linear::new(d, d, vb.pp("q"))?,
                    out: Linear::new(d, d, vb.pp("out"))?,
                    wr: vb.get_with_hints((h, m, e, e), "wr", winit)?,
                    wi: vb.get_with_hints((h, m, e, e), "wi", winit)?,
                    n_heads: h,
                },
                ffn: Mlp::new(d, d_ff, d, Act::Gelu, vb.pp("ffn"))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Box::new(Fedformer {
        layers,
        norm: SeasonalNorm::new(d, vb.pp("norm"))?,
        trend: Linear::new(d, d, vb.pp("trend"))?,
        dft: rdft_matrices(ctx.seq_len, &modes, vb.device())?,
        seq_len: ctx.seq_len,
        k: p.usize("kernel_size")?,
    }))
}

impl Block for Fedformer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(1)?;
        if t != self.seq_len {
            candle_core::bail!(
                "fedformer was built for seq_len {} but got {t}",
                self.seq_len
            );
        }
        let dft = (
            self.dft.0.to_dtype(x.dtype())?,
            self.dft.1.to_dtype(x.dtype())?,
            self.dft.2.to_dtype(x.dtype())?,
            self.dft.3.to_dtype(x.dtype())?,
        );
        let mut s = x.clone();
        let mut trend = x.zeros_like()?;
        for l in &self.layers {
            let (s1, t1) = series_decomp(&(&s + l.feb.forward(&s, &dft)?)?, self.k)?;
            let (s2, t2) = series_decomp(&(&s1 + l.ffn.forward(&s1)?)?, self.k)?;
            trend = ((trend + t1)? + t2)?;
            s = s2;
        }
        self.norm.forward(&s)? + self.trend.forward(&trend)?
    }
}
