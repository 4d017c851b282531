//! A whole LSTM layer — input projection and recurrence over the sequence — as one CPU op
//! with a hand-written backward pass (backpropagation through time). Step by step in
//! candle's graph, every step's slice of the input projection has a backward that
//! materialises a gradient of the whole sequence (`narrow`), O(T²) memory traffic per
//! sequence; and every (B, T, 4H) tensor in the graph costs candle's backward a zero-filled
//! gradient, an add and a bias reduction. Here the (B, T, 4H) pre-activations never leave
//! the op: the forward pass writes them into one buffer (`x·W_ihᵀ + b`, then each step's
//! `h·W_hhᵀ` added in place), the backward pass walks back once, O(T), and forms the weight
//! gradients as three products. Gate order [i, f, g, o], as the graph version in
//! `blocks::lstm`.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::affine::{add_recurrent_weight_grad, affine, affine_backward, bias, weight};
use super::cpu::{f32_slice, values, Kept};
use super::gemm::{gemm, Mat};
use super::scalar::{sigmoid, tanh};

/// Inputs: `x` (B, T, I), `w` (4H, I + 1) — the input weight with the bias as its last
/// column — and `w_hh` (4H, H). Output: the hidden states (B, T, H). The forward pass keeps
/// its gate activations and cell states for the backward pass (which recomputes them if
/// absent).
#[derive(Default)]
struct LstmLayer {
    trace: Kept<Trace>,
}

/// What the forward pass computed besides its output: cell states (B, T, H) and gate
/// activations (B, T, 4H). (The hidden states are the output, which the backward pass
/// receives.)
struct Trace {
    acts: Vec<f32>,
    cs: Vec<f32>,
}

/// Sizes (B, T, I, H).
type Dims = (usize, usize, usize, usize);

fn dims(x: &Layout, w: &Layout, w_hh: &Layout) -> Result<Dims> {
    let (b, t, i) = x.shape().dims3()?;
    let (h4, i1) = w.shape().dims2()?;
    let (r, h) = w_hh.shape().dims2()?;
    if h4 != 4 * h || r != h4 || i1 != i + 1 {
        candle_core::bail!("lstm: x (B, T, {i}), w ({h4}, {i1}) and w_hh ({r}, {h}) do not match");
    }
    Ok((b, t, i, h))
}

simd_fn! {
/// One step of one sequence: `pre` holds the four gates' pre-activations and becomes their
/// activations; `c` and `hv` receive the new cell and hidden state. Simple passes over
/// contiguous slices, so that each vectorises.
fn cell_fwd(pre: &mut [f32], c_prev: &[f32], c: &mut [f32], hv: &mut [f32]) {
    let h = c.len();
    let (ifg, o) = pre.split_at_mut(3 * h);
    let (i_f, g) = ifg.split_at_mut(2 * h);
    i_f.iter_mut().for_each(|v| *v = sigmoid(*v));
    g.iter_mut().for_each(|v| *v = tanh(*v));
    o.iter_mut().for_each(|v| *v = sigmoid(*v));
    let (i, f) = i_f.split_at(h);
    for ((((c, c_prev), i), f), g) in c.iter_mut().zip(c_prev).zip(i).zip(f).zip(&*g) {
        *c = f * c_prev + i * g;
    }
    for ((hv, c), o) in hv.iter_mut().zip(&*c).zip(&*o) {
        *hv = o * tanh(*c);
    }
}
}

