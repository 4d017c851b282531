//! Transformer encoder block: sinusoidal positions, pre-norm encoder layers, final LayerNorm.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{Block, BlockEntry, BuildCtx};
use crate::nn::attention::{sinusoidal, EncoderLayer};
use crate::nn::LayerNorm;
use crate::registry::{boolean, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "transformer",
        kind: ComponentKind::Block,
        summary:
            "Pre-norm Transformer encoder (self-attention + GELU FFN) with sinusoidal positions",
        simplified: None,
        params: &[
            int("num_layers", 2, 1, 12, "encoder layers"),
            int("n_heads", 4, 1, 32, "attention heads (must divide d_model)"),
            int("d_ff", 0, 0, 4096, "feed-forward width; 0 = 4·d_model"),
            boolean("positional", true, "add sinusoidal position encodings"),
        ],
    },
    build,
    check,
};

pub(crate) fn check(p: &Resolved, ctx: BuildCtx) -> std::result::Result<(), String> {
    let h = p.usize("n_heads")?;
    if !ctx.d_model.is_multiple_of(h) {
        return Err(format!(
            "n_heads: {h} does not divide d_model {}",
            ctx.d_model
        ));
    }
    Ok(())
}

struct TransformerBlock {
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
    positional: bool,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let d_ff = match p.usize("d_ff")? {
        0 => 4 * d,
        n => n,
    };
    let layers = (0..p.usize("num_layers")?)
        .map(|i| EncoderLayer::new(d, p.usize("n_heads")?, d_ff, vb.pp(format!("l{i}"))))
        .collect::<Result<_>>()?;
    Ok(Box::new(TransformerBlock {
        layers,
        norm: LayerNorm::new(d, vb.pp("norm"))?,
        positional: p.bool("positional")?,
    }))
}

impl Block for TransformerBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (_, t, d) = x.dims3()?;
        let mut h = if self.positional {
            x.broadcast_add(&sinusoidal(t, d, x.device())?.to_dtype(x.dtype())?)?
        } else {
            x.clone()
        };
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        self.norm.forward(&h)
    }
}
