//! Mamba's causal depthwise convolution followed by SiLU, as one CPU op with a hand-written
//! backward pass. Candle runs a grouped convolution as one convolution per channel (split,
//! convolve, concatenate), whose backward pass writes a zero-padded gradient of the whole
//! input for every channel; here each output row is K multiply-adds over rows of channels.
//! `y[b, t, c] = silu(bias[c] + Σ_j w[c, j] · x[b, t − (K − 1) + j, c])`, x zero before t = 0
//! (candle's `conv1d` over the input padded with K − 1 zeros on the left).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Storage, Tensor};

use super::cpu::{f32_slice, values, Kept};
use super::scalar::sigmoid;

/// Inputs: `x` (B, T, C) — rows of C contiguous values, evenly spaced (a `narrow` of the
/// last dimension is accepted) —, `w` (C, K) and `bias` (C). Output (B, T, C). The forward
/// pass keeps the pre-activations for the backward pass (which recomputes them if absent).
#[derive(Default)]
struct CausalConvSilu {
    pre: Kept<Vec<f32>>,
}

/// Sizes (B, T, C, K).
type Dims = (usize, usize, usize, usize);

/// The x values as (B·T) rows of C at a row stride, and that stride.
fn rows<'a>(s: &'a CpuStorage, l: &Layout) -> Result<(&'a [f32], usize)> {
    let (b, t, c) = l.shape().dims3()?;
    let st = l.stride();
    if st[2] != 1 || st[0] != t * st[1] || st[1] < c {
        candle_core::bail!("causal-conv: x needs evenly spaced rows of contiguous channels");
    }
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("causal-conv supports f32 only");
    };
    let start = l.start_offset();
    let len = if b * t == 0 {
        0
    } else {
        (b * t - 1) * st[1] + c
    };
    match v.get(start..start + len) {
        Some(x) => Ok((x, st[1])),
        None => candle_core::bail!("causal-conv: x lies outside its storage"),
    }
}

simd_fn! {
    /// The pre-activations (B·T, C) of contiguous rows: the bias plus each tap times its
    /// earlier input row. `wt` is the weight transposed, (K, C).
    fn convolve(x: &[f32], rs: usize, wt: &[f32], bias: &[f32], dims: Dims, pre: &mut [f32]) {
        let (b, t, c, k) = dims;
        for bi in 0..b {
            for s in 0..t {
                let out = &mut pre[(bi * t + s) * c..][..c];
                out.copy_from_slice(bias);
                for j in 0..k {
                    // Tap j reads step s − (K − 1) + j.
                    let Some(src) = (s + j).checked_sub(k - 1) else {
                        continue;
                    };
                    let xr = &x[(bi * t + src) * rs..][..c];
                    for ((o, w), xv) in out.iter_mut().zip(&wt[j * c..][..c]).zip(xr) {
                        *o += w * xv;
                    }
                }
            }
        }
    }
}

simd_fn! {
    /// y = u·σ(u), in place.
    fn silu_in_place(u: &mut [f32]) {
        for v in u.iter_mut() {
            *v *= sigmoid(*v);
        }
    }
}

simd_fn! {
    /// The gradient of the pre-activations, in place of `pre`: g·σ(u)·(1 + u·(1 − σ(u))).
    fn silu_grad(pre: &mut [f32], g: &[f32]) {
        for (u, g) in pre.iter_mut().zip(g) {
            let s = sigmoid(*u);
            *u = g * s * (1.0 + *u * (1.0 - s));
        }
    }
}

/// The gradients of x (B·T, C), of the transposed weight (K, C) and of the bias (C).
struct Grads {
    dx: Vec<f32>,
    dwt: Vec<f32>,
    db: Vec<f32>,
}

simd_fn! {
    /// From the pre-activations' gradient `du` (B·T, C), adds to the gradients `gr`.
    fn backward(x: &[f32], rs: usize, wt: &[f32], du: &[f32], dims: Dims, gr: &mut Grads) {
        let (b, t, c, k) = dims;
        let Grads { dx, dwt, db } = gr;
        for bi in 0..b {
            for s in 0..t {
                let g = &du[(bi * t + s) * c..][..c];
                for (d, g) in db.iter_mut().zip(g) {
                    *d += g;
                }
                for j in 0..k {
                    let Some(src) = (s + j).checked_sub(k - 1) else {
                        continue;
                    };
                    let row = bi * t + src;
                    let xr = &x[row * rs..][..c];
                    for ((d, g), xv) in dwt[j * c..][..c].iter_mut().zip(g).zip(xr) {
                        *d += g * xv;
                    }
                    for ((d, g), w) in dx[row * c..][..c].iter_mut().zip(g).zip(&wt[j * c..][..c]) {
                        *d += g * w;
                    }
                }
            }
        }
    }
}

