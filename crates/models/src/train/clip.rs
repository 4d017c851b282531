//! Global-norm gradient clipping (PyTorch's `clip_grad_norm_`): one norm over all parameters.

use candle_core::backprop::GradStore;
use candle_core::{Result, Var};

/// Scales every gradient by `max_norm / norm` when the global L2 norm exceeds `max_norm`
/// (0 = no clipping). Returns the norm before clipping. `vars` must be in a stable order.
pub fn clip_grad_norm(vars: &[Var], grads: &mut GradStore, max_norm: f64) -> Result<f64> {
    let mut sq = 0f64;
    for v in vars {
        if let Some(g) = grads.get(v) {
            sq += g
                .sqr()?
                .sum_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_scalar::<f64>()?;
        }
    }
    let norm = sq.sqrt();
    if max_norm > 0.0 && norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        for v in vars {
            if let Some(g) = grads.remove(v) {
                grads.insert(v, (g * scale)?);
            }
        }
    }
    Ok(norm)
}
