//! Convolutions in channel-last layout as matrix products of shifted copies of the input
//! (im2col): the TCN's dilated causal Conv1d and TimesNet's Inception Conv2d. candle's CPU
//! convolutions take channel-first inputs, so each call was wrapped in transposed copies;
//! their backward passes are slow loops, and at batch > 1 not the derivative of the output
//! (`tests/it/neural_ops.rs`). Here the shifted copies (zero outside the input) sit side by
//! side along the channels and are multiplied once by the weight laid out as (out, taps ·
//! in) — one wide product forward and two backward, by `nn::gemm` through `nn::Linear`. On
//! the CPU the copies are one op (`Taps`) whose backward pass adds each copy's gradient back
//! in one pass; elsewhere (and as its reference) narrows of a zero-padded tensor,
//! concatenated, in candle's graph — whose backward pass zero-fills and adds a padded
//! gradient per tap, most of a TimesNet step.

use candle_core::{CpuStorage, CustomOp1, DType, Layout, Module, Result, Shape, Tensor};

use super::cpu::{f32_slice, values};
use super::Linear;

/// Shifted copies of `x` (B, H, W, C) side by side: output (B, H, W, n·C) whose tap k at
/// (h, w) is x at (h + dh_k, w + dw_k), zero outside.
struct Taps {
    offsets: Vec<(isize, isize)>,
}

/// Source row of tap `(dh, dw)` at (h, w), if inside (H, W).
fn source(h: usize, w: usize, (dh, dw): (isize, isize), (hh, ww): (usize, usize)) -> Option<usize> {
    let sh = h.checked_add_signed(dh).filter(|&v| v < hh)?;
    let sw = w.checked_add_signed(dw).filter(|&v| v < ww)?;
    Some(sh * ww + sw)
}

impl CustomOp1 for Taps {
    fn name(&self) -> &'static str {
        "conv-taps"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (b, h, w, c) = l.shape().dims4()?;
        let x = f32_slice(s, l, self.name())?;
        let n = self.offsets.len();
        let mut y = vec![0f32; b * h * w * n * c];
        if c > 0 {
            for (bi, ys) in y.chunks_exact_mut(h * w * n * c).enumerate() {
                let xs = &x[bi * h * w * c..][..h * w * c];
                for (pos, row) in ys.chunks_exact_mut(n * c).enumerate() {
                    for (&off, dst) in self.offsets.iter().zip(row.chunks_exact_mut(c)) {
                        if let Some(src) = source(pos / w, pos % w, off, (h, w)) {
                            dst.copy_from_slice(&xs[src * c..][..c]);
                        }
                    }
                }
            }
        }
        Ok((CpuStorage::F32(y), Shape::from((b, h, w, n * c))))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let (b, h, w, c) = x.dims4()?;
        let n = self.offsets.len();
        let grad = grad.contiguous()?;
        let (gs, gl) = grad.storage_and_layout();
        let g = values(&gs, gl, self.name())?;
        let mut dx = vec![0f32; b * h * w * c];
        if c > 0 {
            for (bi, dxs) in dx.chunks_exact_mut(h * w * c).enumerate() {
                let gb = &g[bi * h * w * n * c..][..h * w * n * c];
                for (pos, row) in gb.chunks_exact(n * c).enumerate() {
                    for (&off, src) in self.offsets.iter().zip(row.chunks_exact(c)) {
                        if let Some(at) = source(pos / w, pos % w, off, (h, w)) {
                            for (d, v) in dxs[at * c..][..c].iter_mut().zip(src) {
                                *d += v;
                            }
                        }
                    }
                }
            }
        }
        Ok(Some(Tensor::from_vec(dx, x.shape(), x.device())?))
    }
}

/// The shifted copies of `x` (B, H, W, C) for `offsets`, side by side: (B, H, W, n·C);
/// differentiable. One op on the CPU (f32), candle's graph elsewhere.
pub fn taps(x: &Tensor, offsets: &[(isize, isize)]) -> Result<Tensor> {
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op1(Taps {
            offsets: offsets.to_vec(),
        });
    }
    taps_graph(x, offsets)
}

