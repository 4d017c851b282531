//! Series decomposition shared by the Autoformer and FEDformer blocks: a moving-average trend
//! and the seasonal remainder (trend + seasonal = input exactly), and the seasonal layer norm
//! (LayerNorm minus its mean over time, the papers' `my_Layernorm`).

use candle_core::{Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::dlinear::moving_average;

/// (seasonal, trend) of (B, T, d): trend = centred moving average of odd window `k` with
/// replicate padding, seasonal = x − trend.
pub fn series_decomp(x: &Tensor, k: usize) -> Result<(Tensor, Tensor)> {
    let trend = moving_average(x, k)?;
    Ok(((x - &trend)?, trend))
}

/// LayerNorm over channels, then the mean over time is removed (seasonal parts have no level).
/// The LayerNorm has a gain but no bias: the time-mean removal would cancel a bias exactly
/// (in the papers' code it is a dead parameter).
pub struct SeasonalNorm {
    w: Tensor,
}

impl SeasonalNorm {
    /// Parameter `weight` (d), starting at 1.
    pub fn new(d: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            w: vb.get_with_hints(d, "weight", Init::Const(1.0))?,
        })
    }

    /// (B, T, d) → (B, T, d).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let zero = self.w.zeros_like()?;
        let h = crate::nn::layernorm::layer_norm(x, &self.w, &zero, 1e-5)?;
        h.broadcast_sub(&h.mean_keepdim(1)?)
    }
}

/// Odd `kernel_size` check shared by the decomposition blocks.
pub fn check_kernel(k: usize) -> std::result::Result<(), String> {
    if k.is_multiple_of(2) {
        return Err("kernel_size: must be odd so the moving average is centred".into());
    }
    Ok(())
}
