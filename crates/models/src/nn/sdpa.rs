//! Multi-head scaled dot-product attention as one CPU op with a hand-written backward pass.
//! In candle's graph the heads are split out by permuted copies, and the (B, H, T, T) scores
//! and probabilities — 33 MB each at B 32, T 256, 4 heads — each cost the backward pass a
//! zero-filled gradient and an add. Here each head is computed from strided views of the
//! fused q|k|v projection: one (T, T) product, the row exponentials in place (not divided by
//! their sums: the head's (T, hd) output rows are scaled instead), one product written
//! straight into the head's columns of the output; the backward pass forms dq, dk, dv in the
//! same layout, with one (T, T) scratch matrix per thread, and takes rowsum(P ⊙ dP) as the
//! (T, hd) row products dO·O (the same sum: O = P·V).

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{dot, f32_slice, values, Kept};
use super::gemm::{gemm, Mat};
use super::softmax::exp_rows;

/// Input `qkv` (B, T, 3d): q, k, v side by side, each d = heads · hd with head `h` in
/// columns h·hd.. of its part. Output (B, T, d), heads side by side the same way. Keeps the
/// unnormalised attention weights (B, H, T, T) and their rows' inverse sums (B, H, T) for the
/// backward pass (recomputed if absent).
struct Sdpa {
    heads: usize,
    kept: Kept<Weights>,
}

/// E = exp(scale · (S − rowmax S)) per (B, H) block and 1 / rowsum E: P = diag(inv) · E.
pub(crate) struct Weights {
    e: Vec<f32>,
    inv: Vec<f32>,
}

impl Weights {
    /// Hands the (B, H, T, T) buffer on to the next forward pass (see [`spare`]).
    pub(crate) fn recycle(self) {
        spare::give(self.e);
    }
}

/// Buffers of attention weights from finished backward passes, for the next forward pass to
/// overwrite: a fresh one is zero-filled by the allocator (`calloc` on memory the process
/// keeps, `alloc::keep_freed_memory`), 33 MB per layer at B 32, T 256, 4 heads — 1.5 % of a
/// Transformer training step. The forward pass writes every element (a product with no
/// accumulation, then the exponentials), so what a reused buffer held does not matter.
/// At most [`spare::KEEP`] buffers and [`spare::KEEP_VALUES`] values in all are kept (what a
/// long-lived service that trained once holds on to), and only one of the exact length asked
/// for is reused.
mod spare {
    use std::sync::Mutex;

    /// Buffers kept at most (a few layers' worth).
    pub const KEEP: usize = 4;

    /// Values kept at most over all buffers: 64 Mi f32, 256 MiB (four of the 33 MB above fit;
    /// a larger buffer is not kept).
    pub const KEEP_VALUES: usize = 64 << 20;

    /// The kept buffers, oldest first.
    pub(super) static SPARE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

    /// A buffer of `n` values: a kept one of that length (its values stale), or zeros.
    pub fn take(n: usize) -> Vec<f32> {
        let reused = SPARE.lock().ok().and_then(|mut s| {
            let i = s.iter().position(|v| v.len() == n)?;
            Some(s.swap_remove(i))
        });
        reused.unwrap_or_else(|| vec![0f32; n])
    }

    /// Keeps `v` for [`take`], dropping the oldest beyond [`KEEP`] buffers or
    /// [`KEEP_VALUES`] values.
    pub fn give(v: Vec<f32>) {
        if v.len() > KEEP_VALUES {
            return;
        }
        if let Ok(mut s) = SPARE.lock() {
            while s.len() >= KEEP || s.iter().map(Vec::len).sum::<usize>() + v.len() > KEEP_VALUES {
                s.remove(0);
            }
            s.push(v);
        }
    }
}

/// Sizes (B, T, d, hd).
pub(crate) type Dims = (usize, usize, usize, usize);

/// The strided (T, hd) view of part `part` (0 q, 1 k, 2 v) of head `h` of sequence `b`.
fn part(qkv: &[f32], (_, t, d, hd): Dims, b: usize, h: usize, part: usize) -> Mat<'_> {
    Mat {
        data: &qkv[b * t * 3 * d + part * d + h * hd..],
        rows: t,
        cols: hd,
        rs: 3 * d,
        cs: 1,
    }
}

