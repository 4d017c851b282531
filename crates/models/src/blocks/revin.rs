//! RevIN block: per-sample, per-channel normalisation over time with a learnable affine map.
//! The statistics are not detached (gradients flow through them).

use candle_core::{Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::registry::{boolean, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "revin",
        kind: ComponentKind::Block,
        summary: "Reversible instance normalisation: (x − mean_T)/std_T · w + b per channel",
        simplified: Some(
            "normalisation only; the return scale is restored by the heads' volatility \
             anchoring (σ = realised vol of the input window × learned factor) instead of a \
             RevIN denormalisation",
        ),
        params: &[boolean(
            "affine",
            true,
            "learn a per-channel scale and shift",
        )],
    },
    build,
    check: no_check,
};

struct RevIn {
    affine: Option<(Tensor, Tensor)>,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let affine = if p.bool("affine")? {
        Some((
            vb.get_with_hints(ctx.d_model, "weight", Init::Const(1.0))?,
            vb.get_with_hints(ctx.d_model, "bias", Init::Const(0.0))?,
        ))
    } else {
        None
    };
    Ok(Box::new(RevIn { affine }))
}

impl Block for RevIn {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mean = x.mean_keepdim(1)?;
        let c = x.broadcast_sub(&mean)?;
        let std = (c.sqr()?.mean_keepdim(1)? + 1e-5)?.sqrt()?;
        let y = c.broadcast_div(&std)?;
        match &self.affine {
            Some((w, b)) => y.broadcast_mul(w)?.broadcast_add(b),
            None => Ok(y),
        }
    }
}
