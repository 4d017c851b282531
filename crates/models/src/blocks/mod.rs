//! Backbone blocks: each maps (B, T, d_model) → (B, T, d_model). One block per file; the
//! registry below lists them by name with their hyperparameters.

use candle_core::{Result, Tensor};
use candle_nn::VarBuilder;

use crate::registry::{ComponentInfo, Resolved};

pub mod attn;
pub mod autoformer;
pub mod crossformer;
pub mod decomp;
pub mod dlinear;
pub mod fedformer;
pub mod frets;
pub mod gru;
pub mod informer;
pub mod itransformer;
pub mod lstm;
pub mod mamba;
pub mod mlp;
pub mod nbeats;
pub mod patchtst;
pub mod revin;
pub mod tcn;
pub mod tft;
pub mod timesnet;
pub mod transformer;
pub mod wavenet;

/// A backbone block: (B, T, d_model) → (B, T, d_model).
pub trait Block: Send + Sync {
    /// Applies the block.
    fn forward(&self, x: &Tensor) -> Result<Tensor>;
}

/// What a block needs to know to build its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuildCtx {
    /// Channel width.
    pub d_model: usize,
    /// Input sequence length (blocks that mix along time need it).
    pub seq_len: usize,
}

/// A registry entry: the descriptor and the constructor.
pub struct BlockEntry {
    /// Name, summary, hyperparameters.
    pub info: ComponentInfo,
    /// Builds the block from resolved hyperparameters.
    pub build: fn(&Resolved, BuildCtx, VarBuilder) -> Result<Box<dyn Block>>,
    /// Extra validation of resolved hyperparameters against the context (e.g. divisibility).
    pub check: fn(&Resolved, BuildCtx) -> std::result::Result<(), String>,
}

/// No extra constraints.
pub(crate) fn no_check(_: &Resolved, _: BuildCtx) -> std::result::Result<(), String> {
    Ok(())
}

/// Every block, in listing order.
pub static REGISTRY: &[BlockEntry] = &[
    mlp::ENTRY,
    lstm::ENTRY,
    gru::ENTRY,
    transformer::ENTRY,
    tcn::ENTRY,
    nbeats::ENTRY,
    dlinear::ENTRY,
    patchtst::ENTRY,
    revin::ENTRY,
    mamba::ENTRY,
    itransformer::ENTRY,
    frets::ENTRY,
    tft::ENTRY,
    informer::ENTRY,
    autoformer::ENTRY,
    fedformer::ENTRY,
    timesnet::ENTRY,
    crossformer::ENTRY,
    wavenet::ENTRY,
];

/// The registry entry of a block by name.
pub fn entry(name: &str) -> Option<&'static BlockEntry> {
    REGISTRY.iter().find(|e| e.info.name == name)
}

/// Builds a block by name (hyperparameters already resolved).
pub fn build(name: &str, p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    match entry(name) {
        Some(e) => (e.build)(p, ctx, vb),
        None => candle_core::bail!("unknown block `{name}`"),
    }
}
