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
    slope_from_tanh(v, tanh(C * (v + A * v * v * v)))
}

/// GELU's derivative at `v` from `t` = tanh(C·(v + A·v³)).
#[inline(always)]
fn slope_from_tanh(v: f32, t: f32) -> f32 {
    0.5 * (1.0 + t) + 0.5 * v * (1.0 - t * t) * C * (1.0 + 3.0 * A * v * v)
}

simd_fn! {
    /// `z ← gelu(z)` and `slope ← gelu'(z)` (of the input `z`) for every value, one `tanh`
    /// for both — the same bits as [`gelu_in_place`] and [`gelu_slope`]: a fused op keeps
    /// the slope and its backward pass is one product.
    pub fn gelu_and_slope(z: &mut [f32], slope: &mut [f32]) {
        for (x, s) in z.iter_mut().zip(slope.iter_mut()) {
            let v = *x;
            let t = tanh(C * (v + A * v * v * v));
            *x = 0.5 * v * (1.0 + t);
            *s = slope_from_tanh(v, t);
        }
    }
}

simd_fn! {
    /// `g ← g ⊙ s` elementwise (`g` and `s` of one length).
    pub fn mul_in_place(g: &mut [f32], s: &[f32]) {
        for (d, &v) in g.iter_mut().zip(s) {
            *d *= v;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_gelu_and_slope_give_the_bits_of_the_separate_ones() {
        let x: Vec<f32> = (0..1037).map(|i| (i as f32 * 0.61).sin() * 6.0).collect();
        let (mut z, mut slope) = (x.clone(), vec![0f32; x.len()]);
        gelu_and_slope(&mut z, &mut slope);
        let mut want = x.clone();
        gelu_in_place(&mut want);
        for (i, &v) in x.iter().enumerate() {
            assert_eq!(z[i].to_bits(), want[i].to_bits(), "gelu at {v}");
            assert_eq!(slope[i].to_bits(), gelu_slope(v).to_bits(), "slope at {v}");
        }
        let mut g = vec![2f32; x.len()];
        mul_in_place(&mut g, &slope);
        assert!(g.iter().zip(&slope).all(|(a, s)| *a == 2.0 * s));
    }
}
