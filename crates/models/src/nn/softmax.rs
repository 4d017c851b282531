//! Softmax over the last dimension as one fused CPU op with a fused backward pass. Candle's
//! fused `softmax_last` has no backward (rust-stack.md §1.3) and its composed `softmax` makes
//! five passes forward and more backward, which dominated attention on (B, H, T, T) scores.
//! Off the CPU it falls back to the composed version.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, D};

use super::cpu::{dot, f32_slice};
use super::scalar::exp;

/// `row ← exp(scale · row − scale · max(row))` (`scale` > 0), in passes that vectorise;
/// returns the row's sum. Inlined into the `simd_fn!` builds below.
#[inline(always)]
fn exp_shifted(row: &mut [f32], scale: f32) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = row.chunks_exact(8);
    let mut m = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for c in chunks {
        for k in 0..8 {
            lanes[k] = if c[k] > lanes[k] { c[k] } else { lanes[k] };
        }
    }
    m = lanes.iter().copied().fold(m, f32::max);
    let ms = m * scale;
    let mut lanes = [0f32; 8];
    let mut chunks = row.chunks_exact_mut(8);
    for c in &mut chunks {
        for k in 0..8 {
            c[k] = exp(c[k] * scale - ms);
            lanes[k] += c[k];
        }
    }
    let mut sum = 0f32;
    for v in chunks.into_remainder() {
        *v = exp(*v * scale - ms);
        sum += *v;
    }
    sum + lanes.iter().sum::<f32>()
}

simd_fn! {
/// `row ← softmax(scale · row)` (`scale` > 0), in passes that vectorise.
pub fn softmax_in_place(row: &mut [f32], scale: f32) {
    let inv = 1.0 / exp_shifted(row, scale);
    row.iter_mut().for_each(|v| *v *= inv);
}
}

simd_fn! {
/// Unnormalised softmax of each row of `n` values of `rows` (`scale` > 0): every row ←
/// exp(scale · row − scale · max(row)), and `inv[i]` ← 1 / the row's sum — so row i · inv[i]
/// is softmax(scale · row), without the pass that divides (attention scales its (T, hd)
/// output rows instead of the (T, T) probabilities).
pub fn exp_rows(rows: &mut [f32], n: usize, scale: f32, inv: &mut [f32]) {
    for (row, r) in rows.chunks_exact_mut(n.max(1)).zip(inv.iter_mut()) {
        *r = 1.0 / exp_shifted(row, scale);
    }
}
}

/// `y = exp(x − max) / Σ exp(x − max)` per row of the last dimension.
struct Softmax;

/// `dx = y · (g − Σ g·y)` per row, from the forward result `y` and the gradient `g`.
struct SoftmaxBwd;

fn rows<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<(&'a [f32], usize)> {
    let n = l.dims().last().copied().unwrap_or(1).max(1);
    Ok((f32_slice(s, l, op)?, n))
}

impl CustomOp1 for Softmax {
    fn name(&self) -> &'static str {
        "softmax-last-fused"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (x, n) = rows(s, l, self.name())?;
        let mut y = x.to_vec();
        y.chunks_exact_mut(n).for_each(|r| softmax_in_place(r, 1.0));
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, _x: &Tensor, y: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(y.apply_op2_no_bwd(&g.contiguous()?, &SoftmaxBwd)?))
    }
}

impl CustomOp2 for SoftmaxBwd {
    fn name(&self) -> &'static str {
        "softmax-last-fused-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (y, n) = rows(s1, l1, self.name())?;
        let (g, _) = rows(s2, l2, self.name())?;
        if y.len() != g.len() {
            candle_core::bail!("{}: shapes differ", self.name());
        }
        let mut dx = vec![0f32; y.len()];
        for ((yr, gr), dr) in y
            .chunks_exact(n)
            .zip(g.chunks_exact(n))
            .zip(dx.chunks_exact_mut(n))
        {
            let dot = dot(yr, gr);
            for ((d, &a), &b) in dr.iter_mut().zip(yr).zip(gr) {
                *d = a * (b - dot);
            }
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// Softmax over the last dimension, differentiable.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 {
        return candle_nn::ops::softmax(x, D::Minus1);
    }
    x.contiguous()?.apply_op1(Softmax)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnormalised_rows_times_their_inverse_sums_are_the_softmax() {
        let n = 37;
        let x: Vec<f32> = (0..5 * n).map(|i| (i as f32 * 0.77).cos() * 9.0).collect();
        let (mut e, mut inv) = (x.clone(), vec![0f32; 5]);
        exp_rows(&mut e, n, 0.3, &mut inv);
        for (r, (er, xr)) in e.chunks_exact(n).zip(x.chunks_exact(n)).enumerate() {
            let mut want = xr.to_vec();
            softmax_in_place(&mut want, 0.3);
            for (a, b) in er.iter().zip(&want) {
                assert!(
                    (a * inv[r] - b).abs() <= 1e-7,
                    "row {r}: {} vs {b}",
                    a * inv[r]
                );
            }
            // The largest entry is exp(0) = 1, so a sum never underflows.
            assert!(er.contains(&1.0));
        }
    }
}
