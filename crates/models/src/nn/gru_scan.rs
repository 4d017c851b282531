//! The GRU recurrence over a whole sequence as one CPU op with a hand-written backward pass
//! (backpropagation through time), for the same reason as `nn::lstm_scan`: step by step in
//! candle's graph every step's `narrow` has an O(T) backward. Gate order [r, z, n] and
//! `h = n + z·(h_prev − n)` with `n = tanh(x_n + r·(W_n h_prev + b_n))`, as the graph
//! version in `blocks::gru`.

use candle_core::{CpuStorage, CustomOp3, Device, Layout, Result, Shape, Tensor};

use super::cpu::{f32_slice, mm, previous_states, Kept};
use super::scalar::{sigmoid, tanh};

/// Inputs: `xp` (B, T, 3H) — the input projection of every step, its bias included —,
/// `w_hh` (3H, H) and `b_hh` (3H). Output: the hidden states (B, T, H). The forward pass
/// keeps what the backward pass needs (which recomputes it if absent).
#[derive(Default)]
struct GruScan {
    trace: Kept<Trace>,
}

/// Hidden states (B, T, H), the gates r, z, n (B, T, 3H) and the recurrent part of n before
/// the reset gate, `W_n h_prev + b_n` (B, T, H).
struct Trace {
    hs: Vec<f32>,
    gates: Vec<f32>,
    hn: Vec<f32>,
}

fn run(
    xp: &[f32],
    w_hh_t: &Tensor,
    b_hh: &[f32],
    (b, t, h): (usize, usize, usize),
) -> Result<Trace> {
    let h3 = 3 * h;
    let mut hs = vec![0f32; b * t * h];
    let mut gates = vec![0f32; b * t * h3];
    let mut hn = vec![0f32; b * t * h];
    let mut hp = vec![0f32; b * h];
    for s in 0..t {
        let rec = mm(&hp, b, h, w_hh_t)?; // (B, 3H), without the bias
        for bi in 0..b {
            let row = (bi * t + s) * h3;
            let at = (bi * t + s) * h;
            let g = &rec[bi * h3..(bi + 1) * h3];
            for j in 0..h {
                let r = sigmoid(xp[row + j] + g[j] + b_hh[j]);
                let z = sigmoid(xp[row + h + j] + g[h + j] + b_hh[h + j]);
                let rn = g[2 * h + j] + b_hh[2 * h + j];
                let n = tanh(xp[row + 2 * h + j] + r * rn);
                let prev = hp[bi * h + j];
                let hv = n + z * (prev - n);
                hp[bi * h + j] = hv;
                hs[at + j] = hv;
                hn[at + j] = rn;
                gates[row + j] = r;
                gates[row + h + j] = z;
                gates[row + 2 * h + j] = n;
            }
        }
    }
    Ok(Trace { hs, gates, hn })
}

fn dims(xp: &Layout, w: &Layout, bias: &Layout) -> Result<(usize, usize, usize)> {
    let (b, t, h3) = xp.shape().dims3()?;
    let (r, h) = w.shape().dims2()?;
    if h3 != 3 * h || r != h3 || bias.shape().elem_count() != h3 {
        candle_core::bail!("gru-scan: xp (B, T, {h3}), w_hh ({r}, {h}) and b_hh do not match");
    }
    Ok((b, t, h))
}

impl CustomOp3 for GruScan {
    fn name(&self) -> &'static str {
        "gru-scan"
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
        let (b, t, h) = dims(l1, l2, l3)?;
        let xp = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let bias = f32_slice(s3, l3, self.name())?;
        let w_hh_t = Tensor::from_slice(w, (3 * h, h), &Device::Cpu)?
            .t()?
            .contiguous()?;
        let tr = run(xp, &w_hh_t, bias, (b, t, h))?;
        let hs = tr.hs.clone();
        self.trace.put(tr);
        Ok((CpuStorage::F32(hs), Shape::from((b, t, h))))
    }

    fn bwd(
        &self,
        xp: &Tensor,
        w_hh: &Tensor,
        b_hh: &Tensor,
        _hs: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, h3) = xp.dims3()?;
        let h = h3 / 3;
        let gv: Vec<f32> = grad.flatten_all()?.to_vec1()?;
        let w_hh = w_hh.contiguous()?;
        let kept = self.trace.take();
        let tr = match kept {
            Some(tr) => tr,
            None => {
                let xv: Vec<f32> = xp.flatten_all()?.to_vec1()?;
                let bv: Vec<f32> = b_hh.flatten_all()?.to_vec1()?;
                run(&xv, &w_hh.t()?.contiguous()?, &bv, (b, t, h))?
            }
        };
        // d(pre-activation) of [r, z, n] per step: the gradient of xp; the gradient of the
        // recurrent product W_hh h_prev + b_hh differs only in the n part (times r).
        let mut dxp = vec![0f32; b * t * h3];
        let mut drec = vec![0f32; b * t * h3];
        let mut dh_next = vec![0f32; b * h];
        for s in (0..t).rev() {
            for bi in 0..b {
                let row = (bi * t + s) * h3;
                let at = (bi * t + s) * h;
                for j in 0..h {
                    let (r, z, n) = (
                        tr.gates[row + j],
                        tr.gates[row + h + j],
                        tr.gates[row + 2 * h + j],
                    );
                    let prev = if s > 0 { tr.hs[at - h + j] } else { 0.0 };
                    let dh = gv[at + j] + dh_next[bi * h + j];
                    let dn = dh * (1.0 - z) * (1.0 - n * n);
                    let dz = dh * (prev - n) * z * (1.0 - z);
                    let dr = dn * tr.hn[at + j] * r * (1.0 - r);
                    dxp[row + j] = dr;
                    dxp[row + h + j] = dz;
                    dxp[row + 2 * h + j] = dn;
                    drec[row + j] = dr;
                    drec[row + h + j] = dz;
                    drec[row + 2 * h + j] = dn * r;
                    dh_next[bi * h + j] = dh * z;
                }
            }
            let step: Vec<f32> = (0..b)
                .flat_map(|bi| {
                    let row = (bi * t + s) * h3;
                    drec[row..row + h3].iter().copied()
                })
                .collect();
            let back = mm(&step, b, h3, &w_hh)?; // (B, 3H) · (3H, H)
            for (d, v) in dh_next.iter_mut().zip(back) {
                *d += v;
            }
        }
        let dev = xp.device();
        let h_prev = Tensor::from_vec(previous_states(&tr.hs, (b, t, h)), (b * t, h), dev)?;
        let drec = Tensor::from_vec(drec, (b * t, h3), dev)?;
        let dw = drec.t()?.matmul(&h_prev)?;
        let db = drec.sum(0)?.reshape(b_hh.shape())?;
        let dxp = Tensor::from_vec(dxp, (b, t, h3), dev)?;
        Ok((Some(dxp), Some(dw), Some(db)))
    }
}

/// Hidden states (B, T, H) of a GRU layer from the input projection `xp` (B, T, 3H, bias
/// included), the recurrent weight `w_hh` (3H, H) and bias `b_hh` (3H), zero initial state;
/// differentiable in all three. CPU and f32 only: callers keep a graph version elsewhere.
pub fn gru_scan(xp: &Tensor, w_hh: &Tensor, b_hh: &Tensor) -> Result<Tensor> {
    xp.contiguous()?
        .apply_op3(&w_hh.contiguous()?, &b_hh.contiguous()?, GruScan::default())
}
