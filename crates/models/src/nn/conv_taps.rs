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

/// A series of `in_len` rows folded into an (h, w) grid row by row, zero after its end (the
/// grid's `h·w` ≥ `in_len`); a convolution over the grid writes its first `out_len` positions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Grid rows.
    pub h: usize,
    /// Grid columns.
    pub w: usize,
    /// Input rows per sample (the rest of the grid reads zero).
    pub in_len: usize,
    /// Output rows per sample (the first positions of the grid).
    pub out_len: usize,
}

impl Fold {
    /// The whole (h, w) grid in and out.
    pub fn grid(h: usize, w: usize) -> Self {
        Self {
            h,
            w,
            in_len: h * w,
            out_len: h * w,
        }
    }

    /// Input row of tap `off` at output position `pos`, if inside the grid and the series.
    #[inline]
    fn source(&self, pos: usize, off: (isize, isize)) -> Option<usize> {
        source(pos / self.w, pos % self.w, off, (self.h, self.w)).filter(|&s| s < self.in_len)
    }
}

/// The shifted copies of `x` (B, in_len, C) folded as `fold`, for `offsets`, side by side,
/// into `cols` (cleared first): (B·out_len, n·C) whose tap k at grid position (h, w) is x at
/// (h + dh_k, w + dw_k), zero outside the grid or past the series. Every value is written
/// once (no zero-fill first).
fn im2col(
    x: &[f32],
    (b, c): (usize, usize),
    fold: Fold,
    offsets: &[(isize, isize)],
    cols: &mut Vec<f32>,
) {
    cols.clear();
    cols.reserve(b * fold.out_len * offsets.len() * c);
    if c == 0 || fold.in_len == 0 {
        cols.resize(b * fold.out_len * offsets.len() * c, 0.0);
        return;
    }
    for xs in x.chunks_exact(fold.in_len * c).take(b) {
        for pos in 0..fold.out_len {
            for &off in offsets {
                match fold.source(pos, off) {
                    Some(src) => cols.extend_from_slice(&xs[src * c..][..c]),
                    None => cols.resize(cols.len() + c, 0.0),
                }
            }
        }
    }
}

/// `dx += ` each shifted copy's gradient in `g` (B·out_len, n·C), back at its source: the
/// adjoint of [`im2col`].
fn col2im_add(
    g: &[f32],
    (b, c): (usize, usize),
    fold: Fold,
    offsets: &[(isize, isize)],
    dx: &mut [f32],
) {
    let n = offsets.len();
    if c == 0 || n == 0 || fold.in_len == 0 || fold.out_len == 0 {
        return;
    }
    for (dxs, gb) in dx
        .chunks_exact_mut(fold.in_len * c)
        .zip(g.chunks_exact(fold.out_len * n * c))
        .take(b)
    {
        for (pos, row) in gb.chunks_exact(n * c).enumerate() {
            for (&off, src) in offsets.iter().zip(row.chunks_exact(c)) {
                if let Some(at) = fold.source(pos, off) {
                    for (d, v) in dxs[at * c..][..c].iter_mut().zip(src) {
                        *d += v;
                    }
                }
            }
        }
    }
}

/// `bias + Σ_k shift_k(x) · w_kᵀ` over the grid `fold` as one op: `x` (B, in_len, C), `w`
/// (out, n·C) the tap weights side by side, `bias` (out); output (B, out_len, out). The
/// shifted copies are built `group` taps at a time (at most [`MAX_IM2COL`] values per group).
struct TapConv {
    fold: Fold,
    offsets: Vec<(isize, isize)>,
    group: usize,
    /// The forward pass's shifted copies when they were one group.
    cols: Kept<Vec<f32>>,
}

