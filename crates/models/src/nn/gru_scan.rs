//! A whole GRU layer — input projection and recurrence over the sequence — as one CPU op with
//! a hand-written backward pass (backpropagation through time), built like `nn::lstm_scan`:
//! no (B, T, 3H) tensor enters candle's graph (whose backward would zero-fill, add and
//! reduce a gradient for each), per-step products are strided `gemm`s into the op's own
//! buffers, and the elementwise passes vectorise. Gate order [r, z, n] and
//! `h = n + z·(h_prev − n)` with `n = tanh(x_n + r·(W_n h_prev + b_n))`, as the graph
//! version in `blocks::gru`.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::affine::{
    add_recurrent_weight_grad, affine, affine_backward, bias, column_sums, repeat_rows, weight,
};
use super::cpu::{f32_slice, values, Kept};
use super::gemm::{gemm, Mat};
use super::scalar::{sigmoid, tanh};

/// Inputs: `x` (B, T, I), `w` (3H, I + 1) — the input weight with its bias as the last
/// column — and `u` (3H, H + 1) — the recurrent weight with its bias as the last column.
/// Output: the hidden states (B, T, H). The forward pass keeps what the backward pass needs
/// (which recomputes it if absent).
#[derive(Default)]
struct GruLayer {
    trace: Kept<Trace>,
}

/// What the forward pass computed besides its output (the hidden states, which the backward
/// pass receives): the gates r, z, n (B, T, 3H) and the recurrent part of n before the reset
/// gate, `W_n h_prev + b_n` (B, T, H).
struct Trace {
    gates: Vec<f32>,
    hn: Vec<f32>,
}

/// Sizes (B, T, I, H).
type Dims = (usize, usize, usize, usize);

fn dims(x: &Layout, w: &Layout, u: &Layout) -> Result<Dims> {
    let (b, t, i) = x.shape().dims3()?;
    let (h3, i1) = w.shape().dims2()?;
    let (r, h1) = u.shape().dims2()?;
    if h1 == 0 || h3 != 3 * (h1 - 1) || r != h3 || i1 != i + 1 {
        candle_core::bail!("gru: x (B, T, {i}), w ({h3}, {i1}) and u ({r}, {h1}) do not match");
    }
    Ok((b, t, i, h1 - 1))
}

simd_fn! {
    /// One step of one sequence: `pre` holds the input part of the three gates' pre-activations
    /// and becomes the gates r, z, n; `rec` is the recurrent part `W_hh h_prev + b_hh`; `hn`
    /// receives its n part and `hv` the new hidden state. Simple passes over contiguous slices,
    /// so that each vectorises.
    fn cell_fwd(pre: &mut [f32], rec: &[f32], h_prev: &[f32], hn: &mut [f32], hv: &mut [f32]) {
        let h = hv.len();
        let (rz, n) = pre.split_at_mut(2 * h);
        let (rec_rz, rec_n) = rec.split_at(2 * h);
        for (g, r) in rz.iter_mut().zip(rec_rz) {
            *g = sigmoid(*g + r);
        }
        hn.copy_from_slice(rec_n);
        let (r, z) = rz.split_at(h);
        for ((n, r), hn) in n.iter_mut().zip(r).zip(&*hn) {
            *n = tanh(*n + r * hn);
        }
        for (((hv, n), z), p) in hv.iter_mut().zip(&*n).zip(z).zip(h_prev) {
            *hv = n + z * (p - n);
        }
    }
}