simd_fn! {
    /// `ds ← e ⊙ (ds − dd[i]) · c[i]` for each row i of `n` values: the scores' gradient
    /// from dP (in `ds`), the unnormalised weights `e`, rowsum(P ⊙ dP) `dd` and
    /// `c` = scale / rowsum(E).
    fn scores_grad(ds: &mut [f32], e: &[f32], n: usize, dd: &[f32], c: &[f32]) {
        let n = n.max(1);
        for (((dr, er), &d), &c) in ds.chunks_exact_mut(n).zip(e.chunks_exact(n)).zip(dd).zip(c) {
            for (v, &w) in dr.iter_mut().zip(er) {
                *v = w * (*v - d) * c;
            }
        }
    }
}

impl Sdpa {
    fn dims(&self, l: &Layout) -> Result<Dims> {
        let (b, t, d3) = l.shape().dims3()?;
        let d = d3 / 3;
        if d3 % 3 != 0 || self.heads == 0 || d % self.heads != 0 {
            candle_core::bail!(
                "sdpa: last axis {d3} is not 3 × a multiple of {}",
                self.heads
            );
        }
        Ok((b, t, d, d / self.heads))
    }

    /// Output (B, T, d) and the weights.
    fn run(&self, qkv: &[f32], dims: Dims) -> Result<(Vec<f32>, Weights)> {
        forward(qkv, dims, self.heads)
    }
}

/// Attention of `heads` heads over the fused projection `qkv` (B, T, 3d) of sizes `dims`:
/// the output (B, T, d) and the weights its backward pass needs.
pub(crate) fn forward(qkv: &[f32], dims: Dims, heads: usize) -> Result<(Vec<f32>, Weights)> {
    let (b, t, d, hd) = dims;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut y = vec![0f32; b * t * d];
    let mut w = Weights {
        e: spare::take(b * heads * t * t),
        inv: vec![0f32; b * heads * t],
    };
    if t == 0 || d == 0 {
        return Ok((y, w));
    }
    // Sequences in parallel (each writes its own rows of `y` and its own weights).
    y.par_chunks_mut(t * d)
        .zip(w.e.par_chunks_mut(heads * t * t))
        .zip(w.inv.par_chunks_mut(heads * t))
        .enumerate()
        .try_for_each(|(bi, ((y, e), inv))| -> Result<()> {
            for h in 0..heads {
                let e = &mut e[h * t * t..][..t * t];
                let inv = &mut inv[h * t..][..t];
                let (q, k) = (part(qkv, dims, bi, h, 0), part(qkv, dims, bi, h, 1));
                gemm(e, t, q, k.t(), false)?;
                exp_rows(e, t, scale, inv);
                let v = part(qkv, dims, bi, h, 2);
                gemm(&mut y[h * hd..], d, Mat::rows(e, t, t), v, false)?;
                for (row, &r) in y.chunks_exact_mut(d).zip(&*inv) {
                    row[h * hd..][..hd].iter_mut().for_each(|v| *v *= r);
                }
            }
            Ok(())
        })?;
    Ok((y, w))
}

impl CustomOp1 for Sdpa {
    fn name(&self) -> &'static str {
        "sdpa"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = self.dims(l)?;
        let qkv = f32_slice(s, l, self.name())?;
        let (y, w) = self.run(qkv, dims)?;
        self.kept.put(w);
        Ok((CpuStorage::F32(y), Shape::from((dims.0, dims.1, dims.2))))
    }

    fn bwd(&self, qkv: &Tensor, y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dims = self.dims(qkv.layout())?;
        let (grad, y) = (grad.contiguous()?, y.contiguous()?);
        let ((xs, xl), (gs, gl)) = (qkv.storage_and_layout(), grad.storage_and_layout());
        let (ys, yl) = y.storage_and_layout();
        let x = values(&xs, xl, self.name())?;
        let g = values(&gs, gl, self.name())?;
        let yv = values(&ys, yl, self.name())?;
        let w = match self.kept.take() {
            Some(w) => w,
            None => self.run(x, dims)?.1,
        };
        let dx = backward(x, yv, g, &w, dims, self.heads)?;
        w.recycle();
        Ok(Some(Tensor::from_vec(dx, qkv.shape(), qkv.device())?))
    }
}

/// Multi-head attention (no mask) from the fused projection `qkv` (B, T, 3d) — q, k, v side
/// by side, `heads` heads each — to (B, T, d); differentiable. CPU and f32 only.
pub fn sdpa(qkv: &Tensor, heads: usize) -> Result<Tensor> {
    qkv.contiguous()?.apply_op1(Sdpa {
        heads,
        kept: Kept::default(),
    })
}

