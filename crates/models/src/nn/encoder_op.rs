//! The two halves of a pre-norm Transformer encoder layer, each as one CPU op with a fused
//! backward pass: `x + attn(LN(x))` and `x + FFN(LN(x))`. Composed of the separate fused ops
//! (`layernorm`, `linear_op`, `sdpa`, `mlp_op`) and candle's residual add, every tensor between
//! them — the layer norm's output, q|k|v, the attention output, the projection — costs
//! candle's backward pass a zero-filled gradient and an add (`GradStore::or_insert`), and the
//! residual adds are passes of their own: 6 of the 9 gradient accumulations of the layer's
//! activations. Here only the layer's input gets one; the residual path's gradient is added
//! where the layer norm's input gradient is written, and the output starts as the input plus
//! the bias. The parameters come packed into one vector (see [`pack`]).

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};

use super::affine::{affine_backward, bias, weight, weight_grad};
use super::cpu::{f32_slice, values, Kept};
use super::gelu::mul_in_place;
use super::gemm::{gemm, Mat};
use super::layernorm::{backward as ln_backward, normalise};
use super::{mlp_op, sdpa};

/// Layer norm's ε (as `nn::LayerNorm`).
const EPS: f32 = 1e-5;

/// The middle of a half-layer, between its layer norm and its last projection.
#[derive(Clone, Copy)]
enum Kind {
    /// q|k|v projection (3d, d + 1) then attention with this many heads.
    Attention(usize),
    /// (hidden, d + 1) projection then GELU, with this hidden width.
    Ffn(usize),
}

impl Kind {
    /// Columns of the middle's output (the last projection's input) for width `d`.
    fn inner(self, d: usize) -> usize {
        match self {
            Self::Attention(_) => d,
            Self::Ffn(hid) => hid,
        }
    }

    /// Rows of the first projection.
    fn first_rows(self, d: usize) -> usize {
        match self {
            Self::Attention(_) => 3 * d,
            Self::Ffn(hid) => hid,
        }
    }

    /// Length of the packed parameters: LN weight and bias, the first projection with its
    /// bias column, the last projection (d, inner + 1).
    fn params(self, d: usize) -> usize {
        2 * d + self.first_rows(d) * (d + 1) + d * (self.inner(d) + 1)
    }
}

/// `x + last(middle(LN(x)))` over (…, d) — (B, T, d) for attention — with its parameters
/// packed in the second input.
struct HalfLayer {
    kind: Kind,
    kept: Kept<Trace>,
}

/// What the forward pass keeps: the layer norm's output, the middle's output, and for
/// attention q|k|v and its weights, for the FFN GELU's slope.
struct Trace {
    h: Vec<f32>,
    inner: Vec<f32>,
    extra: Extra,
}

enum Extra {
    Attention { qkv: Vec<f32>, w: sdpa::Weights },
    Ffn { slope: Vec<f32> },
}

/// The packed parameters as (LN weight, LN bias, first projection, last projection).
fn split(p: &[f32], kind: Kind, d: usize) -> (&[f32], &[f32], &[f32], &[f32]) {
    let (lnw, rest) = p.split_at(d);
    let (lnb, rest) = rest.split_at(d);
    let (first, last) = rest.split_at(kind.first_rows(d) * (d + 1));
    (lnw, lnb, first, last)
}

impl HalfLayer {
    /// (rows, d), checking the input's shape and the parameters' length.
    fn dims(&self, x: &Layout, p: &Layout) -> Result<(usize, usize)> {
        let d = x.dims().last().copied().unwrap_or(0);
        let rows = x.shape().elem_count().checked_div(d).unwrap_or(0);
        if d == 0 || p.shape().elem_count() != self.kind.params(d) {
            candle_core::bail!(
                "encoder half-layer: input (…, {d}) and {} parameters do not match",
                p.shape().elem_count()
            );
        }
        if let Kind::Attention(heads) = self.kind {
            if x.dims().len() != 3 || heads == 0 || d % heads != 0 {
                candle_core::bail!(
                    "encoder attention: input {:?} is not (B, T, a multiple of {heads})",
                    x.dims()
                );
            }
        }
        Ok((rows, d))
    }

    /// The output and the trace.
    fn run(
        &self,
        x: &[f32],
        p: &[f32],
        xl: &Layout,
        (rows, d): (usize, usize),
    ) -> Result<(Vec<f32>, Trace)> {
        let (lnw, lnb, first, last) = split(p, self.kind, d);
        let mut h = vec![0f32; rows * d];
        normalise(x, lnw, lnb, &mut h, EPS);
        let (inner, extra) = match self.kind {
            Kind::Attention(heads) => {
                let qkv = super::affine::affine(
                    &h,
                    weight(first, 3 * d, d),
                    &bias(first, 3 * d, d),
                    rows,
                )?;
                let t = xl.dims()[1];
                let (y, w) = sdpa::forward(&qkv, (rows / t.max(1), t, d, d / heads), heads)?;
                (y, Extra::Attention { qkv, w })
            }
            Kind::Ffn(hid) => {
                let (slope, z) = mlp_op::hidden(&h, first, (rows, d, hid, d))?;
                (z, Extra::Ffn { slope })
            }
        };
        // The output starts as the input plus the last bias; the product accumulates onto it.
        let n = self.kind.inner(d);
        let b = bias(last, d, n);
        let mut y = Vec::with_capacity(rows * d);
        for row in x.chunks_exact(d) {
            y.extend(row.iter().zip(&b).map(|(v, b)| v + b));
        }
        gemm(
            &mut y,
            d,
            Mat::rows(&inner, rows, n),
            weight(last, d, n).t(),
            true,
        )?;
        Ok((y, Trace { h, inner, extra }))
    }
}

