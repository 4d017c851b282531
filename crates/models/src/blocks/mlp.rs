//! MLP block: pre-norm residual feed-forward per time step, x + MLP(LN(x)).

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::nn::{Act, LayerNorm, Mlp};
use crate::registry::{choice, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "mlp",
        kind: ComponentKind::Block,
        summary: "Residual per-step MLP: x + W2·act(W1·LN(x))",
        simplified: None,
        params: &[
            int(
                "expansion",
                2,
                1,
                16,
                "hidden width as a multiple of d_model",
            ),
            choice(
                "activation",
                "gelu",
                &["relu", "gelu", "silu", "tanh"],
                "activation",
            ),
        ],
    },
    build,
    check: no_check,
};

struct MlpBlock {
    ln: LayerNorm,
    mlp: Mlp,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let act = Act::parse(p.str("activation")?).unwrap_or(Act::Gelu);
    let d = ctx.d_model;
    Ok(Box::new(MlpBlock {
        ln: LayerNorm::new(d, vb.pp("ln"))?,
        mlp: Mlp::new(d, d * p.usize("expansion")?, d, act, vb.pp("mlp"))?,
    }))
}

impl Block for MlpBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        x + self.mlp.forward(&self.ln.forward(x)?)?
    }
}
