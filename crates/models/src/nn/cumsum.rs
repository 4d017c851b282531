//! Cumulative sum along the last dimension in O(n) with a backward pass. Candle's
//! `Tensor::cumsum` multiplies by an n×n triangular matrix (O(n²)), which dominated path
//! sampling (1000 × 288 steps). Off the CPU it falls back to candle's version.

use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};

/// Inclusive cumulative sum over the last dimension (forward) or its reverse (backward).
struct Cumsum {
    reverse: bool,
}

fn scan<T: Copy + std::ops::Add<Output = T> + Default>(v: &[T], n: usize, reverse: bool) -> Vec<T> {
    let mut out = vec![T::default(); v.len()];
    for (src, dst) in v.chunks(n).zip(out.chunks_mut(n)) {
        let mut acc = T::default();
        if reverse {
            for i in (0..n).rev() {
                acc = acc + src[i];
                dst[i] = acc;
            }
        } else {
            for i in 0..n {
                acc = acc + src[i];
                dst[i] = acc;
            }
        }
    }
    out
}

impl CustomOp1 for Cumsum {
    fn name(&self) -> &'static str {
        if self.reverse {
            "rev-cumsum-last"
        } else {
            "cumsum-last"
        }
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let Some((a, b)) = layout.contiguous_offsets() else {
            candle_core::bail!("cumsum-last needs a contiguous input");
        };
        let n = layout.dims().last().copied().unwrap_or(1).max(1);
        let out = match storage {
            CpuStorage::F32(v) => CpuStorage::F32(scan(&v[a..b], n, self.reverse)),
            CpuStorage::F64(v) => CpuStorage::F64(scan(&v[a..b], n, self.reverse)),
            _ => candle_core::bail!("cumsum-last supports f32 and f64"),
        };
        Ok((out, layout.shape().clone()))
    }

    fn bwd(&self, _arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(grad.contiguous()?.apply_op1(Cumsum {
            reverse: !self.reverse,
        })?))
    }
}

/// Cumulative sum over the last dimension, differentiable.
pub fn cumsum_last(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() {
        return x.cumsum(x.rank() - 1);
    }
    x.contiguous()?.apply_op1(Cumsum { reverse: false })
}
