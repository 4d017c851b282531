//! LSTM block: stacked LSTM layers (hidden = d_model) returning every step, with a residual.
//! On the CPU each layer (input projection and recurrence) runs as one fused op with a
//! hand-written backward pass (`nn::lstm_scan`); elsewhere as a graph of per-step ops.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::nn::layers::sigmoid;
use crate::nn::Linear;
use crate::registry::{boolean, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "lstm",
        kind: ComponentKind::Block,
        summary: "Stacked LSTM over time (hidden = d_model), all steps returned",
        simplified: None,
        params: &[
            int("num_layers", 1, 1, 8, "stacked LSTM layers"),
            boolean("residual", true, "add the input to the output"),
        ],
    },
    build,
    check: no_check,
};

/// One LSTM layer (PyTorch gate order i, f, g, o).
pub struct LstmLayer {
    ih: Linear,
    hh: Linear,
}

impl LstmLayer {
    /// Parameters `ih.{weight,bias}`, `hh.weight`.
    pub fn new(in_dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            ih: Linear::new(in_dim, 4 * hidden, vb.pp("ih"))?,
            hh: Linear::no_bias(hidden, 4 * hidden, vb.pp("hh"))?,
        })
    }

    /// (B, T, in) → (B, T, hidden).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let (true, DType::F32, Some(b)) = (x.device().is_cpu(), x.dtype(), self.ih.bias()) {
            return crate::nn::lstm_scan::lstm_layer(x, self.ih.weight(), b, self.hh.weight());
        }
        lstm_graph(&self.ih.forward(x)?, self.hh.weight())
    }
}

/// The LSTM recurrence step by step in candle's graph: hidden states (B, T, H) from the input
/// projection `xp` (B, T, 4H) and `w_hh` (4H, H). Used off the CPU; the reference the fused
/// `nn::lstm_scan::lstm_layer` is tested against.
pub fn lstm_graph(xp: &Tensor, w_hh: &Tensor) -> Result<Tensor> {
    let (b, t, h4) = xp.dims3()?;
    let hh = Linear::from_tensors(w_hh.clone(), None);
    let mut h = Tensor::zeros((b, h4 / 4), xp.dtype(), xp.device())?;
    let mut c = h.clone();
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        let g = (xp.narrow(1, s, 1)?.squeeze(1)? + hh.forward(&h)?)?;
        let gates = g.chunk(4, D::Minus1)?;
        let i = sigmoid(&gates[0])?;
        let f = sigmoid(&gates[1])?;
        let gg = gates[2].tanh()?;
        let o = sigmoid(&gates[3])?;
        c = ((f * &c)? + (i * gg)?)?;
        h = (o * c.tanh()?)?;
        outs.push(h.clone());
    }
    Tensor::stack(&outs, 1)
}

struct LstmBlock {
    layers: Vec<LstmLayer>,
    residual: bool,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let layers = (0..p.usize("num_layers")?)
        .map(|i| LstmLayer::new(d, d, vb.pp(format!("l{i}"))))
        .collect::<Result<_>>()?;
    Ok(Box::new(LstmBlock {
        layers,
        residual: p.bool("residual")?,
    }))
}

impl Block for LstmBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.clone();
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        if self.residual {
            x + h
        } else {
            Ok(h)
        }
    }
}