/// Hidden states (B, T, H) and the trace.
fn run(x: &[f32], w: &[f32], w_hh: &[f32], (b, t, i, h): Dims) -> Result<(Vec<f32>, Trace)> {
    let h4 = 4 * h;
    let mut acts = affine(x, weight(w, h4, i), &bias(w, h4, i), b * t)?;
    let w_hh_t = Mat::rows(w_hh, h4, h).t();
    let mut hs = vec![0f32; b * t * h];
    let mut cs = vec![0f32; b * t * h];
    let zeros = vec![0f32; h];
    for s in 0..t {
        if s > 0 {
            // Every sequence's gates at step s += h_{s−1} · W_hhᵀ, rows strided by T.
            let h_prev = Mat {
                data: &hs[(s - 1) * h..],
                rows: b,
                cols: h,
                rs: t * h,
                cs: 1,
            };
            gemm(&mut acts[s * h4..], t * h4, h_prev, w_hh_t, true)?;
        }
        for bi in 0..b {
            let at = (bi * t + s) * h;
            let (done, now) = cs.split_at_mut(at);
            let c_prev = if s > 0 { &done[at - h..] } else { &zeros[..] };
            let pre = &mut acts[(bi * t + s) * h4..(bi * t + s + 1) * h4];
            cell_fwd(pre, c_prev, &mut now[..h], &mut hs[at..at + h]);
        }
    }
    Ok((hs, Trace { acts, cs }))
}

/// Per-step scratch rows (H) of the backward pass.
struct Scratch {
    tc: Vec<f32>,
    dcs: Vec<f32>,
    tmp: Vec<f32>,
}

simd_fn! {
/// One step of one sequence backwards: from the gradient `dh` reaching h_s, the carried
/// `dc` (replaced by the gradient reaching c_{s−1}) and the cell states, turns the four
/// gates' activations `acts` into the gradients of their pre-activations, in place. Simple
/// passes over contiguous slices, so that each vectorises.
fn cell_bwd(
    acts: &mut [f32],
    c: &[f32],
    c_prev: &[f32],
    dh: &[f32],
    dc: &mut [f32],
    sc: &mut Scratch,
) {
    let h = dc.len();
    let (ai, rest) = acts.split_at_mut(h);
    let (af, rest) = rest.split_at_mut(h);
    let (ag, ao) = rest.split_at_mut(h);
    let Scratch { tc, dcs, tmp } = sc;
    for (tc, c) in tc.iter_mut().zip(c) {
        *tc = tanh(*c);
    }
    // dc_s = dh·o·(1 − tanh²c) + dc_{s+1}·f_{s+1} (carried); carry dc_s·f_s.
    for (((((dcs, dc), dh), o), tc), f) in dcs
        .iter_mut()
        .zip(dc.iter_mut())
        .zip(dh)
        .zip(&*ao)
        .zip(&*tc)
        .zip(&*af)
    {
        *dcs = dh * o * (1.0 - tc * tc) + *dc;
        *dc = *dcs * f;
    }
    for (((o, dh), tc), _) in ao.iter_mut().zip(dh).zip(&*tc).zip(0..h) {
        *o = dh * tc * *o * (1.0 - *o);
    }
    for (((f, dcs), cp), _) in af.iter_mut().zip(&*dcs).zip(c_prev).zip(0..h) {
        *f = dcs * cp * *f * (1.0 - *f);
    }
    for (((tmp, dcs), i), g) in tmp.iter_mut().zip(&*dcs).zip(&*ai).zip(&*ag) {
        *tmp = dcs * i * (1.0 - g * g);
    }
    for ((i, dcs), g) in ai.iter_mut().zip(&*dcs).zip(&*ag) {
        *i = dcs * g * *i * (1.0 - *i);
    }
    ag.copy_from_slice(tmp);
}
}

