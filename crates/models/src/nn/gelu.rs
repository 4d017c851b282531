//! GELU (tanh approximation, as candle's `gelu`) as one fused CPU op with a fused backward
//! pass: candle's backward of `gelu` takes about ten tensor passes (two `powf`, a `tanh`).
//! Off the CPU it falls back to candle's op.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, Layout, Result, Shape, Tensor};

use super::cpu::f32_slice;
use super::scalar::tanh;

const C: f32 = 0.797_884_6; // sqrt(2/π)
const A: f32 = 0.044_715;

struct Gelu;

/// GELU of one value.
#[inline(always)]
pub fn gelu_value(v: f32) -> f32 {
    0.5 * v * (1.0 + tanh(C * (v + A * v * v * v)))
}

simd_fn! {
    /// `v ← gelu(v)` for every value.
    pub fn gelu_in_place(v: &mut [f32]) {
        v.iter_mut().for_each(|x| *x = gelu_value(*x));
    }
}

simd_fn! {
    /// `g ← g · gelu'(x)` elementwise (`g` and `x` of one length).
    pub fn gelu_grad_in_place(g: &mut [f32], x: &[f32]) {
        for (d, &v) in g.iter_mut().zip(x) {
            *d *= gelu_slope(v);
        }
    }
}

/// The derivative of GELU at `v`.
#[inline(always)]
pub fn gelu_slope(v: f32) -> f32 {
    let t = tanh(C * (v + A * v * v * v));
    0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * C * (1.0 + 3.0 * A * v * v)
}

/// `dx = g · gelu'(x)` from the input `x` and the gradient `g`.
struct GeluBwd;

impl CustomOp1 for Gelu {
    fn name(&self) -> &'static str {
        "gelu-fused"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s, l, self.name())?;
        let mut y = x.to_vec();
        gelu_in_place(&mut y);
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    fn bwd(&self, x: &Tensor, _y: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(x.apply_op2_no_bwd(&g.contiguous()?, &GeluBwd)?))
    }
}

impl CustomOp2 for GeluBwd {
    fn name(&self) -> &'static str {
        "gelu-fused-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let x = f32_slice(s1, l1, self.name())?;
        let g = f32_slice(s2, l2, self.name())?;
        if x.len() != g.len() {
            candle_core::bail!("{}: shapes differ", self.name());
        }
        let mut dx = g.to_vec();
        gelu_grad_in_place(&mut dx, x);
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }
}

/// GELU (tanh approximation), differentiable.
pub fn gelu(x: &Tensor) -> Result<Tensor> {
    if !x.device().is_cpu() || x.dtype() != candle_core::DType::F32 {
        return x.gelu();
    }
    x.contiguous()?.apply_op1(Gelu)
}
