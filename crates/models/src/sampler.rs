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

/// Price paths for sample `b` of an increment tensor (B, N, H): point 0 is exactly
/// `start_price`, point k is `start_price · exp(clamp(Σ_{j<k} inc_j))` with the sum in f64 —
/// [`factors`] in one pass (inference; training goes through [`factors`] for gradients).
pub fn to_pathset(
    increments: &Tensor,
    b: usize,
    start_price: f64,
) -> std::result::Result<PathSet, ModelError> {
    let (_, n, h) = increments.dims3()?;
    let inc: Vec<f32> = increments
        .get(b)?
        .flatten_all()?
        .to_dtype(candle_core::DType::F32)?
        .to_vec1()?;
    if !(start_price.is_finite() && start_price > 0.0) {
        return Err(ModelError::Diverged(format!(
            "non-positive or non-finite start price {start_price}"
        )));
    }
    let p = h + 1;
    let mut data = vec![0.0f64; n * p];
    for (k, out) in data.chunks_exact_mut(p).enumerate() {
        let row = &inc[k * h..(k + 1) * h];
        out[0] = start_price;
        let mut cum = 0.0f64;
        for (o, &v) in out[1..].iter_mut().zip(row) {
            cum += f64::from(v);
            *o = start_price * cum.clamp(-MAX_CUM_LOG_RETURN, MAX_CUM_LOG_RETURN).exp();
        }
    }
    // NaN survives clamp and exp; a NaN increment poisons the rest of its path.
    if let Some(bad) = data.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
        return Err(ModelError::Diverged(format!(
            "non-positive or non-finite price {bad}"
        )));
    }
    PathSet::from_flat(n, p, data).map_err(|e| ModelError::Data(e.to_string()))
}