/// [`taps`] in candle's graph (narrows of a zero-padded `x`, concatenated): used off the
/// CPU; the reference the fused op is tested against.
pub fn taps_graph(x: &Tensor, offsets: &[(isize, isize)]) -> Result<Tensor> {
    let (_, h, w, _) = x.dims4()?;
    let reach = |f: fn(&(isize, isize)) -> isize| {
        let lo = offsets
            .iter()
            .map(f)
            .min()
            .unwrap_or(0)
            .min(0)
            .unsigned_abs();
        let hi = offsets
            .iter()
            .map(f)
            .max()
            .unwrap_or(0)
            .max(0)
            .unsigned_abs();
        (lo, hi)
    };
    let ((top, bottom), (left, right)) = (reach(|o| o.0), reach(|o| o.1));
    let xp = x
        .pad_with_zeros(1, top, bottom)?
        .pad_with_zeros(2, left, right)?;
    let parts = offsets
        .iter()
        .map(|&(dh, dw)| {
            xp.narrow(1, (top as isize + dh) as usize, h)?.narrow(
                2,
                (left as isize + dw) as usize,
                w,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Tensor::cat(&parts, 3)
}

/// At most this many values in one concatenation of taps (1 GiB of f32); wider inputs are
/// split into groups of taps whose products are summed.
const MAX_IM2COL: usize = 1 << 28;

/// `bias + Σ_k shift_k(x) · w_taps[k]ᵀ` for `x` (B, H, W, C) and every weight (out, C): the
/// shifted copies side by side (in groups of at most [`MAX_IM2COL`] values) multiplied by the
/// weights side by side. Output (B, H, W, out).
fn tap_products(
    x: &Tensor,
    offsets: &[(isize, isize)],
    w_taps: &[Tensor],
    bias: &Tensor,
) -> Result<Tensor> {
    if offsets.is_empty() || offsets.len() != w_taps.len() {
        candle_core::bail!("conv: {} taps, {} weights", offsets.len(), w_taps.len());
    }
    let per_tap = x.elem_count().max(1);
    let group = (MAX_IM2COL / per_tap).clamp(1, offsets.len());
    let mut acc: Option<Tensor> = None;
    for (i, (o, w)) in offsets.chunks(group).zip(w_taps.chunks(group)).enumerate() {
        let cols = taps(x, o)?;
        let w = if w.len() == 1 {
            w[0].clone()
        } else {
            Tensor::cat(w, 1)?
        };
        // The bias once, with the first group's product.
        let y = if i == 0 {
            Linear::from_tensors(w, Some(bias.clone())).forward(&cols)?
        } else {
            Linear::from_tensors(w, None).forward(&cols)?
        };
        acc = Some(match acc {
            None => y,
            Some(a) => (a + y)?,
        });
    }
    acc.ok_or_else(|| candle_core::Error::Msg("conv: no taps".into()))
}

/// Causal dilated 1-D convolution over time in channel-last layout: `x` (B, T, C), `w`
/// (out, C, K) and `bias` (out) as candle's `Conv1d`, zeros before the first step:
/// y[t] = bias + Σ_j w[:, :, j] · x[t − (K − 1 − j)·dilation]. Output (B, T, out).
pub fn causal_conv1d(x: &Tensor, w: &Tensor, bias: &Tensor, dilation: usize) -> Result<Tensor> {
    let (b, t, c) = x.dims3()?;
    let (_, wc, k) = w.dims3()?;
    if wc != c || k == 0 {
        candle_core::bail!("conv1d: x (B, T, {c}) and w (·, {wc}, {k}) do not match");
    }
    // Tap j reads (K − 1 − j)·dilation steps back.
    let offsets: Vec<(isize, isize)> = (0..k)
        .map(|j| (0, -(((k - 1 - j) * dilation) as isize)))
        .collect();
    let w_taps = (0..k)
        .map(|j| w.narrow(2, j, 1)?.squeeze(2))
        .collect::<Result<Vec<_>>>()?;
    let y = tap_products(&x.reshape((b, 1, t, c))?, &offsets, &w_taps, bias)?;
    y.reshape((b, t, y.dim(3)?))
}

/// The mean of 2-D convolutions with odd square kernels (TimesNet's Inception block) in
/// channel-last layout, each with "same" zero padding: `x` (B, H, W, C), `ws[i]` (out, C,
/// kᵢ, kᵢ) and `biases[i]` (out) as candle's `Conv2d` weights. The mean of the convolutions
/// is one convolution with the largest kernel whose weight is the mean of the kernels, each
/// centred in it (zero elsewhere). Output (B, H, W, out).
pub fn mean_same_conv2d(x: &Tensor, ws: &[Tensor], biases: &[Tensor]) -> Result<Tensor> {
    let (_, _, _, c) = x.dims4()?;
    if ws.is_empty() || ws.len() != biases.len() {
        candle_core::bail!("conv2d: {} kernels, {} biases", ws.len(), biases.len());
    }
    let mut kmax = 0;
    for w in ws {
        let (_, wc, k, k2) = w.dims4()?;
        if wc != c || k != k2 || k % 2 == 0 {
            candle_core::bail!("conv2d: x (B, H, W, {c}) and w (·, {wc}, {k}, {k2}) do not match");
        }
        kmax = kmax.max(k);
    }
    let n = ws.len() as f64;
    let mut wsum: Option<Tensor> = None;
    for w in ws {
        let p = (kmax - w.dim(2)?) / 2;
        let wp = w.pad_with_zeros(2, p, p)?.pad_with_zeros(3, p, p)?;
        wsum = Some(match wsum {
            None => wp,
            Some(s) => (s + wp)?,
        });
    }
    let w = match wsum {
        Some(s) => (s / n)?,
        None => candle_core::bail!("conv2d: no kernels"),
    };
    let bias = (Tensor::stack(biases, 0)?.sum(0)? / n)?;
    let p = (kmax / 2) as isize;
    let mut offsets = Vec::with_capacity(kmax * kmax);
    let mut w_taps = Vec::with_capacity(kmax * kmax);
    for i in 0..kmax {
        let wrow = w.narrow(2, i, 1)?.squeeze(2)?; // (out, C, K)
        for j in 0..kmax {
            offsets.push((i as isize - p, j as isize - p));
            w_taps.push(wrow.narrow(2, j, 1)?.squeeze(2)?);
        }
    }
    tap_products(x, &offsets, &w_taps, &bias)
}
