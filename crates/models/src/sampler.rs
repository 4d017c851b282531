//! From per-step log increments to price paths that include the start price.

use candle_core::{Result, Tensor};
use sn50::PathSet;

use crate::ModelError;

/// Largest |cumulative log return| of a path (e^±8 ≈ ×2981 / ÷2981), so prices stay positive
/// and finite whatever the parameters.
pub const MAX_CUM_LOG_RETURN: f64 = 8.0;

/// Price factors (B, N, H+1) from increments (B, N, H): column 0 is exactly 1, then
/// exp(clamp(cumsum)). Differentiable in the increments (except where clamped).
pub fn factors(increments: &Tensor) -> Result<Tensor> {
    let (b, n, _) = increments.dims3()?;
    let cum = crate::nn::cumsum::cumsum_last(increments)?
        .clamp(-MAX_CUM_LOG_RETURN, MAX_CUM_LOG_RETURN)?;
    let zero = Tensor::zeros((b, n, 1), cum.dtype(), cum.device())?;
    Tensor::cat(&[&zero, &cum], 2)?.exp()
}

/// Price paths for sample `b` of a factor tensor (B, N, H+1): start_price × factor, in f64.
/// The first point of every path is exactly `start_price`.
pub fn to_pathset(
    factors: &Tensor,
    b: usize,
    start_price: f64,
) -> std::result::Result<PathSet, ModelError> {
    let (_, n, p) = factors.dims3()?;
    let f: Vec<f32> = factors.get(b)?.flatten_all()?.to_vec1()?;
    let mut data = Vec::with_capacity(n * p);
    for (k, &v) in f.iter().enumerate() {
        let price = if k % p == 0 {
            start_price
        } else {
            start_price * v as f64
        };
        if !(price.is_finite() && price > 0.0) {
            return Err(ModelError::Diverged(format!(
                "non-positive or non-finite price {price}"
            )));
        }
        data.push(price);
    }
    PathSet::from_flat(n, p, data).map_err(|e| ModelError::Data(e.to_string()))
}
