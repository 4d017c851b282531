//! Mamba's selective scan as one CPU op with a hand-written backward pass:
//! `h_t = da_t ⊙ h_{t−1} + dbx_t` (state (D, N) per sequence, zero at the start) and
//! `y_t[d] = Σ_n h_t[d, n] · c_t[n]`. Step by step in candle's graph every step's `narrow` of
//! the (B, T, D, N) inputs has a backward that writes a gradient of the whole sequence (O(T²)).

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::cpu::f32_slice;

/// Inputs `da`, `dbx` (B, T, D, N) and `c` (B, T, N); output `y` (B, T, D). The forward pass
/// keeps the states for the backward pass (which recomputes them if absent).
#[derive(Default)]
struct SelectiveScan {
    states: std::sync::Mutex<Option<Vec<f32>>>,
}

/// The states h (B, T, D, N) and the output y (B, T, D).
fn run(
    da: &[f32],
    dbx: &[f32],
    c: &[f32],
    (b, t, d, n): (usize, usize, usize, usize),
) -> (Vec<f32>, Vec<f32>) {
    let mut hs = vec![0f32; b * t * d * n];
    let mut y = vec![0f32; b * t * d];
    for bi in 0..b {
        for s in 0..t {
            let cur = (bi * t + s) * d * n;
            let cr = &c[(bi * t + s) * n..][..n];
            for di in 0..d {
                let at = cur + di * n;
                let mut acc = 0f32;
                for k in 0..n {
                    let prev = if s > 0 { hs[at - d * n + k] } else { 0.0 };
                    let hv = da[at + k] * prev + dbx[at + k];
                    hs[at + k] = hv;
                    acc += hv * cr[k];
                }
                y[(bi * t + s) * d + di] = acc;
            }
        }
    }
    (hs, y)
}

fn dims(a: &Layout, bx: &Layout, c: &Layout) -> Result<(usize, usize, usize, usize)> {
    let (b, t, d, n) = a.shape().dims4()?;
    if bx.shape().dims() != a.shape().dims() || c.shape().dims() != [b, t, n] {
        candle_core::bail!("selective-scan: da, dbx (B, T, D, N) and c (B, T, N) do not match");
    }
    Ok((b, t, d, n))
}

impl CustomOp3 for SelectiveScan {
    fn name(&self) -> &'static str {
        "selective-scan"
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
        let dims = dims(l1, l2, l3)?;
        let (hs, y) = run(
            f32_slice(s1, l1, self.name())?,
            f32_slice(s2, l2, self.name())?,
            f32_slice(s3, l3, self.name())?,
            dims,
        );
        if let Ok(mut slot) = self.states.lock() {
            *slot = Some(hs);
        }
        let (b, t, d, _) = dims;
        Ok((CpuStorage::F32(y), Shape::from((b, t, d))))
    }

    fn bwd(
        &self,
        da: &Tensor,
        dbx: &Tensor,
        c: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, d, n) = da.dims4()?;
        let av: Vec<f32> = da.flatten_all()?.to_vec1()?;
        let cv: Vec<f32> = c.flatten_all()?.to_vec1()?;
        let gv: Vec<f32> = grad.flatten_all()?.to_vec1()?;
        let kept = self.states.lock().ok().and_then(|mut slot| slot.take());
        let hs = match kept {
            Some(hs) => hs,
            None => run(&av, &dbx.flatten_all()?.to_vec1()?, &cv, (b, t, d, n)).0,
        };
        let mut d_da = vec![0f32; b * t * d * n];
        let mut d_dbx = vec![0f32; b * t * d * n];
        let mut d_c = vec![0f32; b * t * n];
        // dh carried from step s + 1 into step s: da_{s+1} ⊙ dh_{s+1}.
        let mut carry = vec![0f32; d * n];
        for bi in 0..b {
            carry.iter_mut().for_each(|v| *v = 0.0);
            for s in (0..t).rev() {
                let cur = (bi * t + s) * d * n;
                let cr = &cv[(bi * t + s) * n..][..n];
                for di in 0..d {
                    let gy = gv[(bi * t + s) * d + di];
                    let at = cur + di * n;
                    for k in 0..n {
                        let dh = gy * cr[k] + carry[di * n + k];
                        let prev = if s > 0 { hs[at - d * n + k] } else { 0.0 };
                        d_dbx[at + k] = dh;
                        d_da[at + k] = dh * prev;
                        d_c[(bi * t + s) * n + k] += gy * hs[at + k];
                        carry[di * n + k] = dh * av[at + k];
                    }
                }
            }
        }
        let dev = da.device();
        Ok((
            Some(Tensor::from_vec(d_da, (b, t, d, n), dev)?),
            Some(Tensor::from_vec(d_dbx, (b, t, d, n), dev)?),
            Some(Tensor::from_vec(d_c, (b, t, n), dev)?),
        ))
    }
}

/// Mamba's selective scan: `y` (B, T, D) from `da`, `dbx` (B, T, D, N) and `c` (B, T, N),
/// differentiable in all three. CPU and f32 only: callers keep a graph version elsewhere.
pub fn selective_scan(da: &Tensor, dbx: &Tensor, c: &Tensor) -> Result<Tensor> {
    da.contiguous()?.apply_op3(
        &dbx.contiguous()?,
        &c.contiguous()?,
        SelectiveScan::default(),
    )
}
