//! Softmax over the last dimension as one fused CPU op with a fused backward pass. Candle's
//! fused `softmax_last` has no backward (rust-stack.md §1.3) and its composed `softmax` makes
//! five passes forward and more backward, which dominated attention on (B, H, T, T) scores.
//! Off the CPU it falls back to the composed version.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor, D};

use super::cpu::{dot, f32_slice};
use super::scalar::exp;

simd_fn! {
/// `row ← softmax(scale · row)` (`scale` > 0), in passes that vectorise.
pub fn softmax_in_place(row: &mut [f32], scale: f32) {
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
    let inv = 1.0 / (sum + lanes.iter().sum::<f32>());
    row.iter_mut().for_each(|v| *v *= inv);
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