/// Gradients of `x`, `w` (bias column included) and `w_hh` from the hidden states `hs` and
/// the output gradient `gv`; the trace's activations become the pre-activations' gradients.
fn backward(
    x: &[f32],
    w: &[f32],
    w_hh: &[f32],
    hs: &[f32],
    tr: Trace,
    gv: &[f32],
    (b, t, i, h): Dims,
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    let h4 = 4 * h;
    let Trace { acts, cs } = tr;
    let mut dpre = acts;
    // The gradient reaching h_s: the output's, plus (after the first step back) the
    // recurrent one, dpre_{s+1} · W_hh.
    let mut dh = vec![0f32; b * h];
    let mut dc = vec![0f32; b * h];
    let zeros = vec![0f32; h];
    let mut sc = Scratch {
        tc: vec![0f32; h],
        dcs: vec![0f32; h],
        tmp: vec![0f32; h],
    };
    for s in (0..t).rev() {
        if s + 1 < t {
            let next = Mat {
                data: &dpre[(s + 1) * h4..],
                rows: b,
                cols: h4,
                rs: t * h4,
                cs: 1,
            };
            gemm(&mut dh, h, next, Mat::rows(w_hh, h4, h), false)?;
        } else {
            dh.fill(0.0);
        }
        for bi in 0..b {
            let at = (bi * t + s) * h;
            for (d, g) in dh[bi * h..(bi + 1) * h].iter_mut().zip(&gv[at..at + h]) {
                *d += g;
            }
            let c_prev = if s > 0 { &cs[at - h..at] } else { &zeros[..] };
            let row = (bi * t + s) * h4;
            cell_bwd(
                &mut dpre[row..row + h4],
                &cs[at..at + h],
                c_prev,
                &dh[bi * h..(bi + 1) * h],
                &mut dc[bi * h..(bi + 1) * h],
                &mut sc,
            );
        }
    }
    // dW_hh = Σ_b Σ_{s ≥ 1} dpre_{b,s}ᵀ · h_{b,s−1}.
    let mut dw_hh = vec![0f32; h4 * h];
    add_recurrent_weight_grad(&mut dw_hh, h, &dpre, hs, (b, t, h), h4)?;
    let (dx, dw) = affine_backward(&dpre, x, w, b * t, h4, i)?;
    Ok((dx, dw, dw_hh))
}

impl CustomOp3 for LstmLayer {
    fn name(&self) -> &'static str {
        "lstm"
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
        let w_hh = f32_slice(s3, l3, self.name())?;
        let (hs, tr) = run(x, w, w_hh, d)?;
        self.trace.put(tr);
        Ok((CpuStorage::F32(hs), Shape::from((d.0, d.1, d.3))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        w_hh: &Tensor,
        hs: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, i) = x.dims3()?;
        let h = w_hh.dim(1)?;
        let d = (b, t, i, h);
        let grad = grad.contiguous()?;
        let ((xs, xl), (ws, wl)) = (x.storage_and_layout(), w.storage_and_layout());
        let ((us, ul), (gs, gl)) = (w_hh.storage_and_layout(), grad.storage_and_layout());
        let (ys, yl) = hs.storage_and_layout();
        let xv = values(&xs, xl, self.name())?;
        let wv = values(&ws, wl, self.name())?;
        let whv = values(&us, ul, self.name())?;
        let gv = values(&gs, gl, self.name())?;
        let hv = values(&ys, yl, self.name())?;
        let tr = match self.trace.take() {
            Some(tr) => tr,
            None => run(xv, wv, whv, d)?.1,
        };
        let (dx, dw, dw_hh) = backward(xv, wv, whv, hv, tr, gv, d)?;
        let dev = x.device();
        Ok((
            Some(Tensor::from_vec(dx, (b, t, i), dev)?),
            Some(Tensor::from_vec(dw, (4 * h, i + 1), dev)?),
            Some(Tensor::from_vec(dw_hh, (4 * h, h), dev)?),
        ))
    }
}

/// Hidden states (B, T, H) of an LSTM layer with input `x` (B, T, I), input weight `w_ih`
/// (4H, I) and bias `b_ih` (4H), recurrent weight `w_hh` (4H, H), zero initial state;
/// differentiable in all four. CPU and f32 only: callers keep a graph version for other
/// devices.
pub fn lstm_layer(x: &Tensor, w_ih: &Tensor, b_ih: &Tensor, w_hh: &Tensor) -> Result<Tensor> {
    let w = Tensor::cat(&[w_ih, &b_ih.unsqueeze(1)?], 1)?;
    x.contiguous()?
        .apply_op3(&w, &w_hh.contiguous()?, LstmLayer::default())
}
