//! `y = x·Wᵀ + b` as one CPU op with a fused backward pass. Composed in candle's graph the
//! bias is a broadcast add whose backward zero-fills and adds a gradient of the whole output
//! and then reduces it over every leading axis with a strided sum (together more than the
//! product itself in a Transformer step); here the bias starts each output row, the product
//! accumulates onto it, and the backward pass is two products and a row sum.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::affine::{affine, column_sums};
use super::cpu::{f32_slice, values};
use super::gemm::{gemm, Mat};

struct LinearOp;

/// (rows, in, out) of `x` (…, in), `w` (out, in) and `b` (out).
fn dims(x: &Layout, w: &Layout, b: &Layout) -> Result<(usize, usize, usize)> {
    let (out, i) = w.shape().dims2()?;
    let xi = x.dims().last().copied().unwrap_or(0);
    if xi != i || b.shape().dims1()? != out {
        candle_core::bail!(
            "linear: x (…, {xi}), w ({out}, {i}) and b ({}) do not match",
            b.shape().elem_count()
        );
    }
    let rows = x.shape().elem_count().checked_div(i).unwrap_or(0);
    Ok((rows, i, out))
}

impl CustomOp3 for LinearOp {
    fn name(&self) -> &'static str {
        "linear"
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
        let (rows, i, out) = dims(l1, l2, l3)?;
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let b = f32_slice(s3, l3, self.name())?;
        let y = affine(x, Mat::rows(w, out, i), b, rows)?;
        let mut shape = l1.dims().to_vec();
        if let Some(last) = shape.last_mut() {
            *last = out;
        }
        Ok((CpuStorage::F32(y), Shape::from(shape)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        b: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (out, i) = w.dims2()?;
        let rows = x.elem_count().checked_div(i).unwrap_or(0);
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
        let mut dx = vec![0f32; rows * i];
        gemm(&mut dx, i, gm, Mat::rows(wv, out, i), false)?;
        let mut dw = vec![0f32; out * i];
        gemm(&mut dw, i, gm.t(), Mat::rows(xv, rows, i), false)?;
        let db = column_sums(g, out);
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dw, (out, i), dev)?),
            Some(Tensor::from_vec(db, out, b.device())?),
        ))
    }
}

/// `x·Wᵀ + b` over the last axis of `x` (…, in), with `w` (out, in) and `b` (out);
/// differentiable in all three. CPU and f32 only.
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    x.contiguous()?
        .apply_op3(&w.contiguous()?, &b.contiguous()?, LinearOp)
}