impl TapConv {
    /// (B, C, out) of `x`, `w` and `b`, checked against the fold and the taps.
    fn dims(&self, x: &Layout, w: &Layout, b: &Layout) -> Result<(usize, usize, usize)> {
        let (bs, len, c) = x.shape().dims3()?;
        let (out, wi) = w.shape().dims2()?;
        let f = self.fold;
        if len != f.in_len
            || f.in_len > f.h * f.w
            || f.out_len > f.h * f.w
            || wi != self.offsets.len() * c
            || b.shape().dims1()? != out
        {
            candle_core::bail!(
                "conv: x (B, {len}, {c}) folded as {f:?} with {} taps, w ({out}, {wi}) and \
                 bias ({}) do not match",
                self.offsets.len(),
                b.shape().elem_count()
            );
        }
        Ok((bs, c, out))
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
        let (b, c, out) = self.dims(l1, l2, l3)?;
        let x = f32_slice(s1, l1, self.name())?;
        let wv = f32_slice(s2, l2, self.name())?;
        let bias = f32_slice(s3, l3, self.name())?;
        let (rows, wi) = (b * self.fold.out_len, self.offsets.len() * c);
        // Every row starts as the bias; each group's product accumulates onto it.
        let mut y = repeat_rows(bias, rows);
        let mut cols = Vec::new();
        for (gi, offs) in self.offsets.chunks(self.group).enumerate() {
            im2col(x, (b, c), self.fold, offs, &mut cols);
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
        Ok((CpuStorage::F32(y), Shape::from((b, self.fold.out_len, out))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, _, c) = x.dims3()?;
        let (out, wi) = w.dims2()?;
        let rows = b * self.fold.out_len;
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
        let mut dx = vec![0f32; b * self.fold.in_len * c];
        let mut dw = vec![0f32; out * wi];
        let mut kept = self.cols.take();
        let mut cols = Vec::new();
        for (gi, offs) in self.offsets.chunks(self.group).enumerate() {
            let gc = offs.len() * c;
            let at = gi * self.group * c;
            match kept.take() {
                Some(k) if k.len() == rows * gc => cols = k,
                _ => im2col(xv, (b, c), self.fold, offs, &mut cols),
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
            col2im_add(&cols, (b, c), self.fold, offs, &mut dx);
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
    let (b, h, wd, c) = x.dims4()?;
    let y = folded_tap_conv(
        &x.reshape((b, h * wd, c))?,
        Fold::grid(h, wd),
        offsets,
        w,
        bias,
        group,
    )?;
    y.reshape((b, h, wd, y.dim(2)?))
}

/// [`tap_conv_in_groups`] over a series `x` (B, in_len, C) folded as `fold` (zero after the
/// series), writing the grid's first `out_len` positions: (B, out_len, out). Folding,
/// padding and truncating are the op's indexing (no padded copy of `x`, no truncated copy of
/// the output, nor their gradients, in candle's graph).
pub fn folded_tap_conv(
    x: &Tensor,
    fold: Fold,
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
                fold,
                offsets: offsets.to_vec(),
                group: group.clamp(1, offsets.len()),
                cols: Kept::default(),
            },
        );
    }
    folded_tap_conv_graph(x, fold, offsets, w, bias, group)
}

/// [`folded_tap_conv`] in candle's graph (`x` zero-padded to the grid, [`taps_graph`] of each
/// group and its product, summed, the output narrowed): used off the CPU; the reference the
/// fused op is tested against.
pub fn folded_tap_conv_graph(
    x: &Tensor,
    fold: Fold,
    offsets: &[(isize, isize)],
    w: &Tensor,
    bias: &Tensor,
    group: usize,
) -> Result<Tensor> {
    let (b, len, c) = x.dims3()?;
    let cells = fold.h * fold.w;
    if len != fold.in_len || len > cells || fold.out_len > cells {
        candle_core::bail!("conv: x (B, {len}, {c}) does not fold as {fold:?}");
    }
    let x = x
        .pad_with_zeros(1, 0, cells - len)?
        .reshape((b, fold.h, fold.w, c))?;
    let group = group.clamp(1, offsets.len().max(1));
    let mut acc: Option<Tensor> = None;
    for (i, o) in offsets.chunks(group).enumerate() {
        let wg = w.narrow(1, i * group * c, o.len() * c)?;
        // The bias once, with the first group's product.
        let bg = (i == 0).then(|| bias.clone());
        let y = Linear::from_tensors(wg, bg).forward(&taps_graph(&x, o)?)?;
        acc = Some(match acc {
            None => y,
            Some(a) => (a + y)?,
        });
    }
    let y = acc.ok_or_else(|| candle_core::Error::Msg("conv: no taps".into()))?;
    y.reshape((b, cells, y.dim(3)?))?.narrow(1, 0, fold.out_len)
}

/// [`folded_tap_conv`] with groups of at most [`MAX_IM2COL`] values, for every weight
/// `w_taps[k]` (out, C).
fn tap_products(
    x: &Tensor,
    fold: Fold,
    offsets: &[(isize, isize)],
    w_taps: &[Tensor],
    bias: &Tensor,
) -> Result<Tensor> {
    if offsets.is_empty() || offsets.len() != w_taps.len() {
        candle_core::bail!("conv: {} taps, {} weights", offsets.len(), w_taps.len());
    }
    let (b, _, c) = x.dims3()?;
    let group = MAX_IM2COL / (b * fold.out_len.max(fold.in_len) * c).max(1);
    let w = if w_taps.len() == 1 {
        w_taps[0].clone()
    } else {
        Tensor::cat(w_taps, 1)?
    };
    folded_tap_conv(x, fold, offsets, &w, bias, group)
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
    // Tap j reads (K − 1 − j)·dilation steps back.
    let offsets: Vec<(isize, isize)> = (0..k)
        .map(|j| (0, -(((k - 1 - j) * dilation) as isize)))
        .collect();
    let w_taps = (0..k)
        .map(|j| w.narrow(2, j, 1)?.squeeze(2))
        .collect::<Result<Vec<_>>>()?;
    tap_products(x, Fold::grid(1, t), &offsets, &w_taps, bias)
}

/// The mean of 2-D convolutions with odd square kernels (TimesNet's Inception block) in
/// channel-last layout, each with "same" zero padding: `x` (B, H, W, C), `ws[i]` (out, C,
/// kᵢ, kᵢ) and `biases[i]` (out) as candle's `Conv2d` weights. The mean of the convolutions
/// is one convolution with the largest kernel whose weight is the mean of the kernels, each
/// centred in it (zero elsewhere). Output (B, H, W, out).
pub fn mean_same_conv2d(x: &Tensor, ws: &[Tensor], biases: &[Tensor]) -> Result<Tensor> {
    let (b, h, wd, c) = x.dims4()?;
    let y = mean_same_conv2d_folded(&x.reshape((b, h * wd, c))?, Fold::grid(h, wd), ws, biases)?;
    y.reshape((b, h, wd, y.dim(2)?))
}

/// [`mean_same_conv2d`] over a series `x` (B, in_len, C) folded as `fold` (TimesNet's 1D → 2D
/// folding: zero after the series), writing the grid's first `out_len` positions: (B,
/// out_len, out).
pub fn mean_same_conv2d_folded(
    x: &Tensor,
    fold: Fold,
    ws: &[Tensor],
    biases: &[Tensor],
) -> Result<Tensor> {
    let c = x.dim(2)?;
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
    tap_products(x, fold, &offsets, &w_taps, &bias)
}
