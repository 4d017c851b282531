//! Crossformer block (Zhang & Yan 2023): dimension-segment-wise (DSW) embedding and two-stage
//! attention (TSA) layers, then a linear map of every segment embedding back to its values.
//!
//! DSW: each of the d_model channels ("dimensions") is cut into segments of length L_seg
//! (front-padded by repeating the first value), each segment is embedded by a shared linear map
//! plus a learned (dimension, segment) position. TSA: cross-time stage = self-attention over the
//! segments of each dimension (post-norm + MLP); cross-dimension stage = c learned router
//! vectors per segment gather from all dimensions (attention router ← dimensions) and
//! distribute back (attention dimensions ← routers), post-norm + MLP. The output segments are
//! mapped back to L_seg values each, the front padding is dropped, and the result is added to
//! the input.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::attn::CrossAttention;
use super::{Block, BlockEntry, BuildCtx};
use crate::nn::attention::MultiHeadAttention;
use crate::nn::{Act, LayerNorm, Linear, Mlp};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "crossformer",
        kind: ComponentKind::Block,
        summary: "Crossformer: dimension-segment-wise embedding, two-stage attention (cross-time, cross-dimension via routers)",
        simplified: Some(
            "one scale: no segment merging / hierarchical encoder-decoder; segments are \
             mapped back to values (reconstruction) and added to the input; no dropout",
        ),
        params: &[
            int("seg_len", 8, 1, 256, "segment length L_seg"),
            int("d_seg", 32, 4, 512, "segment embedding width"),
            int("num_layers", 1, 1, 6, "two-stage attention layers"),
            int("n_heads", 4, 1, 32, "attention heads (must divide d_seg)"),
            int("n_routers", 4, 1, 64, "router vectors c per segment"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, ctx: BuildCtx) -> std::result::Result<(), String> {
    if !p.usize("d_seg")?.is_multiple_of(p.usize("n_heads")?) {
        return Err(format!(
            "n_heads: {} does not divide d_seg {}",
            p.usize("n_heads")?,
            p.usize("d_seg")?
        ));
    }
    if p.usize("seg_len")? > ctx.seq_len {
        return Err(format!(
            "seg_len: {} is longer than seq_len {}",
            p.usize("seg_len")?,
            ctx.seq_len
        ));
    }
    Ok(())
}

struct Tsa {
    time_attn: MultiHeadAttention,
    norm1: LayerNorm,
    mlp1: Mlp,
    norm2: LayerNorm,
    router: Tensor,
    sender: CrossAttention,
    receiver: CrossAttention,
    norm3: LayerNorm,
    mlp2: Mlp,
    norm4: LayerNorm,
}

impl Tsa {
    /// (B, D, S, e) → (B, D, S, e).
    fn forward(&self, z: &Tensor) -> Result<Tensor> {
        let (b, dims, s, e) = z.dims4()?;
        // Cross-time stage: attention over the segments of each dimension.
        let zt = z.reshape((b * dims, s, e))?;
        let zt = self.norm1.forward(&(&zt + self.time_attn.forward(&zt)?)?)?;
        let zt = self.norm2.forward(&(&zt + self.mlp1.forward(&zt)?)?)?;
        // Cross-dimension stage: routers gather from and distribute to the dimensions.
        let zd = zt
            .reshape((b, dims, s, e))?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b * s, dims, e))?;
        let c = self.router.dim(1)?;
        let router = self
            .router
            .unsqueeze(0)?
            .broadcast_as((b, s, c, e))?
            .contiguous()?
            .reshape((b * s, c, e))?;
        let buffer = self.sender.forward(&router, &zd)?; // (B·S, c, e)
        let received = self.receiver.forward(&zd, &buffer)?; // (B·S, D, e)
        let zd = self.norm3.forward(&(&zd + received)?)?;
        let zd = self.norm4.forward(&(&zd + self.mlp2.forward(&zd)?)?)?;
        zd.reshape((b, s, dims, e))?.transpose(1, 2)?.contiguous()
    }
}

struct Crossformer {
    embed: Linear,
    pos: Tensor,
    norm: LayerNorm,
    layers: Vec<Tsa>,
    head: Linear,
    seg_len: usize,
    n_seg: usize,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let (seg_len, e, h) = (p.usize("seg_len")?, p.usize("d_seg")?, p.usize("n_heads")?);
    let n_seg = ctx.seq_len.div_ceil(seg_len.max(1));
    let small = Init::Randn {
        mean: 0.0,
        stdev: 0.02,
    };
    let layers = (0..p.usize("num_layers")?)
        .map(|i| {
            let vb = vb.pp(format!("l{i}"));
            Ok(Tsa {
                time_attn: MultiHeadAttention::new(e, h, vb.pp("time_attn"))?,
                norm1: LayerNorm::new(e, vb.pp("norm1"))?,
                mlp1: Mlp::new(e, 2 * e, e, Act::Gelu, vb.pp("mlp1"))?,
                norm2: LayerNorm::new(e, vb.pp("norm2"))?,
                router: vb.get_with_hints((n_seg, p.usize("n_routers")?, e), "router", small)?,
                sender: CrossAttention::new(e, h, vb.pp("sender"))?,
                receiver: CrossAttention::new(e, h, vb.pp("receiver"))?,
                norm3: LayerNorm::new(e, vb.pp("norm3"))?,
                mlp2: Mlp::new(e, 2 * e, e, Act::Gelu, vb.pp("mlp2"))?,
                norm4: LayerNorm::new(e, vb.pp("norm4"))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Box::new(Crossformer {
        embed: Linear::new(seg_len, e, vb.pp("embed"))?,
        pos: vb.get_with_hints((d, n_seg, e), "pos", small)?,
        norm: LayerNorm::new(e, vb.pp("norm"))?,
        layers,
        head: Linear::new(e, seg_len, vb.pp("head"))?,
        seg_len,
        n_seg,
    }))
}

impl Block for Crossformer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let len = self.n_seg * self.seg_len;
        if len < t || len - t >= self.seg_len {
            candle_core::bail!("crossformer was built for another seq_len than {t}");
        }
        let xt = x.transpose(1, 2)?.contiguous()?; // (B, D, T)
        let xt = if len > t {
            let first = xt.narrow(2, 0, 1)?.broadcast_as((b, d, len - t))?;
            Tensor::cat(&[&first, &xt], 2)?
        } else {
            xt
        };
        let segs = xt.reshape((b, d, self.n_seg, self.seg_len))?;
        let mut z = self
            .norm
            .forward(&self.embed.forward(&segs)?.broadcast_add(&self.pos)?)?;
        for l in &self.layers {
            z = l.forward(&z)?;
        }
        let y = self
            .head
            .forward(&z)? // (B, D, S, L_seg)
            .reshape((b, d, len))?
            .narrow(2, len - t, t)?
            .transpose(1, 2)?;
        x + y
    }
}