/// Hidden states (B, T, H) and the trace.
fn run(x: &[f32], w: &[f32], u: &[f32], (b, t, i, h): Dims) -> Result<(Vec<f32>, Trace)> {
    let h3 = 3 * h;
    let b_ih = bias(w, h3, i);
    let b_hh = bias(u, h3, h);
    let mut gates = affine(x, weight(w, h3, i), &b_ih, b * t)?;
    let w_hh_t = weight(u, h3, h).t();
    let mut hs = vec![0f32; b * t * h];
    let mut hn = vec![0f32; b * t * h];
    // Every sequence's recurrent pre-activations of one step (B, 3H).
    let mut rec = repeat_rows(&b_hh, b);
    let zeros = vec![0f32; h];
    for s in 0..t {
        if s > 0 {
            for row in rec.chunks_exact_mut(h3) {
                row.copy_from_slice(&b_hh);
            }
            let h_prev = Mat {
                data: &hs[(s - 1) * h..],
                rows: b,
                cols: h,
                rs: t * h,
                cs: 1,
            };
            gemm(&mut rec, h3, h_prev, w_hh_t, true)?;
        }
        for bi in 0..b {
            let at = (bi * t + s) * h;
            let (done, now) = hs.split_at_mut(at);
            let h_prev = if s > 0 { &done[at - h..] } else { &zeros[..] };
            cell_fwd(
                &mut gates[(bi * t + s) * h3..(bi * t + s + 1) * h3],
                &rec[bi * h3..(bi + 1) * h3],
                h_prev,
                &mut hn[at..at + h],
                &mut now[..h],
            );
        }
    }
    Ok((hs, Trace { gates, hn }))
}

/// Per-step scratch rows (H) of the backward pass: the gradient reaching h and that of n's
/// pre-activation.
struct Scratch {
    dh: Vec<f32>,
    dn: Vec<f32>,
}

simd_fn! {
    /// One step of one sequence backwards: from the output gradient `gv` of h_s and the carried
    /// gradient `carry` (the recurrent part, replaced by `dh·z`), turns the gates into the
    /// gradients of the input pre-activations in place, and writes the gradients of the
    /// recurrent pre-activations (`W_hh h_prev + b_hh`) into `drec`. Simple passes over contiguous slices, so that each vectorises.
    fn cell_bwd(
        gates: &mut [f32],
        drec: &mut [f32],
        hn: &[f32],
        h_prev: &[f32],
        gv: &[f32],
        carry: &mut [f32],
        sc: &mut Scratch,
    ) {
        let h = carry.len();
        let Scratch { dh, dn } = sc;
        let (r, rest) = gates.split_at_mut(h);
        let (z, n) = rest.split_at_mut(h);
        let (dr_rec, rest) = drec.split_at_mut(h);
        let (dz_rec, dn_rec) = rest.split_at_mut(h);
        for ((dh, g), c) in dh.iter_mut().zip(gv).zip(&*carry) {
            *dh = g + c;
        }
        for (((dn, dh), z), n) in dn.iter_mut().zip(&*dh).zip(&*z).zip(&*n) {
            *dn = dh * (1.0 - z) * (1.0 - n * n);
        }
        // dz = dh·(h_prev − n)·z·(1 − z); carry dh·z to the previous step.
        for ((((z, c), dh), n), p) in z.iter_mut().zip(carry.iter_mut()).zip(&*dh).zip(&*n).zip(h_prev) {
            *c = dh * *z;
            *z = dh * (p - n) * *z * (1.0 - *z);
        }
        // dr = dn·hn·r·(1 − r); the recurrent n part's gradient is dn·r.
        for ((((r, dnr), dn), hn), _) in r.iter_mut().zip(dn_rec.iter_mut()).zip(&*dn).zip(hn).zip(0..h) {
            *dnr = dn * *r;
            *r = dn * hn * *r * (1.0 - *r);
        }
        n.copy_from_slice(dn);
        dr_rec.copy_from_slice(r);
        dz_rec.copy_from_slice(z);
    }
}

