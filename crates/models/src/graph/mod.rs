//! Declarative blocks and heads: components defined as data (JSON or TOML) — a sequence of
//! primitive layers with residual, skip, parallel and repeated sub-sequences — compiled to
//! the same candle layers the built-ins use (`crate::nn`, the LSTM/GRU layers). Nothing a
//! definition holds is executed as code: it is parsed into [`def::Definition`] and walked.
//!
//! Every definition is checked before anything is allocated: shapes at every layer, nesting
//! depth, layer count, the exact parameter count (the constructors run over a counting
//! `VarBuilder`) and a memory estimate, against the caps below.
//!
//! ```
//! let text = r#"{"kind": "block", "layers": [
//!     {"op": "residual", "layers": [
//!         {"op": "conv1d", "kernel": 2, "dilation": 2, "out": 64},
//!         {"op": "gate", "kind": "tanh_sigmoid"}]}]}"#;
//! let def = models::graph::parse(text).unwrap();
//! let ctx = models::blocks::BuildCtx { d_model: 32, seq_len: 64 };
//! let size = models::graph::check(&def, ctx, 288).unwrap();
//! assert_eq!(size.params, 32 * 64 * 2 + 64);
//! ```

pub mod compile;
pub mod def;
mod ops;

use std::sync::atomic::Ordering;

use candle_core::{Result as CResult, Tensor};
use candle_nn::VarBuilder;
use serde::Serialize;

pub use compile::Shape;
pub use def::{BlockDef, Definition, HeadDef, Layer};

use crate::blocks::{Block, BuildCtx};
use crate::heads::{Head, HeadCtx, Noise};
use crate::registry::Resolved;
use crate::ModelError;

/// Largest definition text, in bytes.
pub const MAX_DEFINITION_BYTES: usize = 64 * 1024;
/// Deepest bracket nesting of a definition's text (checked before it is parsed).
pub const MAX_TEXT_NESTING: usize = 32;
/// Deepest nesting of residual / skip / parallel / repeat.
pub const MAX_NESTING: usize = 8;
/// Most layers in one component (each copy of a repeat counts).
pub const MAX_LAYERS: usize = 256;
/// Largest seq or width anywhere in a component.
pub const MAX_DIM: usize = 1 << 20;
/// Largest convolution kernel.
pub const MAX_KERNEL: usize = 64;
/// Largest convolution dilation.
pub const MAX_DILATION: usize = 4096;
/// Most copies of a repeat.
pub const MAX_TIMES: usize = 64;
/// Most trainable parameters in one component.
pub const MAX_PARAMS: u64 = 50_000_000;
/// Most bytes training one component may take (estimate at [`REFERENCE_BATCH`]).
pub const MAX_TRAIN_BYTES: u64 = 8 << 30;
/// The batch size the memory estimate assumes.
pub const REFERENCE_BATCH: u64 = 32;

/// The size of a checked component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Size {
    /// Trainable parameters (exact).
    pub params: u64,
    /// Layers (each copy of a repeat counts).
    pub layers: usize,
    /// Estimated bytes to train it at [`REFERENCE_BATCH`]: weights, gradients and optimiser
    /// state (5 copies) plus activations (twice: forward and gradient) and constants.
    pub train_bytes: u64,
}

fn invalid(e: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidConfig(e.to_string())
}

