//! Layer normalisation over the last dimension as one fused CPU op with a fused backward pass
//! (candle's fused `layer_norm` has no backward — rust-stack.md §1.3 — and `layer_norm_slow`
//! is eight tensor passes forward and more backward). Off the CPU it falls back to
//! `layer_norm_slow`.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::cpu::{dot, f32_slice, sum};

/// `y = (x − mean) / sqrt(var + eps) · w + b` per row of the last dimension.
struct LayerNorm {
    eps: f32,
}

/// From (x, w, g): a (rows + 2, d) tensor holding dx (rows), then dw, then db.
struct LayerNormBwd {
    eps: f32,
}

/// Mean and 1/sqrt(var + eps) of a row (two passes, f32 like candle).
#[inline(always)]
fn stats(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = sum(row) / n;
    let mut lanes = [0f32; 8];
    let c = row.chunks_exact(8);
    let tail: f32 = c.remainder().iter().map(|v| (v - mean) * (v - mean)).sum();
    for x in c {
        for k in 0..8 {
            lanes[k] += (x[k] - mean) * (x[k] - mean);
        }
    }
    let var = (sum(&lanes) + tail) / n;
    (mean, 1.0 / (var + eps).sqrt())
}

simd_fn! {
    /// `y ← (x − mean) · rstd · w + b` per row of `x`.
    pub(crate) fn normalise(x: &[f32], w: &[f32], b: &[f32], y: &mut [f32], eps: f32) {
        let d = w.len();
        for (xr, yr) in x.chunks_exact(d).zip(y.chunks_exact_mut(d)) {
            let (mean, rstd) = stats(xr, eps);
            for (((y, x), w), b) in yr.iter_mut().zip(xr).zip(w).zip(b) {
                *y = (x - mean) * rstd * w + b;
            }
        }
    }
}

simd_fn! {
    /// `out` = dx (rows × d), then dw (d), then db (d), from the input `x`, weight `w` and
    /// output gradient `g` (`out` zero, or dw and db added to).
    pub(crate) fn backward(x: &[f32], w: &[f32], g: &[f32], out: &mut [f32], eps: f32) {
        let d = w.len();
        let (dx, rest) = out.split_at_mut(x.len());
        let (dw, db) = rest.split_at_mut(d);
        let (mut xhat, mut dxh) = (vec![0f32; d], vec![0f32; d]);
        let (xhat, dxh) = (&mut xhat[..], &mut dxh[..]);
        for ((xr, gr), dr) in x.chunks_exact(d).zip(g.chunks_exact(d)).zip(dx.chunks_exact_mut(d)) {
            let (mean, rstd) = stats(xr, eps);
            for (xh, x) in xhat.iter_mut().zip(xr) {
                *xh = (x - mean) * rstd;
            }
            for ((e, g), w) in dxh.iter_mut().zip(gr).zip(w) {
                *e = g * w;
            }
            let (m1, m2) = (sum(dxh) / d as f32, dot(dxh, xhat) / d as f32);
            for (((dw, db), g), xh) in dw.iter_mut().zip(db.iter_mut()).zip(gr).zip(&*xhat) {
                *dw += g * xh;
                *db += g;
            }
            for ((dr, e), xh) in dr.iter_mut().zip(&*dxh).zip(&*xhat) {
                *dr = rstd * (e - m1 - xh * m2);
            }
        }
    }
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "layer-norm-fused"
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
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let b = f32_slice(s3, l3, self.name())?;
        let d = w.len();
        if d == 0 || b.len() != d || x.len() % d != 0 {
            candle_core::bail!(
                "{}: weight/bias do not match the last dimension",
                self.name()
            );
        }
        let mut y = vec![0f32; x.len()];
        normalise(x, w, b, &mut y, self.eps);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _y: &Tensor,
        g: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = w.elem_count();
        let rows = x.elem_count() / d;
        let all = x.apply_op3_no_bwd(w, &g.contiguous()?, &LayerNormBwd { eps: self.eps })?;
        let dx = all.narrow(0, 0, rows)?.reshape(x.shape())?;
        let dw = all.narrow(0, rows, 1)?.reshape(w.shape())?;
        let db = all.narrow(0, rows + 1, 1)?.reshape(w.shape())?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

impl CustomOp3 for LayerNormBwd {
    fn name(&self) -> &'static str {
        "layer-norm-fused-bwd"
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
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let g = f32_slice(s3, l3, self.name())?;
        let d = w.len();
        if d == 0 || g.len() != x.len() || x.len() % d != 0 {
            candle_core::bail!("{}: shapes do not match", self.name());
        }
        let rows = x.len() / d;
        let mut out = vec![0f32; (rows + 2) * d];
        backward(x, w, g, &mut out, self.eps);
        Ok((CpuStorage::F32(out), Shape::from((rows + 2, d))))
    }
}

/// Layer norm over the last dimension with weight `w` and bias `b` (both of that size),
/// differentiable in all three.
pub fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor, eps: f64) -> Result<Tensor> {
    let f32_cpu = |t: &Tensor| t.device().is_cpu() && t.dtype() == candle_core::DType::F32;
    if !(f32_cpu(x) && f32_cpu(w) && f32_cpu(b)) {
        return candle_nn::ops::layer_norm_slow(x, w, b, eps as f32);
    }
    x.contiguous()?.apply_op3(
        &w.contiguous()?,
        &b.contiguous()?,
        LayerNorm { eps: eps as f32 },
    )
}

/// Forward then backward of rows of `d` values of `x` (weight and bias from `g`), one buffer:
/// y, then dx, dw, db (for `simd`'s comparison of the builds).
#[cfg(test)]
pub(crate) fn test_rows(x: &[f32], g: &[f32], d: usize) -> Vec<f32> {
    let n = x.len() / d * d;
    let (x, g) = (&x[..n], &g[..n]);
    let (w, b) = (&g[..d], &x[..d]);
    let mut y = vec![0f32; n];
    normalise(x, w, b, &mut y, 1e-5);
    let mut out = vec![0f32; n + 2 * d];
    backward(x, w, g, &mut out, 1e-5);
    y.extend(out);
    y
}
