//! Mamba's selective scan as one CPU op with a hand-written backward pass. Per sequence, with
//! state h (D, N) starting at zero:
//! `h_t = exp(dt_t[d]·a[d, n]) · h_{t−1} + dt_t[d]·x_t[d]·b_t[n]` and
//! `y_t[d] = Σ_n h_t[d, n] · c_t[n]`.
//! Built from tensor ops, the discretised `exp(dt·a)` and `dt·x·b` are (B, T, D, N) tensors
//! (67 MB each at 32 × 256 × 128 × 16) and every step's `narrow` of them has a backward that
//! writes a gradient of the whole sequence (O(T²)). Here nothing of that size is built but the
//! states the backward pass needs.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor, D};

use super::cpu::{dot, f32_slice, values, Kept};
use super::scalar::{exp, sigmoid};

/// Inputs: `dtx` (B, T, 2D) = [dt | x] — or [u | x] with dt = softplus(u) when `softplus` —,
/// `bc` (B, T, 2N) = [b | c], `a` (D, N). Output `y` (B, T, D). The forward pass keeps the
/// states h (B, T, D, N) and [dt | x] for the backward pass (which recomputes them if
/// absent).
#[derive(Default)]
struct SelectiveScan {
    softplus: bool,
    trace: Kept<Trace>,
}

/// What the forward pass computed: the states h (B, T, D, N) and [dt | x] (B, T, 2D) when dt
/// was computed from u (`None`: the input itself).
struct Trace {
    hs: Vec<f32>,
    dtx: Option<Vec<f32>>,
}

/// ln x for positive normal x (Cephes' `logf`: exponent from the bits, a polynomial on the
/// mantissa in [√½, √2)), branch-free so that loops over it vectorise; within 2 f32 ulps.
#[inline(always)]
fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) as i32 - 127) as f32;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    let big = m > std::f32::consts::SQRT_2;
    let (m, e) = if big { (m * 0.5, e + 1.0) } else { (m, e) };
    let r = m - 1.0;
    let z = r * r;
    let mut p = 7.037_683_6e-2f32;
    p = p * r - 1.151_461e-1;
    p = p * r + 1.167_699_9e-1;
    p = p * r - 1.242_014_1e-1;
    p = p * r + 1.424_932_3e-1;
    p = p * r - 1.666_805_8e-1;
    p = p * r + 2.000_071_5e-1;
    p = p * r - 2.499_999_4e-1;
    p = p * r + 3.333_333e-1;
    let y = p * r * z - 2.121_944_4e-4 * e - 0.5 * z;
    r + y + 0.693_359_4 * e
}

/// ln(1 + eᵘ) = max(u, 0) + ln(1 + y) with y = e^{−|u|} in (0, 1], where ln(1 + y) is
/// `ln(w)·y/(w − 1)` for w = 1 + y (exact to rounding even for tiny y), y itself if w = 1.
#[inline(always)]
fn softplus(u: f32) -> f32 {
    let y = exp(-u.abs());
    let w = 1.0 + y;
    let d = w - 1.0;
    let l = ln(w) * (y / d);
    u.max(0.0) + if d == 0.0 { y } else { l }
}

simd_fn! {
    /// `row ← softplus(row)`.
    fn softplus_in_place(row: &mut [f32]) {
        for v in row.iter_mut() {
            *v = softplus(*v);
        }
    }
}

/// [softplus(u) | x] from [u | x] (rows of 2D).
fn with_softplus(ux: &[f32], d: usize) -> Vec<f32> {
    let mut out = ux.to_vec();
    for row in out.chunks_exact_mut(2 * d) {
        softplus_in_place(&mut row[..d]);
    }
    out
}

impl SelectiveScan {
    /// The states and [dt | x] from the op's inputs.
    fn forward(&self, dtx: &[f32], bc: &[f32], a: &[f32], dims: Dims) -> (Trace, Vec<f32>) {
        let own = self.softplus.then(|| with_softplus(dtx, dims.2));
        let (hs, y) = run(own.as_deref().unwrap_or(dtx), bc, a, dims);
        (Trace { hs, dtx: own }, y)
    }
}

/// Sizes (B, T, D, N).
type Dims = (usize, usize, usize, usize);

simd_fn! {
    /// One step of one sequence: from [dt | x] (2D), [b | c] (2N) and the previous states
    /// `prev` (D, N), the new states `h` and the output `y` (D). Passes over contiguous rows of
    /// N, so that each vectorises.
    fn step_fwd(dtx: &[f32], bc: &[f32], a: &[f32], prev: &[f32], h: &mut [f32], y: &mut [f32]) {
        let (dt, x) = dtx.split_at(y.len());
        let (bm, cm) = bc.split_at(bc.len() / 2);
        let n = bm.len();
        for (di, y) in y.iter_mut().enumerate() {
            let (ar, hp) = (&a[di * n..][..n], &prev[di * n..][..n]);
            let hv = &mut h[di * n..][..n];
            let (dtd, dx) = (dt[di], dt[di] * x[di]);
            for (((hv, ar), hp), bk) in hv.iter_mut().zip(ar).zip(hp).zip(bm) {
                *hv = exp(dtd * ar) * hp + dx * bk;
            }
            *y = dot(hv, cm);
        }
    }
}

