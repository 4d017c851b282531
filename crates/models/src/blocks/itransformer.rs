//! iTransformer block: each channel's whole series is one token (T → d_embed), a Transformer
//! encoder attends across channels, and a linear map returns each token to length T; residual.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{Block, BlockEntry, BuildCtx};
use crate::nn::attention::EncoderLayer;
use crate::nn::{LayerNorm, Linear};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "itransformer",
        kind: ComponentKind::Block,
        summary: "iTransformer: series-as-token embedding, attention across channels",
        simplified: Some("tokens are the d_model projected channels rather than raw variates"),
        params: &[
            int("d_embed", 64, 4, 1024, "token width"),
            int("num_layers", 1, 1, 12, "encoder layers"),
            int("n_heads", 4, 1, 32, "attention heads (must divide d_embed)"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, _: BuildCtx) -> std::result::Result<(), String> {
    if !p.usize("d_embed")?.is_multiple_of(p.usize("n_heads")?) {
        return Err(format!(
            "n_heads: {} does not divide d_embed {}",
            p.usize("n_heads")?,
            p.usize("d_embed")?
        ));
    }
    Ok(())
}

struct ITransformer {
    embed: Linear,
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
    out: Linear,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let e = p.usize("d_embed")?;
    let layers = (0..p.usize("num_layers")?)
        .map(|i| EncoderLayer::new(e, p.usize("n_heads")?, 2 * e, vb.pp(format!("l{i}"))))
        .collect::<Result<_>>()?;
    Ok(Box::new(ITransformer {
        embed: Linear::new(ctx.seq_len, e, vb.pp("embed"))?,
        layers,
        norm: LayerNorm::new(e, vb.pp("norm"))?,
        out: Linear::new(e, ctx.seq_len, vb.pp("out"))?,
    }))
}

impl Block for ITransformer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let xt = x.transpose(1, 2)?.contiguous()?; // (B, d, T)
        let mut h = self.embed.forward(&xt)?;
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        let y = self.out.forward(&self.norm.forward(&h)?)?; // (B, d, T)
        x + y.transpose(1, 2)?
    }
}
