//! PatchTST-style block: channel-independent patching of each channel's series (patch length
//! P, stride S, end padding by repetition), a linear patch embedding with learned positions, a
//! Transformer encoder over patches, and a flatten head back to length T; added residually.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::{Block, BlockEntry, BuildCtx};
use crate::nn::attention::EncoderLayer;
use crate::nn::{LayerNorm, Linear};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "patchtst",
        kind: ComponentKind::Block,
        summary: "PatchTST: channel-independent patches → Transformer encoder → flatten head",
        simplified: Some(
            "no patch masking / self-supervised pre-training; output is added to the input",
        ),
        params: &[
            int("patch_len", 16, 2, 512, "patch length P"),
            int("stride", 8, 1, 512, "patch stride S"),
            int("d_embed", 32, 4, 1024, "patch embedding width"),
            int("num_layers", 2, 1, 12, "encoder layers"),
            int("n_heads", 4, 1, 32, "attention heads (must divide d_embed)"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, ctx: BuildCtx) -> std::result::Result<(), String> {
    if p.usize("patch_len")? > ctx.seq_len {
        return Err(format!(
            "patch_len: {} is longer than seq_len {}",
            p.usize("patch_len")?,
            ctx.seq_len
        ));
    }
    if !p.usize("d_embed")?.is_multiple_of(p.usize("n_heads")?) {
        return Err(format!(
            "n_heads: {} does not divide d_embed {}",
            p.usize("n_heads")?,
            p.usize("d_embed")?
        ));
    }
    Ok(())
}

struct PatchTst {
    embed: Linear,
    pos: Tensor,
    layers: Vec<EncoderLayer>,
    norm: LayerNorm,
    head: Linear,
    patch: usize,
    stride: usize,
    n_patches: usize,
}

/// Number of patches for length `t` after padding `stride` repeated values at the end.
pub fn n_patches(t: usize, patch: usize, stride: usize) -> usize {
    (t + stride - patch) / stride + 1
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let (patch, stride, e) = (
        p.usize("patch_len")?,
        p.usize("stride")?,
        p.usize("d_embed")?,
    );
    let n = n_patches(ctx.seq_len, patch, stride);
    let layers = (0..p.usize("num_layers")?)
        .map(|i| EncoderLayer::new(e, p.usize("n_heads")?, 2 * e, vb.pp(format!("l{i}"))))
        .collect::<Result<_>>()?;
    Ok(Box::new(PatchTst {
        embed: Linear::new(patch, e, vb.pp("embed"))?,
        pos: vb.get_with_hints(
            (n, e),
            "pos",
            Init::Randn {
                mean: 0.0,
                stdev: 0.02,
            },
        )?,
        layers,
        norm: LayerNorm::new(e, vb.pp("norm"))?,
        head: Linear::new(n * e, ctx.seq_len, vb.pp("head"))?,
        patch,
        stride,
        n_patches: n,
    }))
}

impl Block for PatchTst {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let xt = x.transpose(1, 2)?.contiguous()?.reshape((b * d, t))?;
        let tail = xt.narrow(1, t - 1, 1)?.broadcast_as((b * d, self.stride))?;
        let padded = Tensor::cat(&[&xt, &tail], 1)?;
        let patches: Vec<Tensor> = (0..self.n_patches)
            .map(|i| padded.narrow(1, i * self.stride, self.patch))
            .collect::<Result<_>>()?;
        let patches = Tensor::stack(&patches, 1)?; // (B·d, n, P)
        let mut h = self.embed.forward(&patches)?.broadcast_add(&self.pos)?;
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        let h = self.norm.forward(&h)?;
        let e = h.dim(2)?;
        let y = self
            .head
            .forward(&h.reshape((b * d, self.n_patches * e))?)?; // (B·d, T)
        let y = y.reshape((b, d, t))?.transpose(1, 2)?;
        x + y
    }
}
