//! `acc + w[:, i] ⊙ y` — each sample's `y` scaled by its own weight, added to `acc` — as one
//! CPU op (TimesNet's amplitude-weighted sum of its period branches). Composed in candle's
//! graph it is a broadcast product and an add, whose backward passes zero-fill and add two
//! gradients of the whole output and reduce the weight's gradient with a strided broadcast
//! sum. Off the CPU it falls back to the composed ops.

use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Tensor};

use super::cpu::{dot, f32_slice, values};

/// Column `i` of the (B, k) weights scales sample b of `y`.
struct ScaledAdd {
    i: usize,
}

/// (B, per-sample values, k) of `acc`, `y` (same shape, B leading) and `w` (B, k).
fn dims(acc: &Layout, y: &Layout, w: &Layout, i: usize) -> Result<(usize, usize, usize)> {
    let (b, k) = w.shape().dims2()?;
    let n = acc.shape().elem_count();
    if acc.dims() != y.dims() || acc.dims().first() != Some(&b) || i >= k {
        candle_core::bail!(
            "scaled add: acc {:?}, y {:?} and weights ({b}, {k}) at column {i} do not match",
            acc.dims(),
            y.dims()
        );
    }
    Ok((b, n.checked_div(b).unwrap_or(0), k))
}

impl CustomOp3 for ScaledAdd {
    fn name(&self) -> &'static str {
        "scaled-add"
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
        let (_, n, k) = dims(l1, l2, l3, self.i)?;
        let acc = f32_slice(s1, l1, self.name())?;
        let y = f32_slice(s2, l2, self.name())?;
        let w = f32_slice(s3, l3, self.name())?;
        let mut out = acc.to_vec();
        if n > 0 {
            for ((o, y), w) in out
                .chunks_exact_mut(n)
                .zip(y.chunks_exact(n))
                .zip(w.chunks_exact(k))
            {
                let s = w[self.i];
                for (o, y) in o.iter_mut().zip(y) {
                    *o += s * y;
                }
            }
        }
        Ok((CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        acc: &Tensor,
        y: &Tensor,
        w: &Tensor,
        _out: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, k) = w.dims2()?;
        let n = acc.elem_count().checked_div(b).unwrap_or(0);
        let grad = grad.contiguous()?;
        let ((ys, yl), (ws, wl), (gs, gl)) = (
            y.storage_and_layout(),
            w.storage_and_layout(),
            grad.storage_and_layout(),
        );
        let yv = values(&ys, yl, self.name())?;
        let wv = values(&ws, wl, self.name())?;
        let g = values(&gs, gl, self.name())?;
        let mut dy = vec![0f32; b * n];
        let mut dw = vec![0f32; b * k];
        if n > 0 {
            for (bi, ((dy, g), y)) in dy
                .chunks_exact_mut(n)
                .zip(g.chunks_exact(n))
                .zip(yv.chunks_exact(n))
                .enumerate()
            {
                let s = wv[bi * k + self.i];
                for (d, g) in dy.iter_mut().zip(g) {
                    *d = s * g;
                }
                dw[bi * k + self.i] = dot(g, y);
            }
        }
        Ok((
            Some(grad.clone()),
            Some(Tensor::from_vec(dy, y.shape(), y.device())?),
            Some(Tensor::from_vec(dw, (b, k), w.device())?),
        ))
    }
}

/// `acc + w[:, i] ⊙ y` for `acc` and `y` of one shape (B, …) and weights `w` (B, k): sample
/// b of `y` scaled by `w[b, i]`; differentiable in all three. One op on the CPU (f32).
pub fn scaled_add(acc: &Tensor, y: &Tensor, w: &Tensor, i: usize) -> Result<Tensor> {
    if acc.device().is_cpu() && acc.dtype() == DType::F32 {
        return acc
            .contiguous()?
            .apply_op3(&y.contiguous()?, &w.contiguous()?, ScaledAdd { i });
    }
    scaled_add_graph(acc, y, w, i)
}

/// [`scaled_add`] in candle's graph (a broadcast product and an add): used off the CPU; the
/// reference the fused op is tested against.
pub fn scaled_add_graph(acc: &Tensor, y: &Tensor, w: &Tensor, i: usize) -> Result<Tensor> {
    let mut shape = vec![w.dim(0)?];
    shape.resize(y.rank(), 1);
    acc + y.broadcast_mul(&w.narrow(1, i, 1)?.reshape(shape)?)?
}
