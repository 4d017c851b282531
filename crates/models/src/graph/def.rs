//! The definition of a declarative block or head, as data (JSON or TOML): a sequence of
//! primitive layers over (batch, seq, width), with nesting for residual, skip, parallel and
//! repeated sub-sequences. See `docs/models.md`, "User components", for the reference.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One primitive layer (`{"op": "...", ...}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Layer {
    /// Dense layer over the width: width → `out` (default: unchanged).
    Linear {
        /// Output width.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out: Option<usize>,
        /// Output width as a multiple of the input width (when `out` is absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mult: Option<usize>,
        /// With a bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Causal 1-D convolution along seq (left zero padding `(kernel-1)·dilation`).
    Conv1d {
        /// Output width (default: unchanged).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out: Option<usize>,
        /// Output width as a multiple of the input width (when `out` is absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mult: Option<usize>,
        /// Kernel size.
        kernel: usize,
        /// Dilation (default 1).
        #[serde(default = "one")]
        dilation: usize,
    },
    /// Multi-head self-attention over seq (width divisible by `heads`; width unchanged).
    Attention {
        /// Heads.
        heads: usize,
    },
    /// An LSTM layer over seq: width → `out` hidden (default: unchanged), every step returned.
    Lstm {
        /// Hidden width.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out: Option<usize>,
        /// Output width as a multiple of the input width (when `out` is absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mult: Option<usize>,
    },
    /// A GRU layer over seq: width → `out` hidden (default: unchanged), every step returned.
    Gru {
        /// Hidden width.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        out: Option<usize>,
        /// Output width as a multiple of the input width (when `out` is absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mult: Option<usize>,
    },
    /// Layer normalisation over the width.
    Norm {},
    /// An activation.
    Act {
        /// `relu`, `gelu`, `silu`, `tanh` or `sigmoid`.
        #[serde(rename = "fn")]
        func: ActFn,
    },
    /// Gating: the width is split in halves a, b → `a·σ(b)` (glu) or `tanh(a)·σ(b)`
    /// (tanh_sigmoid); the width halves.
    Gate {
        /// `glu` or `tanh_sigmoid`.
        kind: GateKind,
    },
    /// `x + layers(x)`; the inner layers keep the shape.
    Residual {
        /// Inner layers.
        layers: Vec<Layer>,
    },
    /// The layers in sequence; the output is the sum of every layer's output (each stage
    /// skips to the end). Every layer's output has the shape of the last one.
    Skip {
        /// Inner layers.
        layers: Vec<Layer>,
    },
    /// Branches applied to the same input, combined by `sum`, `mul` or `concat` (widths
    /// add); a branch whose seq is 1 broadcasts along seq.
    Parallel {
        /// The branches, each a layer sequence.
        branches: Vec<Vec<Layer>>,
        /// How they combine.
        combine: Combine,
    },
    /// The inner layers `times` times in sequence, each copy with its own weights.
    Repeat {
        /// Copies.
        times: usize,
        /// Inner layers (must keep the shape when `times` > 1).
        layers: Vec<Layer>,
    },
    /// Magnitude of the discrete Fourier transform along seq, per channel: seq T → T/2+1
    /// frequencies (a matmul with fixed cosine and sine matrices; no weights).
    Fft {},
    /// Pooling over all of seq: seq → 1.
    Pool {
        /// `mean`, `max` or `last`.
        kind: PoolKind,
    },
    /// Swaps seq and width: (B, T, C) → (B, C, T) (mixing along time with `linear`).
    Transpose {},
    /// Reshapes (B, T, C) → (B, seq, T·C/seq) in row-major order (consecutive steps become
    /// patches when seq divides T).
    Reshape {
        /// New seq length; must divide T·C.
        seq: usize,
    },
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}

/// Activation names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActFn {
    /// max(0, x)
    Relu,
    /// GELU (tanh approximation).
    Gelu,
    /// x·σ(x)
    Silu,
    /// tanh
    Tanh,
    /// σ(x)
    Sigmoid,
}

/// Gating kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateKind {
    /// a·σ(b)
    Glu,
    /// tanh(a)·σ(b) (WaveNet).
    TanhSigmoid,
}

/// How parallel branches combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Elementwise sum.
    Sum,
    /// Elementwise product.
    Mul,
    /// Concatenation along the width.
    Concat,
}

/// Pooling kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    /// Mean over seq.
    Mean,
    /// Maximum over seq.
    Max,
    /// The last step.
    Last,
}

/// A declarative backbone block: (B, seq_len, d_model) → (B, seq_len, d_model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockDef {
    /// One line: what it computes.
    #[serde(default)]
    pub summary: String,
    /// The layers, in order; the last one must leave (seq_len, d_model).
    pub layers: Vec<Layer>,
}

/// A declarative head: layers over the backbone's last-step state (B, 1, d_model) leaving
/// width w, then a built-in head `family` (gbm, student_t, mixture, …) built on width w.
/// So the head's own network (a trunk) is declared, and the distribution and its sampler are
/// a tested built-in's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadDef {
    /// One line: what it computes.
    #[serde(default)]
    pub summary: String,
    /// A built-in head name.
    pub family: String,
    /// The family's hyperparameters (as in a spec's `head.params`).
    #[serde(default)]
    pub params: Value,
    /// The trunk's layers (may be empty).
    #[serde(default)]
    pub layers: Vec<Layer>,
}

/// A whole definition: `{"kind": "block", ...}` or `{"kind": "head", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Definition {
    /// A block.
    Block(BlockDef),
    /// A head.
    Head(HeadDef),
}