/// Gradients of `x`, `w` and `u` (bias columns included) from the hidden states `hs` and the
/// output gradient `gv`; the trace's gates become the input pre-activations' gradients.
fn backward(
    x: &[f32],
    w: &[f32],
    u: &[f32],
    hs: &[f32],
    tr: Trace,
    gv: &[f32],
    (b, t, i, h): Dims,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let h3 = 3 * h;
    let Trace { gates, hn } = tr;
    let mut dxp = gates;
    let mut drec = vec![0f32; b * t * h3];
    // The recurrent gradient reaching h_s from step s + 1: dh·z + drec_{s+1}·W_hh.
    let mut carry = vec![0f32; b * h];
    let mut sc = Scratch {
        dh: vec![0f32; h],
        dn: vec![0f32; h],
    };
    let zeros = vec![0f32; h];
    let w_hh = weight(u, h3, h);
    for s in (0..t).rev() {
        for bi in 0..b {
            let at = (bi * t + s) * h;
            let row = (bi * t + s) * h3;
            let h_prev = if s > 0 { &hs[at - h..at] } else { &zeros[..] };
            cell_bwd(
                &mut dxp[row..row + h3],
                &mut drec[row..row + h3],
                &hn[at..at + h],
                h_prev,
                &gv[at..at + h],
                &mut carry[bi * h..(bi + 1) * h],
                &mut sc,
            );
        }
        if s > 0 {
            let step = Mat {
                data: &drec[s * h3..],
                rows: b,
                cols: h3,
                rs: t * h3,
                cs: 1,
            };
            gemm(&mut carry, h, step, w_hh, true)?;
        }
    }
    // dW_hh = Σ_b Σ_{s ≥ 1} drec_{b,s}ᵀ · h_{b,s−1} into the first H columns of du, the
    // bias' column sums into the last.
    let mut du = vec![0f32; h3 * (h + 1)];
    add_recurrent_weight_grad(&mut du, h + 1, &drec, hs, (b, t, h), h3)?;
    for (k, v) in column_sums(&drec, h3).into_iter().enumerate() {
        du[k * (h + 1) + h] = v;
    }
    // dW_ih (with the bias' column sums) and dx from the input pre-activations' gradients.
    let (dx, dw) = affine_backward(&dxp, x, w, b * t, h3, i)?;
    Ok((dx, dw, du))
}

impl CustomOp3 for GruLayer {
    fn name(&self) -> &'static str {
        "gru"
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
        let x = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let u = f32_slice(s3, l3, self.name())?;
        let (hs, tr) = run(x, w, u, d)?;
        self.trace.put(tr);
        Ok((CpuStorage::F32(hs), Shape::from((d.0, d.1, d.3))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        u: &Tensor,
        hs: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, i) = x.dims3()?;
        let h = u.dim(1)? - 1;
        let d = (b, t, i, h);
        let grad = grad.contiguous()?;
        let ((xs, xl), (ws, wl)) = (x.storage_and_layout(), w.storage_and_layout());
        let ((us, ul), (gs, gl)) = (u.storage_and_layout(), grad.storage_and_layout());
        let xv = values(&xs, xl, self.name())?;
        let wv = values(&ws, wl, self.name())?;
        let uv = values(&us, ul, self.name())?;
        let gv = values(&gs, gl, self.name())?;
        let (ys, yl) = hs.storage_and_layout();
        let hv = values(&ys, yl, self.name())?;
        let tr = match self.trace.take() {
            Some(tr) => tr,
            None => run(xv, wv, uv, d)?.1,
        };
        let (dx, dw, du) = backward(xv, wv, uv, hv, tr, gv, d)?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, (b, t, i), dev)?),
            Some(Tensor::from_vec(dw, (3 * h, i + 1), dev)?),
            Some(Tensor::from_vec(du, (3 * h, h + 1), dev)?),
        ))
    }
}

/// Hidden states (B, T, H) of a GRU layer with input `x` (B, T, I), input weight `w_ih`
/// (3H, I) and bias `b_ih` (3H), recurrent weight `w_hh` (3H, H) and bias `b_hh` (3H), zero
/// initial state; differentiable in all five. CPU and f32 only: callers keep a graph version
/// for other devices.
pub fn gru_layer(
    x: &Tensor,
    w_ih: &Tensor,
    b_ih: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
) -> Result<Tensor> {
    let w = Tensor::cat(&[w_ih, &b_ih.unsqueeze(1)?], 1)?;
    let u = Tensor::cat(&[w_hh, &b_hh.unsqueeze(1)?], 1)?;
    x.contiguous()?.apply_op3(&w, &u, GruLayer::default())
}