/// The states h (B, T, D, N) and the output y (B, T, D).
fn run(dtx: &[f32], bc: &[f32], a: &[f32], (b, t, d, n): Dims) -> (Vec<f32>, Vec<f32>) {
    let dn = d * n;
    let mut hs = vec![0f32; b * t * dn];
    let mut y = vec![0f32; b * t * d];
    let zeros = vec![0f32; dn];
    for bi in 0..b {
        for s in 0..t {
            let row = bi * t + s;
            let (done, now) = hs.split_at_mut(row * dn);
            let prev = if s > 0 {
                &done[(row - 1) * dn..]
            } else {
                &zeros[..]
            };
            step_fwd(
                &dtx[row * 2 * d..][..2 * d],
                &bc[row * 2 * n..][..2 * n],
                a,
                prev,
                &mut now[..dn],
                &mut y[row * d..][..d],
            );
        }
    }
    (hs, y)
}

/// Per-row scratch (N) of the backward pass.
struct Scratch {
    dh: Vec<f32>,
    g_da: Vec<f32>,
}

/// One step's inputs and their gradients in the backward pass.
struct Step<'a> {
    dt: &'a [f32],
    x: &'a [f32],
    bm: &'a [f32],
    cm: &'a [f32],
    gy: &'a [f32],
    g_dt: &'a mut [f32],
    g_x: &'a mut [f32],
    g_b: &'a mut [f32],
    g_c: &'a mut [f32],
}

simd_fn! {
    /// One step of one sequence backwards: from the output gradient and the gradient `carry`
    /// (D, N) reaching h_s from step s + 1 (replaced by the one reaching h_{s−1}), the gradients
    /// of this step's inputs, and `d_a` accumulated. Passes over contiguous rows of N, so that
    /// each vectorises.
    fn step_bwd(
        st: &mut Step,
        a: &[f32],
        h: &[f32],
        prev: &[f32],
        carry: &mut [f32],
        d_a: &mut [f32],
        sc: &mut Scratch,
    ) {
        let n = st.bm.len();
        let Scratch { dh, g_da } = sc;
        for di in 0..st.dt.len() {
            let (gy, dtd, xd) = (st.gy[di], st.dt[di], st.x[di]);
            let dx = dtd * xd;
            let ar = &a[di * n..][..n];
            let (hv, hp) = (&h[di * n..][..n], &prev[di * n..][..n]);
            let cr = &mut carry[di * n..][..n];
            let dar = &mut d_a[di * n..][..n];
            for ((dh, c), cm) in dh.iter_mut().zip(&*cr).zip(st.cm) {
                *dh = gy * cm + c;
            }
            // h = exp(dt·a)·h_prev + dt·x·b: the gradient of dt·a is dh·h_prev·exp(dt·a), and
            // exp(dt·a)·dh is carried to h_prev.
            for ((((g, c), dh), ar), hp) in g_da.iter_mut().zip(cr.iter_mut()).zip(&*dh).zip(ar).zip(hp) {
                let e = exp(dtd * ar);
                *g = dh * hp * e;
                *c = dh * e;
            }
            for (da, g) in dar.iter_mut().zip(&*g_da) {
                *da += g * dtd;
            }
            for (gb, dh) in st.g_b.iter_mut().zip(&*dh) {
                *gb += dh * dx;
            }
            for (gc, hv) in st.g_c.iter_mut().zip(hv) {
                *gc += gy * hv;
            }
            let gdx = dot(dh, st.bm);
            st.g_dt[di] = dot(g_da, ar) + gdx * xd;
            st.g_x[di] = gdx * dtd;
        }
    }
}

