//! Strided f32 matrix products straight into caller-owned buffers (the `gemm` crate candle
//! itself uses), for the fused recurrences: per time step they multiply a (B, H) slice of a
//! (B, T, ·) buffer in place, where a candle `matmul` would copy it in, allocate the result
//! and copy it out again — at B = 32, H = 64 that overhead was the product itself.

use candle_core::Result;

/// A read-only strided matrix: element (r, c) is `data[r·rs + c·cs]`.
#[derive(Clone, Copy)]
pub struct Mat<'a> {
    /// The backing values.
    pub data: &'a [f32],
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Row stride (elements).
    pub rs: usize,
    /// Column stride (elements).
    pub cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major (rows, cols) matrix at the start of `data`.
    pub fn rows(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self {
            data,
            rows,
            cols,
            rs: cols,
            cs: 1,
        }
    }

    /// The transpose (no copy).
    pub fn t(self) -> Self {
        Self {
            rows: self.cols,
            cols: self.rows,
            rs: self.cs,
            cs: self.rs,
            ..self
        }
    }
}

/// Whether a strided (rows, cols) view fits in `len` elements. Checked arithmetic: a wrapped
/// product must not pass for an index inside the buffer.
fn fits(len: usize, rows: usize, cols: usize, rs: usize, cs: usize) -> bool {
    if rows == 0 || cols == 0 {
        return true;
    }
    (rows - 1)
        .checked_mul(rs)
        .zip((cols - 1).checked_mul(cs))
        .and_then(|(r, c)| r.checked_add(c))
        .is_some_and(|last| last < len)
}

/// `dst ← a · b` (or `dst += a · b` when `accumulate`), with `dst` the strided
/// (a.rows, b.cols) view of `out` with row stride `dst_rs` and column stride 1. Errors on
/// mismatched shapes, views that do not fit their buffers, or output rows that overlap
/// (`dst_rs` < b.cols with more than one row: two results would share one element).
pub fn gemm(out: &mut [f32], dst_rs: usize, a: Mat, b: Mat, accumulate: bool) -> Result<()> {
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if b.rows != k {
        candle_core::bail!("gemm: ({m}, {k}) · ({}, {n}) do not match", b.rows);
    }
    if !fits(out.len(), m, n, dst_rs, 1)
        || !fits(a.data.len(), m, k, a.rs, a.cs)
        || !fits(b.data.len(), k, n, b.rs, b.cs)
    {
        candle_core::bail!("gemm: a view does not fit its buffer");
    }
    if m > 1 && n > 0 && dst_rs < n {
        candle_core::bail!("gemm: output rows overlap (row stride {dst_rs} < {n} columns)");
    }
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 {
        if !accumulate {
            for r in 0..m {
                out[r * dst_rs..r * dst_rs + n].fill(0.0);
            }
        }
        return Ok(());
    }
    // Large products on every thread, unless already inside a parallel loop.
    let threads = candle_core::utils::get_num_threads();
    let nested = rayon::current_thread_index().is_some();
    let parallelism = if threads > 1 && !nested && m * n * k >= 1 << 20 {
        gemm::Parallelism::Rayon(threads)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: every view was checked above to lie inside its slice (without overflow), the
    // output's elements are distinct (rows do not overlap, column stride 1), and `out` is
    // borrowed mutably and so cannot alias `a` or `b`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: Mat, b: Mat) -> Vec<f32> {
        let mut c = vec![0f32; a.rows * b.cols];
        for r in 0..a.rows {
            for j in 0..b.cols {
                for q in 0..a.cols {
                    c[r * b.cols + j] += a.data[r * a.rs + q * a.cs] * b.data[q * b.rs + j * b.cs];
                }
            }
        }
        c
    }

    #[test]
    fn strided_products_match_the_naive_ones() {
        let a: Vec<f32> = (0..35).map(|v| (v as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..24).map(|v| (v as f32 * 0.91).cos()).collect();
        let (am, bm) = (Mat::rows(&a, 5, 7), Mat::rows(&b, 4, 6));
        // (5, 7)[:, 1..5] · (4, 6)[:, ::2] through strides.
        let a_sub = Mat {
            data: &a[1..],
            cols: 4,
            ..am
        };
        let b_sub = Mat {
            cols: 3,
            cs: 2,
            ..bm
        };
        let want = naive(a_sub, b_sub);
        let mut out = vec![7f32; 5 * 3];
        gemm(&mut out, 3, a_sub, b_sub, false).unwrap();
        for (x, y) in out.iter().zip(&want) {
            assert!((x - y).abs() < 1e-5);
        }
        gemm(&mut out, 3, a_sub, b_sub, true).unwrap();
        for (x, y) in out.iter().zip(&want) {
            assert!((x - 2.0 * y).abs() < 1e-5);
        }
        // A transpose: (7, 5) · (5, 7) = aᵀ·a.
        let mut sq = vec![0f32; 49];
        gemm(&mut sq, 7, am.t(), am, false).unwrap();
        let want = naive(am.t(), am);
        assert!(sq.iter().zip(&want).all(|(x, y)| (x - y).abs() < 1e-5));
        // Shapes that do not match, or a view past its buffer, are errors.
        assert!(gemm(&mut out, 3, am, bm, false).is_err());
        assert!(gemm(&mut out[..10], 3, a_sub, b_sub, false).is_err());
    }

    #[test]
    fn overflowing_strides_and_overlapping_rows_are_errors() {
        let a = vec![1f32; 16];
        let m = Mat::rows(&a, 4, 4);
        let mut out = vec![0f32; 16];
        // Row strides whose products wrap around usize must not pass the bounds check.
        for rs in [usize::MAX, usize::MAX / 3 + 1, 1 << (usize::BITS - 1)] {
            let huge = Mat { rs, ..m };
            assert!(gemm(&mut out, 4, huge, m, false).is_err(), "a rs {rs}");
            assert!(gemm(&mut out, 4, m, huge, false).is_err(), "b rs {rs}");
            assert!(gemm(&mut out, rs, m, m, false).is_err(), "dst rs {rs}");
        }
        let wide = Mat {
            cs: usize::MAX / 2,
            ..m
        };
        assert!(gemm(&mut out, 4, wide, m, false).is_err());
        // Output rows that share elements (row stride < columns) are refused; one row, or
        // rows that just touch, are fine.
        assert!(gemm(&mut out, 3, m, m, false).is_err());
        assert!(gemm(&mut out, 0, m, m, true).is_err());
        let row = Mat::rows(&a, 1, 4);
        assert!(gemm(&mut out, 0, row, m, false).is_ok());
        assert!(gemm(&mut out, 4, m, m, false).is_ok());
        assert!(out.iter().all(|&v| v == 4.0));
    }
}
