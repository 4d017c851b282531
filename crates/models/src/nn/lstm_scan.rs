//! The LSTM recurrence over a whole sequence as one CPU op with a hand-written backward pass
//! (backpropagation through time). Step by step in candle's graph, every step's slice of the
//! input projection has a backward that materialises a gradient of the whole sequence
//! (`narrow`), so a step of training cost O(T²) memory traffic: 256 steps took seconds.
//! Here the forward runs the recurrence directly, keeping its gates, and the backward walks
//! back once: O(T). Gate order [i, f, g, o], as the graph version in `blocks::lstm`.

use candle_core::{CpuStorage, CustomOp2, Device, Layout, Result, Shape, Tensor};

use super::cpu::{f32_slice, mm, previous_states, Kept};
use super::scalar::{sigmoid, tanh};

/// Inputs: `xp` (B, T, 4H) — the input projection of every step, bias included — and
/// `w_hh` (4H, H). Output: the hidden states (B, T, H). The forward pass keeps its gate
/// activations and cell states for the backward pass (which recomputes them if absent).
#[derive(Default)]
struct LstmScan {
    trace: Kept<Trace>,
}

/// What the forward pass computed: hidden states (B, T, H), and the gate activations
/// (B, T, 4H) and cell states (B, T, H) the backward pass needs.
struct Trace {
    hs: Vec<f32>,
    acts: Vec<f32>,
    cs: Vec<f32>,
}

fn run(xp: &[f32], w_hh_t: &Tensor, (b, t, h): (usize, usize, usize)) -> Result<Trace> {
    let h4 = 4 * h;
    let mut hs = vec![0f32; b * t * h];
    let mut acts = vec![0f32; b * t * h4];
    let mut cs = vec![0f32; b * t * h];
    let mut hp = vec![0f32; b * h];
    let mut c = vec![0f32; b * h];
    for s in 0..t {
        let rec = mm(&hp, b, h, w_hh_t)?; // (B, 4H)
        for bi in 0..b {
            let row = (bi * t + s) * h4;
            let g = &rec[bi * h4..(bi + 1) * h4];
            for j in 0..h {
                let i = sigmoid(xp[row + j] + g[j]);
                let f = sigmoid(xp[row + h + j] + g[h + j]);
                let gg = tanh(xp[row + 2 * h + j] + g[2 * h + j]);
                let o = sigmoid(xp[row + 3 * h + j] + g[3 * h + j]);
                let cv = f * c[bi * h + j] + i * gg;
                let hv = o * tanh(cv);
                c[bi * h + j] = cv;
                hp[bi * h + j] = hv;
                hs[(bi * t + s) * h + j] = hv;
                acts[row + j] = i;
                acts[row + h + j] = f;
                acts[row + 2 * h + j] = gg;
                acts[row + 3 * h + j] = o;
                cs[(bi * t + s) * h + j] = cv;
            }
        }
    }
    Ok(Trace { hs, acts, cs })
}

fn dims(xp: &Layout, w: &Layout) -> Result<(usize, usize, usize)> {
    let (b, t, h4) = xp.shape().dims3()?;
    let (r, h) = w.shape().dims2()?;
    if h4 != 4 * h || r != h4 {
        candle_core::bail!("lstm-scan: xp (B, T, {h4}) and w_hh ({r}, {h}) do not match");
    }
    Ok((b, t, h))
}

impl CustomOp2 for LstmScan {
    fn name(&self) -> &'static str {
        "lstm-scan"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (b, t, h) = dims(l1, l2)?;
        let xp = f32_slice(s1, l1, self.name())?;
        let w = f32_slice(s2, l2, self.name())?;
        let w_hh_t = Tensor::from_slice(w, (4 * h, h), &Device::Cpu)?
            .t()?
            .contiguous()?;
        let tr = run(xp, &w_hh_t, (b, t, h))?;
        let hs = tr.hs.clone();
        self.trace.put(tr);
        Ok((CpuStorage::F32(hs), Shape::from((b, t, h))))
    }

    fn bwd(
        &self,
        xp: &Tensor,
        w_hh: &Tensor,
        _hs: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (b, t, h4) = xp.dims3()?;
        let h = h4 / 4;
        let gv: Vec<f32> = grad.flatten_all()?.to_vec1()?;
        let w_hh = w_hh.contiguous()?;
        let kept = self.trace.take();
        let tr = match kept {
            Some(tr) => tr,
            None => {
                let xv: Vec<f32> = xp.flatten_all()?.to_vec1()?;
                run(&xv, &w_hh.t()?.contiguous()?, (b, t, h))?
            }
        };
        let mut dxp = vec![0f32; b * t * h4];
        let mut dh_next = vec![0f32; b * h];
        let mut dc_next = vec![0f32; b * h];
        let mut dg_t = vec![0f32; b * h4];
        for s in (0..t).rev() {
            for bi in 0..b {
                let row = (bi * t + s) * h4;
                let at = (bi * t + s) * h;
                for j in 0..h {
                    let (i, f) = (tr.acts[row + j], tr.acts[row + h + j]);
                    let (gg, o) = (tr.acts[row + 2 * h + j], tr.acts[row + 3 * h + j]);
                    let c = tr.cs[at + j];
                    let c_prev = if s > 0 { tr.cs[at - h + j] } else { 0.0 };
                    let tc = tanh(c);
                    let dh = gv[at + j] + dh_next[bi * h + j];
                    let dc = dh * o * (1.0 - tc * tc) + dc_next[bi * h + j];
                    dc_next[bi * h + j] = dc * f;
                    let d = [
                        dc * gg * i * (1.0 - i),
                        dc * c_prev * f * (1.0 - f),
                        dc * i * (1.0 - gg * gg),
                        dh * tc * o * (1.0 - o),
                    ];
                    for (k, v) in d.into_iter().enumerate() {
                        dxp[row + k * h + j] = v;
                        dg_t[bi * h4 + k * h + j] = v;
                    }
                }
            }
            dh_next = mm(&dg_t, b, h4, &w_hh)?; // (B, 4H) · (4H, H)
        }
        // dW_hh = Σ_t dgates_tᵀ · h_{t−1}, as one product over all (b, t).
        let h_prev = previous_states(&tr.hs, (b, t, h));
        let dev = xp.device();
        let dxp = Tensor::from_vec(dxp, (b, t, h4), dev)?;
        let h_prev = Tensor::from_vec(h_prev, (b * t, h), dev)?;
        let dw = dxp.reshape((b * t, h4))?.t()?.matmul(&h_prev)?;
        Ok((Some(dxp), Some(dw)))
    }
}

/// Hidden states (B, T, H) of an LSTM layer from the input projection `xp` (B, T, 4H, bias
/// included) and the recurrent weight `w_hh` (4H, H), zero initial state; differentiable in
/// both. CPU and f32 only: callers keep a graph version for other devices.
pub fn lstm_scan(xp: &Tensor, w_hh: &Tensor) -> Result<Tensor> {
    xp.contiguous()?
        .apply_op2(&w_hh.contiguous()?, LstmScan::default())
}
