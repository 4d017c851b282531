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

/// Inputs: `dtx` (B, T, 2D) = [dt | x], `bc` (B, T, 2N) = [b | c], `a` (D, N); output `y`
/// (B, T, D). Or, for Mamba (`gated`): `dtx` (B, T, 3D) = [u | x | z] with dt = softplus(u)
/// and `a` (D, N + 1) = [a | d_skip], output `(y + d_skip·x)·silu(z)`. The forward pass keeps
/// what the backward pass needs (which recomputes it if absent).
#[derive(Default)]
struct SelectiveScan {
    gated: bool,
    trace: Kept<Trace>,
}

/// What the forward pass computed: the states h (B, T, D, N); when gated, also [dt | x]
/// (B, T, 2D), a (D, N) and the output before the gate `y + d_skip·x` (B, T, D).
struct Trace {
    hs: Vec<f32>,
    gated: Option<Gated>,
}

/// The gated mode's own inputs of the scan and the output before the gate.
struct Gated {
    dtx: Vec<f32>,
    a: Vec<f32>,
    pre: Vec<f32>,
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

simd_fn! {
    /// One row of the gate: `pre ← y + d_skip·x`, `out ← pre·silu(z)`.
    fn gate_fwd(y: &[f32], x: &[f32], z: &[f32], d_skip: &[f32], pre: &mut [f32], out: &mut [f32]) {
        for ((((p, y), x), d), o) in pre.iter_mut().zip(y).zip(x).zip(d_skip).zip(out.iter_mut()) {
            *p = y + d * x;
            *o = *p;
        }
        for (o, z) in out.iter_mut().zip(z) {
            *o *= z * sigmoid(*z);
        }
    }
}

impl SelectiveScan {
    /// The trace and the output from the op's inputs.
    fn forward(&self, dtx: &[f32], bc: &[f32], a: &[f32], dims: Dims) -> (Trace, Vec<f32>) {
        let (b, t, d, n) = dims;
        if !self.gated {
            let (hs, y) = run(dtx, bc, a, dims);
            return (Trace { hs, gated: None }, y);
        }
        // [u | x | z] → [softplus(u) | x]; [a | d_skip] → a.
        let mut own = Vec::with_capacity(b * t * 2 * d);
        for row in dtx.chunks_exact(3 * d) {
            own.extend_from_slice(&row[..2 * d]);
            let at = own.len() - 2 * d;
            softplus_in_place(&mut own[at..at + d]);
        }
        let a_own: Vec<f32> = a
            .chunks_exact(n + 1)
            .flat_map(|r| r[..n].iter().copied())
            .collect();
        let d_skip: Vec<f32> = a.chunks_exact(n + 1).map(|r| r[n]).collect();
        let (hs, y) = run(&own, bc, &a_own, dims);
        let mut pre = vec![0f32; b * t * d];
        let mut out = vec![0f32; b * t * d];
        for (row, ((pre, out), yr)) in pre
            .chunks_exact_mut(d)
            .zip(out.chunks_exact_mut(d))
            .zip(y.chunks_exact(d))
            .enumerate()
        {
            let r = &dtx[row * 3 * d..][..3 * d];
            gate_fwd(yr, &r[d..2 * d], &r[2 * d..], &d_skip, pre, out);
        }
        let gated = Gated {
            dtx: own,
            a: a_own,
            pre,
        };
        (
            Trace {
                hs,
                gated: Some(gated),
            },
            out,
        )
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

fn dims(dtx: &Layout, bc: &Layout, a: &Layout, gated: bool) -> Result<Dims> {
    let (b, t, dk) = dtx.shape().dims3()?;
    let (d, na) = a.shape().dims2()?;
    let (k, n) = if gated {
        (3, na.saturating_sub(1))
    } else {
        (2, na)
    };
    if dk != k * d || bc.shape().dims() != [b, t, 2 * n] || (gated && na == 0) {
        candle_core::bail!(
            "selective-scan: dtx (B, T, {k}D), bc (B, T, 2N) and a (D, N{}) do not match",
            if gated { " + 1" } else { "" }
        );
    }
    Ok((b, t, d, n))
}

/// Gradients of [dt | x] (B, T, 2D), [b | c] (B, T, 2N) and a (D, N) from the output
/// gradient `gv` (B, T, D), the inputs and the states.
fn scan_backward(
    xv: &[f32],
    bv: &[f32],
    av: &[f32],
    hs: &[f32],
    gv: &[f32],
    (b, t, d, n): Dims,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let dn = d * n;
    let mut d_dtx = vec![0f32; b * t * 2 * d];
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
    (d_dtx, d_bc, d_a)
}

simd_fn! {
    /// One row of the gate backwards: from the output gradient `g` (replaced by that of y),
    /// the gradient of z into `g_z`, d_skip's gradient accumulated into `g_skip`.
    fn gate_bwd(
        g: &mut [f32],
        pre: &[f32],
        x: &[f32],
        z: &[f32],
        g_z: &mut [f32],
        g_skip: &mut [f32],
    ) {
        for (((g, p), z), gz) in g.iter_mut().zip(pre).zip(z).zip(g_z.iter_mut()) {
            let s = sigmoid(*z);
            // silu'(z) = σ(z)·(1 + z·(1 − σ(z))).
            *gz = *g * p * s * (1.0 + z * (1.0 - s));
            *g *= z * s;
        }
        for ((gs, g), x) in g_skip.iter_mut().zip(&*g).zip(x) {
            *gs += g * x;
        }
    }
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
        let dims = dims(l1, l2, l3, self.gated)?;
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
        let dims = dims(dtx.layout(), bc.layout(), a.layout(), self.gated)?;
        let (b, t, d, n) = dims;
        let grad = grad.contiguous()?;
        let ((xs, xl), (bs, bl)) = (dtx.storage_and_layout(), bc.storage_and_layout());
        let ((a_s, al), (gs, gl)) = (a.storage_and_layout(), grad.storage_and_layout());
        let input = values(&xs, xl, self.name())?;
        let bv = values(&bs, bl, self.name())?;
        let av = values(&a_s, al, self.name())?;
        let gv = values(&gs, gl, self.name())?;
        let tr = match self.trace.take() {
            Some(tr) => tr,
            None => self.forward(input, bv, av, dims).0,
        };
        let dev = dtx.device();
        let Some(gated) = tr.gated else {
            let (d_dtx, d_bc, d_a) = scan_backward(input, bv, av, &tr.hs, gv, dims);
            return Ok((
                Some(Tensor::from_vec(d_dtx, (b, t, 2 * d), dev)?),
                Some(Tensor::from_vec(d_bc, (b, t, 2 * n), dev)?),
                Some(Tensor::from_vec(d_a, (d, n), dev)?),
            ));
        };
        // Through the gate: the gradient of y, of z and of d_skip.
        let mut gy = gv.to_vec();
        let mut d_in = vec![0f32; b * t * 3 * d];
        let mut g_skip = vec![0f32; d];
        for (row, g) in gy.chunks_exact_mut(d).enumerate() {
            let r = &input[row * 3 * d..][..3 * d];
            let g_z = &mut d_in[row * 3 * d + 2 * d..][..d];
            let pre = &gated.pre[row * d..][..d];
            gate_bwd(g, pre, &r[d..2 * d], &r[2 * d..], g_z, &mut g_skip);
        }
        let (d_dtx, d_bc, d_a) = scan_backward(&gated.dtx, bv, &gated.a, &tr.hs, &gy, dims);
        // [d_u | d_x]: d softplus(u)/du = σ(u); x also reaches the output through d_skip·x.
        let d_skip: Vec<f32> = av.chunks_exact(n + 1).map(|r| r[n]).collect();
        for (row, g2) in d_dtx.chunks_exact(2 * d).enumerate() {
            let r = &input[row * 3 * d..][..3 * d];
            let out = &mut d_in[row * 3 * d..][..2 * d];
            out.copy_from_slice(g2);
            let (g_u, g_x) = out.split_at_mut(d);
            softplus_grad(g_u, &r[..d]);
            for ((gx, gy), ds) in g_x.iter_mut().zip(&gy[row * d..][..d]).zip(&d_skip) {
                *gx += gy * ds;
            }
        }
        let mut d_a_ext = vec![0f32; d * (n + 1)];
        for ((row, da), gs) in d_a_ext
            .chunks_exact_mut(n + 1)
            .zip(d_a.chunks_exact(n))
            .zip(&g_skip)
        {
            row[..n].copy_from_slice(da);
            row[n] = *gs;
        }
        Ok((
            Some(Tensor::from_vec(d_in, (b, t, 3 * d), dev)?),
            Some(Tensor::from_vec(d_bc, (b, t, 2 * n), dev)?),
            Some(Tensor::from_vec(d_a_ext, (d, n + 1), dev)?),
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
    let dtx = Tensor::cat(&[dt, x], D::Minus1)?;
    let bc = Tensor::cat(&[b, c], D::Minus1)?;
    dtx.apply_op3(&bc, &a.contiguous()?, SelectiveScan::default())
}

/// Mamba's scan with its step sizes, skip and gate:
/// `(selective_scan(softplus(u), x, b, c, a) + d_skip·x)·silu(z)`, (B, T, D) from `u`, `x`,
/// `z` (B, T, D), `b`, `c` (B, T, N), `a` (D, N) and `d_skip` (D); without the softplus',
/// skip's and gate's (B, T, D) tensors in candle's graph. CPU and f32 only.
pub fn mamba_scan(
    u: &Tensor,
    x: &Tensor,
    z: &Tensor,
    b: &Tensor,
    c: &Tensor,
    a: &Tensor,
    d_skip: &Tensor,
) -> Result<Tensor> {
    let dtx = Tensor::cat(&[u, x, z], D::Minus1)?;
    let bc = Tensor::cat(&[b, c], D::Minus1)?;
    let a = Tensor::cat(&[a, &d_skip.unsqueeze(1)?], 1)?;
    let op = SelectiveScan {
        gated: true,
        trace: Kept::default(),
    };
    dtx.apply_op3(&bc, &a, op)
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
