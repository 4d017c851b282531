//! TCN / WaveNet block: dilated causal Conv1d layers (dilation 1, 2, 4, …) with gated
//! activations tanh(f)·σ(g) and residual 1×1 projections. Causal: left zero padding only.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::nn::Linear;
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "tcn",
        kind: ComponentKind::Block,
        summary: "WaveNet-style stack of dilated causal convolutions with gated activations",
        simplified: None,
        params: &[
            int("kernel_size", 3, 2, 16, "convolution kernel size"),
            int("num_layers", 4, 1, 12, "layers; layer i has dilation 2^i"),
        ],
    },
    build,
    check: no_check,
};

/// A dilated causal convolution d → 2d followed by the gate tanh(f)·σ(g): (B, T, d) → (B, T, d).
/// Parameters `conv.{weight,bias}`. Shared by the TCN and WaveNet blocks.
pub(crate) struct GatedConv {
    w: Tensor,
    b: Tensor,
    dilation: usize,
}

impl GatedConv {
    /// Kernel `k`, `dilation`, width `d`.
    pub(crate) fn new(d: usize, k: usize, dilation: usize, vb: VarBuilder) -> Result<Self> {
        let bound = 1.0 / ((d * k) as f64).sqrt();
        let init = candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let w = vb
            .pp("conv")
            .get_with_hints((2 * d, d, k), "weight", init)?;
        let b = vb.pp("conv").get_with_hints(2 * d, "bias", init)?;
        Ok(Self { w, b, dilation })
    }

    /// The gated activations z (B, T, d), contiguous. The convolution runs in the (B, T, ·)
    /// layout as one product of the shifted inputs (`nn::conv_taps`), not through candle's
    /// channel-first `Conv1d` (a slow backward loop, wrong gradients at batch > 1); the gate
    /// is one fused op (`nn::tanh_gate`).
    pub(crate) fn forward(&self, h: &Tensor) -> Result<Tensor> {
        let y = crate::nn::conv_taps::causal_conv1d(h, &self.w, &self.b, self.dilation)?; // (B, T, 2d)
        crate::nn::tanh_gate::tanh_gate(&y)
    }
}

struct Layer {
    gate: GatedConv,
    res: Linear,
}

struct Tcn {
    layers: Vec<Layer>,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let k = p.usize("kernel_size")?;
    let layers = (0..p.usize("num_layers")?)
        .map(|i| {
            let vb = vb.pp(format!("l{i}"));
            Ok(Layer {
                gate: GatedConv::new(d, k, 1usize << i, vb.clone())?,
                res: Linear::new(d, d, vb.pp("res"))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Box::new(Tcn { layers }))
}

impl Block for Tcn {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for l in &self.layers {
            let z = l.gate.forward(&h)?;
            h = (&h + l.res.forward(&z)?)?;
        }
        Ok(h)
    }
}
