//! WaveNet block (van den Oord et al., 2016): stacks of dilated causal convolutions (dilation
//! 1, 2, 4, … restarting each cycle) with gated activations tanh(f)·σ(g); each layer adds a
//! 1×1 projection of its activations to the residual stream and another to the skip sum; the
//! output is ReLU → 1×1 → ReLU → 1×1 of the skip sum, added to the block's input.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::tcn::GatedConv;
use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::nn::Linear;
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "wavenet",
        kind: ComponentKind::Block,
        summary: "WaveNet: dilated causal convolutions, gated tanh·sigmoid activations, residual and skip connections",
        simplified: Some("no conditioning inputs; channels = d_model throughout"),
        params: &[
            int("kernel_size", 2, 2, 16, "convolution kernel size"),
            int("num_layers", 4, 1, 12, "layers per cycle; layer i has dilation 2^i"),
            int("cycles", 1, 1, 4, "times the dilation pattern repeats"),
        ],
    },
    build,
    check: no_check,
};

struct Layer {
    gate: GatedConv,
    /// The residual projection (none on the last layer, whose stream is not read again).
    res: Option<Linear>,
    skip: Linear,
}

struct WaveNet {
    layers: Vec<Layer>,
    post1: Linear,
    post2: Linear,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let k = p.usize("kernel_size")?;
    let n = p.usize("num_layers")?;
    let cycles = p.usize("cycles")?;
    let mut layers = Vec::new();
    for c in 0..cycles {
        for i in 0..n {
            let vb = vb.pp(format!("c{c}.l{i}"));
            let last = c + 1 == cycles && i + 1 == n;
            layers.push(Layer {
                gate: GatedConv::new(d, k, 1usize << i, vb.clone())?,
                res: if last {
                    None
                } else {
                    Some(Linear::new(d, d, vb.pp("res"))?)
                },
                skip: Linear::new(d, d, vb.pp("skip"))?,
            });
        }
    }
    Ok(Box::new(WaveNet {
        layers,
        post1: Linear::new(d, d, vb.pp("post1"))?,
        post2: Linear::new(d, d, vb.pp("post2"))?,
    }))
}

impl Block for WaveNet {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        let mut skip: Option<Tensor> = None;
        for l in &self.layers {
            let z = l.gate.forward(&h)?;
            if let Some(res) = &l.res {
                h = (&h + res.forward(&z)?)?;
            }
            let s = l.skip.forward(&z)?;
            skip = Some(match skip {
                None => s,
                Some(acc) => (acc + s)?,
            });
        }
        let Some(skip) = skip else {
            return Ok(x.clone());
        };
        let out = self
            .post2
            .forward(&self.post1.forward(&skip.relu()?)?.relu()?)?;
        x + out
    }
}
