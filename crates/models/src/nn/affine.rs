//! Dense-layer pieces shared by the fused ops (linear, GELU MLP, LSTM and GRU layers), which
//! carry a weight and its bias as one (out, in + 1) matrix — the bias the last column — so
//! that one op argument holds both.

use candle_core::Result;

use super::gemm::{gemm, Mat};

/// The weight part (r, c) of an (r, c + 1) weight-and-bias matrix.
pub fn weight(wb: &[f32], r: usize, c: usize) -> Mat<'_> {
    Mat {
        data: wb,
        rows: r,
        cols: c,
        rs: c + 1,
        cs: 1,
    }
}

/// The bias column (r) of an (r, c + 1) weight-and-bias matrix.
pub fn bias(wb: &[f32], r: usize, c: usize) -> Vec<f32> {
    (0..r).map(|k| wb[k * (c + 1) + c]).collect()
}

/// `rows` copies of `row`, one after the other.
pub fn repeat_rows(row: &[f32], rows: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * row.len());
    for _ in 0..rows {
        out.extend_from_slice(row);
    }
    out
}

/// `x·Wᵀ + b` for `rows` rows of `x`, with `w` an (out, in) view and `b` (out): every
/// output row starts as the bias and the product accumulates onto it.
pub fn affine(x: &[f32], w: Mat, b: &[f32], rows: usize) -> Result<Vec<f32>> {
    let mut y = repeat_rows(b, rows);
    gemm(&mut y, w.rows, Mat::rows(x, rows, w.cols), w.t(), true)?;
    Ok(y)
}

/// Column sums of a row-major matrix with `cols` columns.
pub fn column_sums(m: &[f32], cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; cols];
    for row in m.chunks_exact(cols.max(1)) {
        for (d, v) in out.iter_mut().zip(row) {
            *d += v;
        }
    }
    out
}

/// The gradient of an (r, c + 1) weight-and-bias — `gᵀ·x` beside the column sums of `g` —
/// from the output gradient `g` (rows, r) and the layer's input `x` (rows, c).
pub fn weight_grad(g: &[f32], x: &[f32], rows: usize, r: usize, c: usize) -> Result<Vec<f32>> {
    let mut dw = vec![0f32; r * (c + 1)];
    gemm(
        &mut dw,
        c + 1,
        Mat::rows(g, rows, r).t(),
        Mat::rows(x, rows, c),
        false,
    )?;
    for (k, v) in column_sums(g, r).into_iter().enumerate() {
        dw[k * (c + 1) + c] = v;
    }
    Ok(dw)
}

/// Gradients of an affine layer's input (rows, c) and of its (r, c + 1) weight-and-bias `wb`,
/// from the output gradient `g` (rows, r) and the layer's input `x` (rows, c).
pub fn affine_backward(
    g: &[f32],
    x: &[f32],
    wb: &[f32],
    rows: usize,
    r: usize,
    c: usize,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let dw = weight_grad(g, x, rows, r, c)?;
    let mut dx = vec![0f32; rows * c];
    gemm(&mut dx, c, Mat::rows(g, rows, r), weight(wb, r, c), false)?;
    Ok((dx, dw))
}

/// Adds the gradient of a recurrent weight (k, h), Σ_b Σ_{s ≥ 1} d_{b,s}ᵀ · h_{b,s−1}, into the
/// first h columns of `dst` (row stride `dst_rs`), from the per-step gradients `d` (B, T, k)
/// of the recurrent products and the hidden states `hs` (B, T, h) (h_{−1} = 0 adds nothing).
pub fn add_recurrent_weight_grad(
    dst: &mut [f32],
    dst_rs: usize,
    d: &[f32],
    hs: &[f32],
    (b, t, h): (usize, usize, usize),
    k: usize,
) -> Result<()> {
    if t < 2 {
        return Ok(());
    }
    for bi in 0..b {
        let dm = Mat::rows(&d[(bi * t + 1) * k..], t - 1, k);
        let hp = Mat::rows(&hs[bi * t * h..], t - 1, h);
        gemm(dst, dst_rs, dm.t(), hp, true)?;
    }
    Ok(())
}