/// Deepest `[`/`{` nesting of a text (strings are not skipped: it only errs on the safe side).
fn text_nesting(text: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    for c in text.bytes() {
        match c {
            b'[' | b'{' => {
                depth += 1;
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// A definition's text as JSON: JSON when it starts with `{`, TOML otherwise. Size and
/// bracket nesting are checked before parsing.
pub fn to_json(text: &str) -> Result<serde_json::Value, ModelError> {
    if text.len() > MAX_DEFINITION_BYTES {
        return Err(invalid(format!(
            "definition: {} bytes; at most {MAX_DEFINITION_BYTES} are allowed",
            text.len()
        )));
    }
    let nest = text_nesting(text);
    if nest > MAX_TEXT_NESTING {
        return Err(invalid(format!(
            "definition: brackets nested {nest} deep; at most {MAX_TEXT_NESTING} are allowed"
        )));
    }
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| invalid(format!("definition (JSON): {e}")))
    } else {
        let v: toml::Value =
            toml::from_str(text).map_err(|e| invalid(format!("definition (TOML): {e}")))?;
        serde_json::to_value(v).map_err(|e| invalid(format!("definition (TOML): {e}")))
    }
}

/// Parses a definition's text (JSON or TOML).
pub fn parse(text: &str) -> Result<Definition, ModelError> {
    from_value(&to_json(text)?)
}

/// A definition from its JSON value (as embedded in a spec).
pub fn from_value(v: &serde_json::Value) -> Result<Definition, ModelError> {
    if text_nesting(&v.to_string()) > MAX_TEXT_NESTING {
        return Err(invalid(format!(
            "definition: nested deeper than {MAX_TEXT_NESTING}"
        )));
    }
    serde_json::from_value(v.clone()).map_err(|e| invalid(format!("definition: {e}")))
}

fn size_of(params: u64, acc: compile::Acc) -> Result<Size, ModelError> {
    let train_bytes = params
        .saturating_mul(4 * 5)
        .saturating_add(
            acc.act_elems
                .saturating_mul(REFERENCE_BATCH)
                .saturating_mul(4 * 2),
        )
        .saturating_add(acc.const_elems.saturating_mul(4));
    if params > MAX_PARAMS {
        return Err(invalid(format!(
            "definition: {params} parameters; at most {MAX_PARAMS} are allowed (refused before allocating)"
        )));
    }
    if train_bytes > MAX_TRAIN_BYTES {
        return Err(invalid(format!(
            "definition: training it would take about {} MiB at batch {REFERENCE_BATCH}; at most {} MiB are allowed",
            train_bytes >> 20,
            MAX_TRAIN_BYTES >> 20
        )));
    }
    Ok(Size {
        params,
        layers: acc.layers,
        train_bytes,
    })
}

/// Checks a definition in a model of width `ctx.d_model`, window `ctx.seq_len` and
/// `horizon` steps: shapes, nesting, size. Allocates nothing.
pub fn check(def: &Definition, ctx: BuildCtx, horizon: usize) -> Result<Size, ModelError> {
    match def {
        Definition::Block(b) => check_block(b, ctx),
        Definition::Head(h) => check_head(
            h,
            HeadCtx {
                d_model: ctx.d_model,
                horizon,
            },
        ),
    }
}

/// Checks a block definition in a model of `ctx` (see [`check`]).
pub fn check_block(def: &BlockDef, ctx: BuildCtx) -> Result<Size, ModelError> {
    let (vb, total) = crate::estimate::counting_vb();
    let acc = compile_block(def, ctx, &vb)?.1;
    size_of(total.load(Ordering::Relaxed), acc)
}

/// Checks a head definition over a backbone of `ctx.d_model` (see [`check`]).
pub fn check_head(def: &HeadDef, ctx: HeadCtx) -> Result<Size, ModelError> {
    let (vb, total) = crate::estimate::counting_vb();
    let acc = compile_head(def, ctx, &vb)?.1;
    size_of(total.load(Ordering::Relaxed), acc)
}

fn compile_block(
    def: &BlockDef,
    ctx: BuildCtx,
    vb: &VarBuilder,
) -> Result<(UserBlock, compile::Acc), ModelError> {
    if def.layers.is_empty() {
        return Err(invalid("layers: at least one layer is needed"));
    }
    let s = Shape {
        seq: ctx.seq_len,
        width: ctx.d_model,
    };
    let mut acc = compile::Acc::default();
    let (nodes, out) =
        compile::compile(&def.layers, s, 0, "layers", &mut acc, vb).map_err(invalid)?;
    if out != s {
        return Err(invalid(format!(
            "layers: a block must leave (seq {}, width {}) = (seq_len, d_model); these leave (seq {}, width {})",
            s.seq, s.width, out.seq, out.width
        )));
    }
    Ok((UserBlock { nodes }, acc))
}

fn compile_head(
    def: &HeadDef,
    ctx: HeadCtx,
    vb: &VarBuilder,
) -> Result<(UserHead, compile::Acc), ModelError> {
    let Some(entry) = crate::heads::entry(&def.family) else {
        let known: Vec<&str> = crate::heads::REGISTRY.iter().map(|e| e.info.name).collect();
        return Err(invalid(format!(
            "family: unknown head `{}` (known: {})",
            def.family,
            known.join(", ")
        )));
    };
    let params = entry.info.resolve(&def.params, "params").map_err(invalid)?;
    let s = Shape {
        seq: 1,
        width: ctx.d_model,
    };
    let mut acc = compile::Acc::default();
    let (nodes, out) = compile::compile(&def.layers, s, 0, "layers", &mut acc, &vb.pp("trunk"))
        .map_err(invalid)?;
    if out.seq != 1 {
        return Err(invalid(format!(
            "layers: a head's layers must leave seq 1 (they see the last step); these leave seq {}",
            out.seq
        )));
    }
    let family = (entry.build)(
        &params,
        HeadCtx {
            d_model: out.width,
            horizon: ctx.horizon,
        },
        vb.pp(&def.family),
    )
    .map_err(|e| invalid(format!("family: {e}")))?;
    Ok((UserHead { nodes, family }, acc))
}

/// Builds a checked block definition (call [`check`] first: this allocates).
pub fn build_block(def: &BlockDef, ctx: BuildCtx, vb: VarBuilder) -> CResult<Box<dyn Block>> {
    let (b, _) = compile_block(def, ctx, &vb).map_err(candle_core::Error::wrap)?;
    Ok(Box::new(b))
}

/// Builds a checked head definition (call [`check`] first: this allocates).
pub fn build_head(def: &HeadDef, ctx: HeadCtx, vb: VarBuilder) -> CResult<Box<dyn Head>> {
    let (h, _) = compile_head(def, ctx, &vb).map_err(candle_core::Error::wrap)?;
    Ok(Box::new(h))
}

/// The parameters a user component resolves to: none of its own (its definition holds them).
pub fn no_params(name: &str) -> Resolved {
    Resolved::empty(name)
}

struct UserBlock {
    nodes: Vec<ops::Node>,
}

impl Block for UserBlock {
    fn forward(&self, x: &Tensor) -> CResult<Tensor> {
        ops::run(&self.nodes, x)
    }
}

struct UserHead {
    nodes: Vec<ops::Node>,
    family: Box<dyn Head>,
}

impl UserHead {
    fn trunk(&self, h: &Tensor) -> CResult<Tensor> {
        if self.nodes.is_empty() {
            return Ok(h.clone());
        }
        ops::run(&self.nodes, &h.unsqueeze(1)?)?.squeeze(1)
    }
}

impl Head for UserHead {
    fn increments(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
        n_paths: usize,
        noise: &mut Noise,
    ) -> CResult<Tensor> {
        self.family
            .increments(&self.trunk(h)?, scale, horizon, n_paths, noise)
    }

    fn gaussian(
        &self,
        h: &Tensor,
        scale: &Tensor,
        horizon: usize,
    ) -> CResult<Option<(Tensor, Tensor)>> {
        self.family.gaussian(&self.trunk(h)?, scale, horizon)
    }
}
