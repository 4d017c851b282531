//! The gated activation of WaveNet / TCN layers, `tanh(f)·σ(g)` for the two halves (f, g) of
//! the last axis, as one CPU op with a fused backward pass. Composed in candle's graph it is
//! two strided narrows, libm's `tanhf` and `expf` per element and a product, and its backward
//! pass half a dozen more tensor passes (a quarter of a TCN training step). Off the CPU it
//! falls back to the composed ops.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, DType, Layout, Result, Shape, Tensor};

use super::cpu::f32_slice;
use super::layers::sigmoid as sigmoid_op;
use super::scalar::{sigmoid, tanh};

simd_fn! {
    /// `z = tanh(f)·σ(g)` for one row: `y` holds f then g, `z` has half its length.
    fn gate_row(y: &[f32], z: &mut [f32]) {
        let (f, g) = y.split_at(z.len());
        for ((z, f), g) in z.iter_mut().zip(f).zip(g) {
            *z = tanh(*f) * sigmoid(*g);
        }
    }
}

simd_fn! {
    /// The gradient of one row's `y` (f then g) from the gradient `dz` of its output.
    fn gate_grad_row(y: &[f32], dz: &[f32], dy: &mut [f32]) {
        let h = dz.len();
        let (f, g) = y.split_at(h);
        let (df, dg) = dy.split_at_mut(h);
        for ((((df, dg), f), g), dz) in df.iter_mut().zip(dg.iter_mut()).zip(f).zip(g).zip(dz) {
            let (t, s) = (tanh(*f), sigmoid(*g));
            *df = dz * s * (1.0 - t * t);
            *dg = dz * t * s * (1.0 - s);
        }
    }
}

struct Gate;

struct GateBwd;

/// The last axis (even, 2h) and h.
fn halves(l: &Layout, op: &str) -> Result<(usize, usize)> {
    let n = l.dims().last().copied().unwrap_or(0);
    if n % 2 != 0 {
        candle_core::bail!("{op}: last axis {n} is not even");
    }
    Ok((n, n / 2))
}

impl CustomOp1 for Gate {
    fn name(&self) -> &'static str {
        "tanh-gate"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, h) = halves(l, self.name())?;
        let y = f32_slice(s, l, self.name())?;
        let rows = y.len().checked_div(n).unwrap_or(0);
        let mut z = vec![0f32; rows * h];
        if h > 0 {
            for (y, z) in y.chunks_exact(n).zip(z.chunks_exact_mut(h)) {
                gate_row(y, z);
            }
        }
        let mut shape = l.dims().to_vec();
        if let Some(last) = shape.last_mut() {
            *last = h;
        }
        Ok((CpuStorage::F32(z), Shape::from(shape)))
    }

    fn bwd(&self, y: &Tensor, _z: &Tensor, g: &Tensor) -> Result<Option<Tensor>> {
        Ok(Some(y.apply_op2_no_bwd(&g.contiguous()?, &GateBwd)?))
    }
}

impl CustomOp2 for GateBwd {
    fn name(&self) -> &'static str {
        "tanh-gate-bwd"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, h) = halves(l1, self.name())?;
        let y = f32_slice(s1, l1, self.name())?;
        let dz = f32_slice(s2, l2, self.name())?;
        if dz.len() * 2 != y.len() {
            candle_core::bail!("{}: shapes differ", self.name());
        }
        let mut dy = vec![0f32; y.len()];
        if h > 0 {
            for ((y, dz), dy) in y
                .chunks_exact(n)
                .zip(dz.chunks_exact(h))
                .zip(dy.chunks_exact_mut(n))
            {
                gate_grad_row(y, dz, dy);
            }
        }
        Ok((CpuStorage::F32(dy), l1.shape().clone()))
    }
}

/// `tanh(f)·σ(g)` for `y` = (…, 2h) holding f then g along the last axis: (…, h);
/// differentiable, contiguous.
pub fn tanh_gate(y: &Tensor) -> Result<Tensor> {
    if y.device().is_cpu() && y.dtype() == DType::F32 {
        return y.contiguous()?.apply_op1(Gate);
    }
    tanh_gate_graph(y)
}

/// [`tanh_gate`] in candle's graph: used off the CPU; the reference the fused op is tested
/// against.
pub fn tanh_gate_graph(y: &Tensor) -> Result<Tensor> {
    let h = y.dims().last().copied().unwrap_or(0) / 2;
    let last = y.rank().saturating_sub(1);
    let f = y.narrow(last, 0, h)?.tanh()?;
    let g = sigmoid_op(&y.narrow(last, h, h)?)?;
    f * g
}