fn dims(dtx: &Layout, bc: &Layout, a: &Layout) -> Result<Dims> {
    let (b, t, d2) = dtx.shape().dims3()?;
    let (d, n) = a.shape().dims2()?;
    if d2 != 2 * d || bc.shape().dims() != [b, t, 2 * n] {
        candle_core::bail!(
            "selective-scan: dtx (B, T, 2D), bc (B, T, 2N) and a (D, N) do not match"
        );
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
        let (tr, y) = self.forward(
            f32_slice(s1, l1, self.name())?,
            f32_slice(s2, l2, self.name())?,
            f32_slice(s3, l3, self.name())?,
            dims,
        );
        self.trace.put(tr);
        let (b, t, d, _) = dims;
        Ok((CpuStorage::F32(y), Shape::from((b, t, d))))
    }

    fn bwd(
        &self,
        dtx: &Tensor,
        bc: &Tensor,
        a: &Tensor,
        _y: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, t, d2) = dtx.dims3()?;
        let (d, n) = a.dims2()?;
        let grad = grad.contiguous()?;
        let ((xs, xl), (bs, bl)) = (dtx.storage_and_layout(), bc.storage_and_layout());
        let ((a_s, al), (gs, gl)) = (a.storage_and_layout(), grad.storage_and_layout());
        let input = values(&xs, xl, self.name())?;
        let bv = values(&bs, bl, self.name())?;
        let av = values(&a_s, al, self.name())?;
        let gv = values(&gs, gl, self.name())?;
        let tr = match self.trace.take() {
            Some(tr) => tr,
            None => self.forward(input, bv, av, (b, t, d, n)).0,
        };
        let Trace { hs, dtx: own } = tr;
        let xv = own.as_deref().unwrap_or(input);
        let dn = d * n;
        let mut d_dtx = vec![0f32; b * t * d2];
        let mut d_bc = vec![0f32; b * t * 2 * n];
        let mut d_a = vec![0f32; dn];
        // The gradient reaching h_s from step s + 1: exp(dt_{s+1}·a) ⊙ dh_{s+1}.
        let mut carry = vec![0f32; dn];
        let zeros = vec![0f32; dn];
        let mut sc = Scratch {
            dh: vec![0f32; n],
            g_da: vec![0f32; n],
        };
        for bi in 0..b {
            carry.fill(0.0);
            for s in (0..t).rev() {
                let row = bi * t + s;
                let (dt, x) = xv[row * 2 * d..][..2 * d].split_at(d);
                let (bm, cm) = bv[row * 2 * n..][..2 * n].split_at(n);
                let (g_dt, g_x) = d_dtx[row * 2 * d..][..2 * d].split_at_mut(d);
                let (g_b, g_c) = d_bc[row * 2 * n..][..2 * n].split_at_mut(n);
                let mut st = Step {
                    dt,
                    x,
                    bm,
                    cm,
                    gy: &gv[row * d..][..d],
                    g_dt,
                    g_x,
                    g_b,
                    g_c,
                };
                let prev = if s > 0 {
                    &hs[(row - 1) * dn..][..dn]
                } else {
                    &zeros[..]
                };
                let h = &hs[row * dn..][..dn];
                step_bwd(&mut st, av, h, prev, &mut carry, &mut d_a, &mut sc);
            }
        }
        if self.softplus {
            // d softplus(u)/du = σ(u).
            for (g, u) in d_dtx.chunks_exact_mut(d2).zip(input.chunks_exact(d2)) {
                softplus_grad(&mut g[..d], &u[..d]);
            }
        }
        let dev = dtx.device();
        Ok((
            Some(Tensor::from_vec(d_dtx, (b, t, d2), dev)?),
            Some(Tensor::from_vec(d_bc, (b, t, 2 * n), dev)?),
            Some(Tensor::from_vec(d_a, (d, n), dev)?),
        ))
    }
}

simd_fn! {
    /// `g ← g·σ(u)`.
    fn softplus_grad(g: &mut [f32], u: &[f32]) {
        for (g, u) in g.iter_mut().zip(u) {
            *g *= sigmoid(*u);
        }
    }
}

/// Mamba's selective scan: `y` (B, T, D) from the step sizes `dt` and inputs `x` (B, T, D),
/// `b` and `c` (B, T, N) and the (negative) state matrix `a` (D, N); differentiable in all.
/// CPU and f32 only: callers keep a graph version elsewhere.
pub fn selective_scan(
    dt: &Tensor,
    x: &Tensor,
    b: &Tensor,
    c: &Tensor,
    a: &Tensor,
) -> Result<Tensor> {
    scan(dt, x, b, c, a, false)
}

/// [`selective_scan`] with the step sizes `softplus(u)`: the same as
/// `selective_scan(&softplus(u), x, b, c, a)`, without the softplus' (B, T, D) tensors in
/// candle's graph.
pub fn selective_scan_softplus(
    u: &Tensor,
    x: &Tensor,
    b: &Tensor,
    c: &Tensor,
    a: &Tensor,
) -> Result<Tensor> {
    scan(u, x, b, c, a, true)
}

fn scan(dt: &Tensor, x: &Tensor, b: &Tensor, c: &Tensor, a: &Tensor, sp: bool) -> Result<Tensor> {
    let dtx = Tensor::cat(&[dt, x], D::Minus1)?;
    let bc = Tensor::cat(&[b, c], D::Minus1)?;
    let op = SelectiveScan {
        softplus: sp,
        trace: Kept::default(),
    };
    dtx.apply_op3(&bc, &a.contiguous()?, op)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ln_and_softplus_are_close_to_std() {
        let mut worst = 0f32;
        for k in 1..=200_000 {
            let x = k as f32 * 1e-3;
            worst = worst.max(((super::ln(x) - x.ln()) / x.ln().abs().max(1e-3)).abs());
        }
        assert!(worst < 1e-6, "ln: worst relative error {worst}");
        worst = 0.0;
        for k in -400_000..=400_000 {
            let u = k as f32 * 1e-4;
            let want = (u as f64).exp().ln_1p() as f32;
            worst = worst.max(((super::softplus(u) - want) / want).abs());
        }
        assert!(worst < 1e-6, "softplus: worst relative error {worst}");
        // scalar::exp clamps its input at −87: softplus stays positive far below.
        assert!(super::softplus(-100.0) > 0.0 && super::softplus(-100.0) < 1e-37);
        assert_eq!(super::softplus(100.0), 100.0);
    }
}
