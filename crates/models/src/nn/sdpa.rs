//! Multi-head scaled dot-product attention as one CPU op with a hand-written backward pass.
//! In candle's graph the heads are split out by permuted copies, and the (B, H, T, T) scores
//! and probabilities — 33 MB each at B 32, T 256, 4 heads — each cost the backward pass a
//! zero-filled gradient and an add. Here each head is computed from strided views of the
//! fused q|k|v projection: one (T, T) product, a softmax in place, one product written
//! straight into the head's columns of the output; the backward pass forms dq, dk, dv in the
//! same layout, with one (T, T) scratch matrix.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::cpu::{dot, f32_slice, values, Kept};
use super::gemm::{gemm, Mat};
use super::softmax::softmax_in_place;

/// Input `qkv` (B, T, 3d): q, k, v side by side, each d = heads · hd with head `h` in
/// columns h·hd.. of its part. Output (B, T, d), heads side by side the same way. Keeps the
/// attention probabilities (B, H, T, T) for the backward pass (recomputed if absent).
struct Sdpa {
    heads: usize,
    probs: Kept<Vec<f32>>,
}

/// Sizes (B, T, d, hd).
type Dims = (usize, usize, usize, usize);

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

    /// Output (B, T, d) and probabilities (B, H, T, T).
    fn run(&self, qkv: &[f32], dims: Dims) -> Result<(Vec<f32>, Vec<f32>)> {
        let (b, t, d, hd) = dims;
        let scale = 1.0 / (hd as f32).sqrt();
        let mut y = vec![0f32; b * t * d];
        let mut probs = vec![0f32; b * self.heads * t * t];
        if t == 0 || d == 0 {
            return Ok((y, probs));
        }
        // Sequences in parallel (each writes its own rows of `y` and its own probabilities).
        let heads = self.heads;
        y.par_chunks_mut(t * d)
            .zip(probs.par_chunks_mut(heads * t * t))
            .enumerate()
            .try_for_each(|(bi, (y, probs))| -> Result<()> {
                for h in 0..heads {
                    let p = &mut probs[h * t * t..][..t * t];
                    let (q, k) = (part(qkv, dims, bi, h, 0), part(qkv, dims, bi, h, 1));
                    gemm(p, t, q, k.t(), false)?;
                    p.chunks_exact_mut(t)
                        .for_each(|row| softmax_in_place(row, scale));
                    let v = part(qkv, dims, bi, h, 2);
                    gemm(&mut y[h * hd..], d, Mat::rows(p, t, t), v, false)?;
                }
                Ok(())
            })?;
        Ok((y, probs))
    }
}

impl CustomOp1 for Sdpa {
    fn name(&self) -> &'static str {
        "sdpa"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = self.dims(l)?;
        let qkv = f32_slice(s, l, self.name())?;
        let (y, probs) = self.run(qkv, dims)?;
        self.probs.put(probs);
        Ok((CpuStorage::F32(y), Shape::from((dims.0, dims.1, dims.2))))
    }

    fn bwd(&self, qkv: &Tensor, _y: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dims = self.dims(qkv.layout())?;
        let (b, t, d, hd) = dims;
        let scale = 1.0 / (hd as f32).sqrt();
        let grad = grad.contiguous()?;
        let ((xs, xl), (gs, gl)) = (qkv.storage_and_layout(), grad.storage_and_layout());
        let x = values(&xs, xl, self.name())?;
        let g = values(&gs, gl, self.name())?;
        let probs = match self.probs.take() {
            Some(p) => p,
            None => self.run(x, dims)?.1,
        };
        let mut dx = vec![0f32; b * t * 3 * d];
        if t == 0 || d == 0 {
            return Ok(Some(Tensor::from_vec(dx, qkv.shape(), qkv.device())?));
        }
        let heads = self.heads;
        // Sequences in parallel, each with its own (T, T) scratch and its own rows of dx.
        dx.par_chunks_mut(t * 3 * d)
            .enumerate()
            .try_for_each(|(bi, dx)| -> Result<()> {
                let mut ds = vec![0f32; t * t];
                for h in 0..heads {
                    let p = &probs[(bi * heads + h) * t * t..][..t * t];
                    let pm = Mat::rows(p, t, t);
                    let dy = Mat {
                        data: &g[bi * t * d + h * hd..],
                        rows: t,
                        cols: hd,
                        rs: d,
                        cs: 1,
                    };
                    let (q, k, v) = (
                        part(x, dims, bi, h, 0),
                        part(x, dims, bi, h, 1),
                        part(x, dims, bi, h, 2),
                    );
                    let at = |p: usize| p * d + h * hd;
                    // dV = Pᵀ·dY; dP = dY·Vᵀ; dS = P ⊙ (dP − rowsum(dP ⊙ P)) · scale.
                    gemm(&mut dx[at(2)..], 3 * d, pm.t(), dy, false)?;
                    gemm(&mut ds, t, dy, v.t(), false)?;
                    for (dr, pr) in ds.chunks_exact_mut(t).zip(p.chunks_exact(t)) {
                        let s = dot(dr, pr);
                        for (dv, pv) in dr.iter_mut().zip(pr) {
                            *dv = pv * (*dv - s) * scale;
                        }
                    }
                    // dQ = dS·K; dK = dSᵀ·Q.
                    let dsm = Mat::rows(&ds, t, t);
                    gemm(&mut dx[at(0)..], 3 * d, dsm, k, false)?;
                    gemm(&mut dx[at(1)..], 3 * d, dsm.t(), q, false)?;
                }
                Ok(())
            })?;
        Ok(Some(Tensor::from_vec(dx, qkv.shape(), qkv.device())?))
    }
}

/// Multi-head attention (no mask) from the fused projection `qkv` (B, T, 3d) — q, k, v side
/// by side, `heads` heads each — to (B, T, d); differentiable. CPU and f32 only.
pub fn sdpa(qkv: &Tensor, heads: usize) -> Result<Tensor> {
    qkv.contiguous()?.apply_op1(Sdpa {
        heads,
        probs: Kept::default(),
    })
}