/// The gradient of `qkv` (B, T, 3d) from the output gradient `g` (B, T, d), the forward
/// pass's input `x` = qkv, output `yv` and weights `w`.
pub(crate) fn backward(
    x: &[f32],
    yv: &[f32],
    g: &[f32],
    w: &Weights,
    dims: Dims,
    heads: usize,
) -> Result<Vec<f32>> {
    let (b, t, d, hd) = dims;
    let scale = 1.0 / (hd as f32).sqrt();
    let mut dx = vec![0f32; b * t * 3 * d];
    if t == 0 || d == 0 {
        return Ok(dx);
    }
    // Sequences in parallel, each thread with its own scratch and each sequence with its
    // own rows of dx.
    let scratch = || (vec![0f32; t * t], vec![0f32; t * hd], vec![0f32; 2 * t]);
    dx.par_chunks_mut(t * 3 * d).enumerate().try_for_each_init(
        scratch,
        |(ds, dyr, dc), (bi, dx)| -> Result<()> {
            let (dd, c) = dc.split_at_mut(t);
            for h in 0..heads {
                let e = &w.e[(bi * heads + h) * t * t..][..t * t];
                let inv = &w.inv[(bi * heads + h) * t..][..t];
                let em = Mat::rows(e, t, t);
                let dy = Mat {
                    data: &g[bi * t * d + h * hd..],
                    rows: t,
                    cols: hd,
                    rs: d,
                    cs: 1,
                };
                // rowsum(P ⊙ dP) = dOᵢ·Oᵢ; dO rows scaled by 1 / rowsum(E) for dV.
                for i in 0..t {
                    let at = (bi * t + i) * d + h * hd;
                    let (gi, yi) = (&g[at..][..hd], &yv[at..][..hd]);
                    dd[i] = dot(gi, yi);
                    c[i] = inv[i] * scale;
                    for (o, v) in dyr[i * hd..][..hd].iter_mut().zip(gi) {
                        *o = v * inv[i];
                    }
                }
                let (q, k, v) = (
                    part(x, dims, bi, h, 0),
                    part(x, dims, bi, h, 1),
                    part(x, dims, bi, h, 2),
                );
                let at = |p: usize| p * d + h * hd;
                // dV = Pᵀ·dO = Eᵀ·(diag(inv)·dO); dP = dO·Vᵀ; dS = P ⊙ (dP − rowsum(P ⊙ dP)).
                gemm(
                    &mut dx[at(2)..],
                    3 * d,
                    em.t(),
                    Mat::rows(dyr, t, hd),
                    false,
                )?;
                gemm(ds, t, dy, v.t(), false)?;
                scores_grad(ds, e, t, dd, c);
                // dQ = dS·K · scale; dK = dSᵀ·Q · scale (the scale is in `c`).
                let dsm = Mat::rows(ds, t, t);
                gemm(&mut dx[at(0)..], 3 * d, dsm, k, false)?;
                gemm(&mut dx[at(1)..], 3 * d, dsm.t(), q, false)?;
            }
            Ok(())
        },
    )?;
    Ok(dx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_weight_buffer_gives_the_values_of_a_fresh_one() {
        // Two sequences of 5 steps, 2 heads of width 3.
        let dims = (2, 5, 6, 3);
        let qkv: Vec<f32> = (0..2 * 5 * 18).map(|i| (i as f32 * 0.37).sin()).collect();
        let (y0, w0) = forward(&qkv, dims, 2).unwrap();
        let e0 = w0.e.clone();
        // A kept buffer of this length full of NaN: the forward pass overwrites all of it.
        spare::give(vec![f32::NAN; e0.len()]);
        let (y1, w1) = forward(&qkv, dims, 2).unwrap();
        assert_eq!(y0, y1);
        assert_eq!(e0, w1.e);
        // Only an exact length is reused, and at most KEEP buffers are kept.
        for _ in 0..spare::KEEP + 3 {
            spare::give(vec![1.0; 7]);
        }
        assert!(spare::take(6).iter().all(|&v| v == 0.0));
        assert_eq!(spare::SPARE.lock().unwrap().len(), spare::KEEP);
        // Bounded in values too: a buffer over the cap is not kept, and one that would take
        // the total over it pushes the oldest out.
        spare::give(vec![0.0; spare::KEEP_VALUES + 1]);
        assert!(spare::SPARE.lock().unwrap().iter().all(|v| v.len() == 7));
        spare::give(vec![0.0; spare::KEEP_VALUES - 7]);
        let kept: Vec<usize> = spare::SPARE.lock().unwrap().iter().map(Vec::len).collect();
        assert_eq!(kept, [7, spare::KEEP_VALUES - 7]);
    }
}
