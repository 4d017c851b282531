//! Convolutions in channel-last layout as matrix products of shifted copies of the input
//! (im2col): the TCN's dilated causal Conv1d and TimesNet's Inception Conv2d. candle's CPU
//! convolutions take channel-first inputs, so each call was wrapped in transposed copies;
//! their backward passes are slow loops, and at batch > 1 not the derivative of the output
//! (`tests/it/neural_ops.rs`). Here the shifted copies (zero outside the input) sit side by
//! side along the channels and are multiplied once by the weight laid out as (out, taps ·
//! in) — one wide product forward and two backward, by `nn::gemm`. On the CPU the whole
//! convolution is one op (`TapConv`): the shifted copies are a scratch buffer of the op, never
//! a tensor of candle's graph — whose backward pass would zero-fill and add a gradient of
//! that (rows, taps · in) buffer, the size of nine inputs for a 3 × 3 kernel — and the
//! backward pass multiplies into the same buffer and adds each copy's gradient back in one
//! pass. Elsewhere (and as its reference) narrows of a zero-padded tensor, concatenated, and a
//! product in candle's graph.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Module, Result, Shape, Tensor};

use super::affine::{column_sums, repeat_rows};
use super::cpu::{f32_slice, values, Kept};
use super::gemm::{gemm, Mat};
use super::Linear;

/// Source row of tap `(dh, dw)` at (h, w), if inside (H, W).
fn source(h: usize, w: usize, (dh, dw): (isize, isize), (hh, ww): (usize, usize)) -> Option<usize> {
    let sh = h.checked_add_signed(dh).filter(|&v| v < hh)?;
    let sw = w.checked_add_signed(dw).filter(|&v| v < ww)?;
    Some(sh * ww + sw)
}

/// The shifted copies of `x` (B, H, W, C) for `offsets`, side by side, into `cols` (cleared
/// first): (B·H·W, n·C) whose tap k at (h, w) is x at (h + dh_k, w + dw_k), zero outside.
/// Every value is written once (no zero-fill first).
fn im2col(
    x: &[f32],
    (b, h, w, c): (usize, usize, usize, usize),
    offsets: &[(isize, isize)],
    cols: &mut Vec<f32>,
) {
    cols.clear();
    cols.reserve(b * h * w * offsets.len() * c);
    if c == 0 {
        return;
    }
    for xs in x.chunks_exact(h * w * c).take(b) {
        for pos in 0..h * w {
            for &off in offsets {
                match source(pos / w, pos % w, off, (h, w)) {
                    Some(src) => cols.extend_from_slice(&xs[src * c..][..c]),
                    None => cols.resize(cols.len() + c, 0.0),
                }
            }
        }
    }
}

/// `dx += ` each shifted copy's gradient in `g` (B·H·W, n·C), back at its source: the
/// adjoint of [`im2col`].
fn col2im_add(
    g: &[f32],
    (b, h, w, c): (usize, usize, usize, usize),
    offsets: &[(isize, isize)],
    dx: &mut [f32],
) {
    let n = offsets.len();
    if c == 0 || n == 0 {
        return;
    }
    for (dxs, gb) in dx
        .chunks_exact_mut(h * w * c)
        .zip(g.chunks_exact(h * w * n * c))
        .take(b)
    {
        for (pos, row) in gb.chunks_exact(n * c).enumerate() {
            for (&off, src) in offsets.iter().zip(row.chunks_exact(c)) {
                if let Some(at) = source(pos / w, pos % w, off, (h, w)) {
                    for (d, v) in dxs[at * c..][..c].iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
        }
    }
}

/// `bias + Σ_k shift_k(x) · w_kᵀ` as one op: `x` (B, H, W, C), `w` (out, n·C) the tap
/// weights side by side, `bias` (out); output (B, H, W, out). The shifted copies are built
/// `group` taps at a time (at most [`MAX_IM2COL`] values per group).
struct TapConv {
    offsets: Vec<(isize, isize)>,
    group: usize,
    /// The forward pass's shifted copies when they were one group.
    cols: Kept<Vec<f32>>,
}

impl TapConv {
    fn dims(
        &self,
        x: &Layout,
        w: &Layout,
        b: &Layout,
    ) -> Result<((usize, usize, usize, usize), usize)> {
        let dims = x.shape().dims4()?;
        let (out, wi) = w.shape().dims2()?;
        if wi != self.offsets.len() * dims.3 || b.shape().dims1()? != out {
            candle_core::bail!(
                "conv: x (B, H, W, {}) with {} taps, w ({out}, {wi}) and bias ({}) do not match",
                dims.3,
                self.offsets.len(),
                b.shape().elem_count()
            );
        }
        Ok((dims, out))
    }
}

impl CustomOp3 for TapConv {
    fn name(&self) -> &'static str {
        "tap-conv"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (dims, out) = self.dims(l1, l2, l3)?;
        let (b, h, w, c) = dims;
        let x = f32_slice(s1, l1, self.name())?;
        let wv = f32_slice(s2, l2, self.name())?;
        let bias = f32_slice(s3, l3, self.name())?;
        let (rows, wi) = (b * h * w, self.offsets.len() * c);
        // Every row starts as the bias; each group's product accumulates onto it.
        let mut y = repeat_rows(bias, rows);
        let mut cols = Vec::new();
        for (gi, offs) in self.offsets.chunks(self.group).enumerate() {
            im2col(x, dims, offs, &mut cols);
            let wg = Mat {
                data: &wv[gi * self.group * c..],
                rows: out,
                cols: offs.len() * c,
                rs: wi,
                cs: 1,
            };
            gemm(
                &mut y,
                out,
                Mat::rows(&cols, rows, offs.len() * c),
                wg.t(),
                true,
            )?;
        }
        if self.group >= self.offsets.len() {
            self.cols.put(cols);
        }
        Ok((CpuStorage::F32(y), Shape::from((b, h, w, out))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, h, wd, c) = x.dims4()?;
        let (out, wi) = w.dims2()?;
        let rows = b * h * wd;
        let grad = grad.contiguous()?;
        let ((xs, xl), (ws, wl), (gs, gl)) = (
            x.storage_and_layout(),
            w.storage_and_layout(),
            grad.storage_and_layout(),
        );
        let xv = values(&xs, xl, self.name())?;
        let wv = values(&ws, wl, self.name())?;
        let g = values(&gs, gl, self.name())?;
        let gm = Mat::rows(g, rows, out);
        let mut dx = vec![0f32; rows * c];
        let mut dw = vec![0f32; out * wi];
        let mut kept = self.cols.take();
        let mut cols = Vec::new();
        for (gi, offs) in self.offsets.chunks(self.group).enumerate() {
            let gc = offs.len() * c;
            let at = gi * self.group * c;
            match kept.take() {
                Some(k) if k.len() == rows * gc => cols = k,
                _ => im2col(xv, (b, h, wd, c), offs, &mut cols),
            }
            // dW (out, gc) = gᵀ · cols, into the group's columns of dw.
            gemm(&mut dw[at..], wi, gm.t(), Mat::rows(&cols, rows, gc), false)?;
            // The copies' gradient g · W_g overwrites the copies, then goes back to dx.
            let wg = Mat {
                data: &wv[at..],
                rows: out,
                cols: gc,
                rs: wi,
                cs: 1,
            };
            gemm(&mut cols, gc, gm, wg, false)?;
            col2im_add(&cols, (b, h, wd, c), offs, &mut dx);
        }
        let db = column_sums(g, out);
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dw, (out, wi), dev)?),
            Some(Tensor::from_vec(db, out, bias.device())?),
        ))
    }
}

