//! Convolutions in channel-last layout as matrix products of shifted copies of the input
//! (im2col by concatenation): the TCN's dilated causal Conv1d and TimesNet's Inception
//! Conv2d. candle's CPU convolutions take channel-first inputs, so each call was wrapped in
//! transposed copies, and their backward passes run `conv_transpose` loops without a matrix
//! product (at batch 32, seq 256, d_model 64 most of a TCN or TimesNet training step). Here
//! the taps are narrows of one zero-padded tensor, concatenated along the channels and
//! multiplied once by the weight laid out as (out, taps · in) — one wide product forward and
//! two backward, all by `nn::gemm` through `nn::Linear`. Differentiable through candle's
//! graph; any device.

use candle_core::{Module, Result, Tensor};

use super::Linear;

/// At most this many values in one concatenation of taps (1 GiB of f32); wider inputs are
/// split into groups of taps whose products are summed.
const MAX_IM2COL: usize = 1 << 28;

/// `bias + Σ_j taps[j] · w_taps[j]ᵀ`, with every tap (…, C) of one shape and every weight
/// (out, C): the taps concatenated along the channels (in groups of at most [`MAX_IM2COL`]
/// values) and multiplied by the weights side by side.
fn tap_products(taps: &[Tensor], w_taps: &[Tensor], bias: &Tensor) -> Result<Tensor> {
    let Some(first) = taps.first() else {
        candle_core::bail!("conv: no taps");
    };
    let per_tap = first.elem_count().max(1);
    let group = (MAX_IM2COL / per_tap).clamp(1, taps.len());
    let mut acc: Option<Tensor> = None;
    for (i, (t, w)) in taps.chunks(group).zip(w_taps.chunks(group)).enumerate() {
        let x = if t.len() == 1 {
            t[0].clone()
        } else {
            Tensor::cat(t, t[0].rank() - 1)?
        };
        let w = if w.len() == 1 {
            w[0].clone()
        } else {
            Tensor::cat(w, 1)?
        };
        // The bias once, with the first group's product.
        let y = if i == 0 {
            Linear::from_tensors(w, Some(bias.clone())).forward(&x)?
        } else {
            Linear::from_tensors(w, None).forward(&x)?
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
    let (_, t, c) = x.dims3()?;
    let (_, wc, k) = w.dims3()?;
    if wc != c || k == 0 {
        candle_core::bail!("conv1d: x (B, T, {c}) and w (·, {wc}, {k}) do not match");
    }
    let pad = (k - 1) * dilation;
    let xp = if pad > 0 {
        x.pad_with_zeros(1, pad, 0)?
    } else {
        x.clone()
    };
    let taps = (0..k)
        .map(|j| xp.narrow(1, j * dilation, t))
        .collect::<Result<Vec<_>>>()?;
    let w_taps = (0..k)
        .map(|j| w.narrow(2, j, 1)?.squeeze(2))
        .collect::<Result<Vec<_>>>()?;
    tap_products(&taps, &w_taps, bias)
}

/// The mean of 2-D convolutions with odd square kernels (TimesNet's Inception block) in
/// channel-last layout, each with "same" zero padding: `x` (B, H, W, C), `ws[i]` (out, C,
/// kᵢ, kᵢ) and `biases[i]` (out) as candle's `Conv2d` weights. The mean of the convolutions
/// is one convolution with the largest kernel whose weight is the mean of the kernels, each
/// centred in it (zero elsewhere). Output (B, H, W, out).
pub fn mean_same_conv2d(x: &Tensor, ws: &[Tensor], biases: &[Tensor]) -> Result<Tensor> {
    let (_, h, wd, c) = x.dims4()?;
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
    let p = kmax / 2;
    let xp = if p > 0 {
        x.pad_with_zeros(1, p, p)?.pad_with_zeros(2, p, p)?
    } else {
        x.clone()
    };
    let mut taps = Vec::with_capacity(kmax * kmax);
    let mut w_taps = Vec::with_capacity(kmax * kmax);
    for i in 0..kmax {
        let row = xp.narrow(1, i, h)?;
        let wrow = w.narrow(2, i, 1)?.squeeze(2)?; // (out, C, K)
        for j in 0..kmax {
            taps.push(row.narrow(2, j, wd)?);
            w_taps.push(wrow.narrow(2, j, 1)?.squeeze(2)?);
        }
    }
    tap_products(&taps, &w_taps, &bias)
}
