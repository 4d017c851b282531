//! A two-layer GELU MLP, `y = gelu(x·W1ᵀ + b1)·W2ᵀ + b2`, as one CPU op with a fused
//! backward pass: the (…, hidden) pre-activations and activations — the widest tensors of
//! a Transformer layer — stay inside the op instead of each costing candle's backward pass
//! a zero-filled gradient and an add. The forward pass keeps GELU's slope beside the
//! activations, so the backward pass multiplies by it (no second `tanh`).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::affine::{affine, affine_backward, bias, weight, weight_grad};
use super::cpu::{f32_slice, values, Kept};
use super::gelu::{gelu_and_slope, mul_in_place};
use super::gemm::{gemm, Mat};

/// Inputs `x` (…, in), `w1` (hidden, in + 1) and `w2` (out, hidden + 1), each weight with
/// its bias as the last column. Keeps the hidden activations and GELU's slope there.
#[derive(Default)]
struct GeluMlp {
    kept: Kept<(Vec<f32>, Vec<f32>)>,
}

/// (rows, in, hidden, out).
pub(crate) type Dims = (usize, usize, usize, usize);

fn dims(x: &Layout, w1: &Layout, w2: &Layout) -> Result<Dims> {
    let (hid, i1) = w1.shape().dims2()?;
    let (out, h1) = w2.shape().dims2()?;
    let i = x.dims().last().copied().unwrap_or(0);
    if i1 != i + 1 || h1 != hid + 1 {
        candle_core::bail!("gelu-mlp: x (…, {i}), w1 ({hid}, {i1}), w2 ({out}, {h1}) do not match");
    }
    let rows = x.shape().elem_count().checked_div(i).unwrap_or(0);
    Ok((rows, i, hid, out))
}

/// GELU's slope at the hidden pre-activations, and the hidden activations.
pub(crate) fn hidden(
    x: &[f32],
    w1: &[f32],
    (rows, i, hid, _): Dims,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let mut z = affine(x, weight(w1, hid, i), &bias(w1, hid, i), rows)?;
    let mut slope = vec![0f32; z.len()];
    gelu_and_slope(&mut z, &mut slope);
    Ok((slope, z))
}

impl CustomOp3 for GeluMlp {
    fn name(&self) -> &'static str {
        "gelu-mlp"
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
        let d = dims(l1, l2, l3)?;
        let (rows, _, hid, out) = d;
        let x = f32_slice(s1, l1, self.name())?;
        let w1 = f32_slice(s2, l2, self.name())?;
        let w2 = f32_slice(s3, l3, self.name())?;
        let (slope, z) = hidden(x, w1, d)?;
        let y = affine(&z, weight(w2, out, hid), &bias(w2, out, hid), rows)?;
        self.kept.put((slope, z));
        let mut shape = l1.dims().to_vec();
        if let Some(last) = shape.last_mut() {
            *last = out;
        }
        Ok((CpuStorage::F32(y), Shape::from(shape)))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w1: &Tensor,
        w2: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let d = dims(x.layout(), w1.layout(), w2.layout())?;
        let (rows, i, hid, out) = d;
        let grad = grad.contiguous()?;
        let ((xs, xl), (w1s, w1l)) = (x.storage_and_layout(), w1.storage_and_layout());
        let ((w2s, w2l), (gs, gl)) = (w2.storage_and_layout(), grad.storage_and_layout());
        let xv = values(&xs, xl, self.name())?;
        let w1v = values(&w1s, w1l, self.name())?;
        let w2v = values(&w2s, w2l, self.name())?;
        let g = values(&gs, gl, self.name())?;
        let (slope, z) = match self.kept.take() {
            Some(k) => k,
            None => hidden(xv, w1v, d)?,
        };
        let dw2 = weight_grad(g, &z, rows, out, hid)?;
        // dz = g·W2, then da = dz ⊙ gelu'(a) in place.
        let mut da = z;
        gemm(
            &mut da,
            hid,
            Mat::rows(g, rows, out),
            weight(w2v, out, hid),
            false,
        )?;
        mul_in_place(&mut da, &slope);
        let (dx, dw1) = affine_backward(&da, xv, w1v, rows, hid, i)?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dw1, (hid, i + 1), dev)?),
            Some(Tensor::from_vec(dw2, (out, hid + 1), dev)?),
        ))
    }
}

/// `gelu(x·W1ᵀ + b1)·W2ᵀ + b2` over the last axis of `x`; differentiable in all five.
/// CPU and f32 only.
pub fn gelu_mlp(x: &Tensor, w1: &Tensor, b1: &Tensor, w2: &Tensor, b2: &Tensor) -> Result<Tensor> {
    let w1 = Tensor::cat(&[w1, &b1.unsqueeze(1)?], 1)?;
    let w2 = Tensor::cat(&[w2, &b2.unsqueeze(1)?], 1)?;
    x.contiguous()?.apply_op3(&w1, &w2, GeluMlp::default())
}
