//! Temporal Fusion Transformer block (Lim et al. 2021), the temporal part: variable selection
//! over the d_model channels (softmax weights from a gated residual network, GRN), an LSTM
//! local encoder with a gated skip, static-free enrichment GRN, causal interpretable multi-head
//! attention (per-head queries/keys, one shared value projection, head-averaged weights) with a
//! gated skip, a position-wise GRN, and a final gated skip to the LSTM output.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::attn::{causal_mask, split_heads};
use super::lstm::LstmLayer;
use super::{Block, BlockEntry, BuildCtx};
use crate::nn::layers::{sigmoid, softmax_last};
use crate::nn::{LayerNorm, Linear};
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "tft",
        kind: ComponentKind::Block,
        summary: "Temporal Fusion Transformer: GRN variable selection, LSTM encoder, causal interpretable attention, gated skips",
        simplified: Some(
            "no static covariates or known-future inputs (no static encoders / context); the \
             d_model channels are the variables, each embedded linearly (no per-variable GRN); \
             one LSTM encoder, no decoder; no dropout",
        ),
        params: &[
            int("n_heads", 4, 1, 32, "attention heads (must divide d_model)"),
            int("lstm_layers", 1, 1, 4, "stacked LSTM layers in the local encoder"),
        ],
    },
    build,
    check,
};

fn check(p: &Resolved, ctx: BuildCtx) -> std::result::Result<(), String> {
    super::transformer::check(p, ctx)
}

/// ELU(α = 1), which candle differentiates.
fn elu(x: &Tensor) -> Result<Tensor> {
    x.elu(1.0)
}

/// Gated linear unit: σ(W₁x) ⊙ W₂x, with both maps in one `Linear(d → 2d)`.
struct Glu {
    lin: Linear,
    d: usize,
}

impl Glu {
    fn new(d: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            lin: Linear::new(d, 2 * d, vb)?,
            d,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let a = self.lin.forward(x)?;
        sigmoid(&a.narrow(2, 0, self.d)?)? * a.narrow(2, self.d, self.d)?
    }
}

/// Gate, add and norm: LN(skip + GLU(x)).
struct GateAddNorm {
    glu: Glu,
    ln: LayerNorm,
}

impl GateAddNorm {
    fn new(d: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            glu: Glu::new(d, vb.pp("glu"))?,
            ln: LayerNorm::new(d, vb.pp("ln"))?,
        })
    }

    fn forward(&self, x: &Tensor, skip: &Tensor) -> Result<Tensor> {
        self.ln.forward(&(skip + self.glu.forward(x)?)?)
    }
}

/// Gated residual network without context: LN(x + GLU(W₁ ELU(W₂ x + b₂) + b₁)).
struct Grn {
    fc2: Linear,
    fc1: Linear,
    gate: GateAddNorm,
}

impl Grn {
    fn new(d: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            fc2: Linear::new(d, d, vb.pp("fc2"))?,
            fc1: Linear::new(d, d, vb.pp("fc1"))?,
            gate: GateAddNorm::new(d, vb.pp("gate"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let eta1 = self.fc1.forward(&elu(&self.fc2.forward(x)?)?)?;
        self.gate.forward(&eta1, x)
    }
}

struct Tft {
    select: Grn,
    var_w: Tensor,
    var_b: Tensor,
    lstm: Vec<LstmLayer>,
    lstm_gate: GateAddNorm,
    enrich: Grn,
    q: Linear,
    k: Linear,
    v: Linear,
    attn_out: Linear,
    attn_gate: GateAddNorm,
    ff: Grn,
    out_gate: GateAddNorm,
    n_heads: usize,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let h = p.usize("n_heads")?;
    if h == 0 || !d.is_multiple_of(h) {
        candle_core::bail!("n_heads {h} does not divide d_model {d}");
    }
    let hd = d / h;
    // Each variable j (a scalar channel) is embedded as x_j·w_j + b_j (PyTorch Linear(1, d) init).
    let unit = Init::Uniform { lo: -1.0, up: 1.0 };
    let lstm = (0..p.usize("lstm_layers")?)
        .map(|i| LstmLayer::new(d, d, vb.pp(format!("lstm{i}"))))
        .collect::<Result<_>>()?;
    Ok(Box::new(Tft {
        select: Grn::new(d, vb.pp("select"))?,
        var_w: vb.get_with_hints((d, d), "var_w", unit)?,
        var_b: vb.get_with_hints((d, d), "var_b", unit)?,
        lstm,
        lstm_gate: GateAddNorm::new(d, vb.pp("lstm_gate"))?,
        enrich: Grn::new(d, vb.pp("enrich"))?,
        q: Linear::new(d, d, vb.pp("q"))?,
        k: Linear::new(d, d, vb.pp("k"))?,
        v: Linear::new(d, hd, vb.pp("v"))?,
        attn_out: Linear::new(hd, d, vb.pp("attn_out"))?,
        attn_gate: GateAddNorm::new(d, vb.pp("attn_gate"))?,
        ff: Grn::new(d, vb.pp("ff"))?,
        out_gate: GateAddNorm::new(d, vb.pp("out_gate"))?,
        n_heads: h,
    }))
}

impl Tft {
    /// Interpretable multi-head attention, causal: Ã = mean_h softmax(Q_h K_hᵀ/√d_h + mask),
    /// output W_H (Ã · V) with V shared by the heads.
    fn attention(&self, x: &Tensor) -> Result<Tensor> {
        let (_, t, d) = x.dims3()?;
        let hd = d / self.n_heads;
        let q = split_heads(&self.q.forward(x)?, self.n_heads)?;
        let k = split_heads(&self.k.forward(x)?, self.n_heads)?;
        let v = self.v.forward(x)?; // (B, T, hd)
        let scores = (q.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?
            .broadcast_add(&causal_mask(t, x.device())?.to_dtype(x.dtype())?)?;
        let att = softmax_last(&scores)?.mean(1)?; // (B, T, T)
        self.attn_out.forward(&att.matmul(&v)?)
    }
}

impl Block for Tft {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        // Variable selection: v = softmax(GRN(x)); ξ = Σ_j v_j (x_j w_j + b_j).
        let v = softmax_last(&self.select.forward(x)?)?;
        let flat = |a: &Tensor| a.reshape((b * t, d));
        let xi = (flat(&(&v * x)?)?.matmul(&self.var_w)? + flat(&v)?.matmul(&self.var_b)?)?
            .reshape((b, t, d))?;
        let mut h = xi.clone();
        for l in &self.lstm {
            h = l.forward(&h)?;
        }
        let phi = self.lstm_gate.forward(&h, &xi)?;
        let theta = self.enrich.forward(&phi)?;
        let delta = self.attn_gate.forward(&self.attention(&theta)?, &theta)?;
        let psi = self.ff.forward(&delta)?;
        self.out_gate.forward(&psi, &phi)
    }
}