/// The weight (C, K) transposed to (K, C).
fn transposed(w: &[f32], c: usize, k: usize) -> Vec<f32> {
    let mut wt = vec![0f32; c * k];
    for ci in 0..c {
        for j in 0..k {
            wt[j * c + ci] = w[ci * k + j];
        }
    }
    wt
}

fn dims(x: &Layout, w: &Layout, bias: &Layout) -> Result<Dims> {
    let (b, t, c) = x.shape().dims3()?;
    let (cw, k) = w.shape().dims2()?;
    if cw != c || k == 0 || bias.shape().dims() != [c] {
        candle_core::bail!("causal-conv: x (B, T, {c}), w ({cw}, {k}) and bias do not match");
    }
    Ok((b, t, c, k))
}

impl CustomOp3 for CausalConvSilu {
    fn name(&self) -> &'static str {
        "causal-conv"
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
        let (b, t, c, k) = d;
        let (x, rs) = rows(s1, l1)?;
        let w = f32_slice(s2, l2, self.name())?;
        let bias = f32_slice(s3, l3, self.name())?;
        let mut pre = vec![0f32; b * t * c];
        convolve(x, rs, &transposed(w, c, k), bias, d, &mut pre);
        let mut y = pre.clone();
        silu_in_place(&mut y);
        self.pre.put(pre);
        Ok((CpuStorage::F32(y), Shape::from((b, t, c))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        bias: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, c) = x.dims3()?;
        let k = w.dim(1)?;
        let d = (b, t, c, k);
        let grad = grad.contiguous()?;
        let ((xs, xl), (ws, wl)) = (x.storage_and_layout(), w.storage_and_layout());
        let ((bs, bl), (gs, gl)) = (bias.storage_and_layout(), grad.storage_and_layout());
        let (xv, rs) = match &*xs {
            Storage::Cpu(s) => rows(s, xl)?,
            _ => candle_core::bail!("causal-conv runs on the CPU only"),
        };
        let wt = transposed(values(&ws, wl, self.name())?, c, k);
        let gv = values(&gs, gl, self.name())?;
        let mut du = match self.pre.take() {
            Some(pre) => pre,
            None => {
                let mut pre = vec![0f32; b * t * c];
                convolve(xv, rs, &wt, values(&bs, bl, self.name())?, d, &mut pre);
                pre
            }
        };
        silu_grad(&mut du, gv);
        let mut gr = Grads {
            dx: vec![0f32; b * t * c],
            dwt: vec![0f32; k * c],
            db: vec![0f32; c],
        };
        backward(xv, rs, &wt, &du, d, &mut gr);
        let Grads { dx, dwt, db } = gr;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, (b, t, c), dev)?),
            Some(Tensor::from_vec(transposed(&dwt, k, c), (c, k), dev)?),
            Some(Tensor::from_vec(db, c, dev)?),
        ))
    }
}

/// `silu(causal depthwise conv1d(x))` over time: `x` (B, T, C), `w` (C, 1, K) or (C, K) and
/// `bias` (C) → (B, T, C); differentiable in all three. CPU and f32 only: callers keep a
/// graph version for other devices.
pub fn causal_conv_silu(x: &Tensor, w: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let c = w.dim(0)?;
    let k = w.elem_count() / c.max(1);
    let evenly_spaced = match (x.layout().stride(), x.dims()) {
        ([s0, s1, 1], [_, t, c]) => *s0 == t * s1 && s1 >= c,
        _ => false,
    };
    let x = if evenly_spaced {
        x.clone()
    } else {
        x.contiguous()?
    };
    x.apply_op3(
        &w.reshape((c, k))?.contiguous()?,
        &bias.contiguous()?,
        CausalConvSilu::default(),
    )
}