impl CustomOp2 for HalfLayer {
    fn name(&self) -> &'static str {
        "encoder-half-layer"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let dims = self.dims(l1, l2)?;
        let x = f32_slice(s1, l1, self.name())?;
        let p = f32_slice(s2, l2, self.name())?;
        let (y, trace) = self.run(x, p, l1, dims)?;
        self.kept.put(trace);
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        p: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (rows, d) = self.dims(x.layout(), p.layout())?;
        let grad = grad.contiguous()?;
        let ((xs, xl), (ps, pl)) = (x.storage_and_layout(), p.storage_and_layout());
        let (gs, gl) = grad.storage_and_layout();
        let xv = values(&xs, xl, self.name())?;
        let pv = values(&ps, pl, self.name())?;
        let g = values(&gs, gl, self.name())?;
        let Trace {
            h,
            mut inner,
            extra,
        } = match self.kept.take() {
            Some(t) => t,
            None => self.run(xv, pv, xl, (rows, d))?.1,
        };
        let (lnw, _, first, last) = split(pv, self.kind, d);
        let n = self.kind.inner(d);
        let f = self.kind.first_rows(d);
        let d_last = weight_grad(g, &inner, rows, d, n)?;
        // The middle's output gradient g·W_last, back through the middle to the norm's output.
        let (d_h, d_first) = match (self.kind, extra) {
            (Kind::Attention(heads), Extra::Attention { qkv, w }) => {
                let mut dy = vec![0f32; rows * n];
                gemm(&mut dy, n, Mat::rows(g, rows, d), weight(last, d, n), false)?;
                let t = xl.dims()[1];
                let dims = (rows / t.max(1), t, d, d / heads);
                let dqkv = sdpa::backward(&qkv, &inner, &dy, &w, dims, heads)?;
                w.recycle();
                let (dh, dw) = affine_backward(&dqkv, &h, first, rows, f, d)?;
                (dh, dw)
            }
            (Kind::Ffn(_), Extra::Ffn { slope }) => {
                // dz = g·W2 into the activations' buffer, then da = dz ⊙ gelu'(a).
                gemm(
                    &mut inner,
                    n,
                    Mat::rows(g, rows, d),
                    weight(last, d, n),
                    false,
                )?;
                mul_in_place(&mut inner, &slope);
                let (dh, dw) = affine_backward(&inner, &h, first, rows, f, d)?;
                (dh, dw)
            }
            _ => candle_core::bail!("{}: trace of another kind", self.name()),
        };
        // dx = g (the residual path) + the layer norm's input gradient.
        let mut dx = vec![0f32; (rows + 2) * d];
        ln_backward(xv, lnw, &d_h, &mut dx, EPS);
        let mut dp = Vec::with_capacity(self.kind.params(d));
        dp.extend_from_slice(&dx[rows * d..]);
        dp.extend_from_slice(&d_first);
        dp.extend_from_slice(&d_last);
        dx.truncate(rows * d);
        for (a, b) in dx.iter_mut().zip(g) {
            *a += b;
        }
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, x.shape(), dev)?),
            Some(Tensor::from_vec(dp, p.shape(), dev)?),
        ))
    }
}

/// A weight (out, in) and its bias (out) as the (out, in + 1) matrix the fused ops read,
/// flattened.
fn weight_and_bias(w: &Tensor, b: &Tensor) -> Result<Tensor> {
    Tensor::cat(&[w, &b.unsqueeze(1)?], 1)?.flatten_all()
}

/// The packed parameters: LN weight and bias, then each projection with its bias column.
fn pack(
    ln: (&Tensor, &Tensor),
    first: (&Tensor, &Tensor),
    last: (&Tensor, &Tensor),
) -> Result<Tensor> {
    Tensor::cat(
        &[
            ln.0.flatten_all()?,
            ln.1.flatten_all()?,
            weight_and_bias(first.0, first.1)?,
            weight_and_bias(last.0, last.1)?,
        ],
        0,
    )
}

/// `x + out(attention(qkv(LN(x))))` over `x` (B, T, d) with `heads` heads: the layer norm
/// `ln` (weight, bias), the q|k|v projection `qkv` (3d, d) with bias (3d), the output
/// projection `out` (d, d) with bias (d). Differentiable in every input. CPU and f32 only.
pub fn attention_half(
    x: &Tensor,
    ln: (&Tensor, &Tensor),
    qkv: (&Tensor, &Tensor),
    out: (&Tensor, &Tensor),
    heads: usize,
) -> Result<Tensor> {
    let p = pack(ln, qkv, out)?;
    x.contiguous()?.apply_op2(
        &p,
        HalfLayer {
            kind: Kind::Attention(heads),
            kept: Kept::default(),
        },
    )
}

/// `x + W2·gelu(W1·LN(x) + b1) + b2` over the last axis of `x` (…, d): the layer norm `ln`
/// (weight, bias), `fc1` (hidden, d) with bias, `fc2` (d, hidden) with bias. Differentiable
/// in every input. CPU and f32 only.
pub fn ffn_half(
    x: &Tensor,
    ln: (&Tensor, &Tensor),
    fc1: (&Tensor, &Tensor),
    fc2: (&Tensor, &Tensor),
) -> Result<Tensor> {
    let hid = fc1.0.dim(0)?;
    let p = pack(ln, fc1, fc2)?;
    x.contiguous()?.apply_op2(
        &p,
        HalfLayer {
            kind: Kind::Ffn(hid),
            kept: Kept::default(),
        },
    )
}