/// The shifted copies of `x` (B, H, W, C) for `offsets`, side by side — (B, H, W, n·C), tap
/// k at (h, w) is x at (h + dh_k, w + dw_k), zero outside — in candle's graph (narrows of a
/// zero-padded `x`, concatenated): used off the CPU and as the fused op's reference.
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

/// At most this many values in one buffer of shifted copies (1 GiB of f32); wider inputs are
/// split into groups of taps whose products are summed.
const MAX_IM2COL: usize = 1 << 28;

/// `bias + Σ_k shift_k(x) · w_kᵀ` for `x` (B, H, W, C), the tap weights side by side in `w`
/// (out, n·C) and `bias` (out); output (B, H, W, out); differentiable in all three. One op
/// on the CPU (f32) whose shifted copies are built `group` taps at a time; candle's graph
/// elsewhere.
pub fn tap_conv_in_groups(
    x: &Tensor,
    offsets: &[(isize, isize)],
    w: &Tensor,
    bias: &Tensor,
    group: usize,
) -> Result<Tensor> {
    if offsets.is_empty() {
        candle_core::bail!("conv: no taps");
    }
    if x.device().is_cpu() && x.dtype() == DType::F32 {
        return x.contiguous()?.apply_op3(
            &w.contiguous()?,
            &bias.contiguous()?,
            TapConv {
                offsets: offsets.to_vec(),
                group: group.clamp(1, offsets.len()),
                cols: Kept::default(),
            },
        );
    }
    tap_conv_graph(x, offsets, w, bias, group)
}

/// [`tap_conv_in_groups`] in candle's graph ([`taps_graph`] of each group and its product,
/// summed): used off the CPU; the reference the fused op is tested against.
pub fn tap_conv_graph(
    x: &Tensor,
    offsets: &[(isize, isize)],
    w: &Tensor,
    bias: &Tensor,
    group: usize,
) -> Result<Tensor> {
    let c = x.dim(3)?;
    let group = group.clamp(1, offsets.len().max(1));
    let mut acc: Option<Tensor> = None;
    for (i, o) in offsets.chunks(group).enumerate() {
        let wg = w.narrow(1, i * group * c, o.len() * c)?;
        // The bias once, with the first group's product.
        let b = (i == 0).then(|| bias.clone());
        let y = Linear::from_tensors(wg, b).forward(&taps_graph(x, o)?)?;
        acc = Some(match acc {
            None => y,
            Some(a) => (a + y)?,
        });
    }
    acc.ok_or_else(|| candle_core::Error::Msg("conv: no taps".into()))
}

/// [`tap_conv_in_groups`] with groups of at most [`MAX_IM2COL`] values, for every weight
/// `w_taps[k]` (out, C).
fn tap_products(
    x: &Tensor,
    offsets: &[(isize, isize)],
    w_taps: &[Tensor],
    bias: &Tensor,
) -> Result<Tensor> {
    if offsets.is_empty() || offsets.len() != w_taps.len() {
        candle_core::bail!("conv: {} taps, {} weights", offsets.len(), w_taps.len());
    }
    let group = MAX_IM2COL / x.elem_count().max(1);
    let w = if w_taps.len() == 1 {
        w_taps[0].clone()
    } else {
        Tensor::cat(w_taps, 1)?
    };
    tap_conv_in_groups(x, offsets, &w, bias, group)
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
