//! GRU block: stacked GRU layers (hidden = d_model) returning every step, with a residual.
//! On the CPU each layer (input projection and recurrence) runs as one fused op with a
//! hand-written backward pass (`nn::gru_scan`); elsewhere as a graph of per-step ops.

use candle_core::{DType, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::nn::layers::sigmoid;
use crate::nn::Linear;
use crate::registry::{boolean, int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "gru",
        kind: ComponentKind::Block,
        summary: "Stacked GRU over time (hidden = d_model), all steps returned",
        simplified: None,
        params: &[
            int("num_layers", 1, 1, 8, "stacked GRU layers"),
            boolean("residual", true, "add the input to the output"),
        ],
    },
    build,
    check: no_check,
};

/// One GRU layer (PyTorch gate order r, z, n).
pub struct GruLayer {
    ih: Linear,
    hh: Linear,
}

impl GruLayer {
    /// Parameters `ih.{weight,bias}`, `hh.{weight,bias}`.
    pub fn new(in_dim: usize, hidden: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            ih: Linear::new(in_dim, 3 * hidden, vb.pp("ih"))?,
            hh: Linear::new(hidden, 3 * hidden, vb.pp("hh"))?,
        })
    }

    /// (B, T, in) → (B, T, hidden).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let w = self.hh.weight();
        let b = match self.hh.bias() {
            Some(b) => b.clone(),
            None => Tensor::zeros(w.dim(0)?, w.dtype(), w.device())?,
        };
        if let (true, DType::F32, Some(b_ih)) = (x.device().is_cpu(), x.dtype(), self.ih.bias()) {
            return crate::nn::gru_scan::gru_layer(x, self.ih.weight(), b_ih, w, &b);
        }
        gru_graph(&self.ih.forward(x)?, w, &b)
    }
}

/// The GRU recurrence step by step in candle's graph: hidden states (B, T, H) from the input
/// projection `xp` (B, T, 3H), `w_hh` (3H, H) and `b_hh` (3H). Used off the CPU; the
/// reference the fused `nn::gru_scan::gru_layer` is tested against.
pub fn gru_graph(xp: &Tensor, w_hh: &Tensor, b_hh: &Tensor) -> Result<Tensor> {
    let (b, t, h3) = xp.dims3()?;
    let hh = Linear::from_tensors(w_hh.clone(), Some(b_hh.clone()));
    let mut h = Tensor::zeros((b, h3 / 3), xp.dtype(), xp.device())?;
    let mut outs = Vec::with_capacity(t);
    for s in 0..t {
        let xi = xp.narrow(1, s, 1)?.squeeze(1)?.chunk(3, D::Minus1)?;
        let hi = hh.forward(&h)?.chunk(3, D::Minus1)?;
        let r = sigmoid(&(&xi[0] + &hi[0])?)?;
        let z = sigmoid(&(&xi[1] + &hi[1])?)?;
        let n = (&xi[2] + (r * &hi[2])?)?.tanh()?;
        // h = (1 − z)·n + z·h = n + z·(h − n)
        h = (&n + (z * (&h - &n)?)?)?;
        outs.push(h.clone());
    }
    Tensor::stack(&outs, 1)
}

struct GruBlock {
    layers: Vec<GruLayer>,
    residual: bool,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let layers = (0..p.usize("num_layers")?)
        .map(|i| GruLayer::new(d, d, vb.pp(format!("l{i}"))))
        .collect::<Result<_>>()?;
    Ok(Box::new(GruBlock {
        layers,
        residual: p.bool("residual")?,
    }))
}

impl Block for GruBlock {
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
