//! Shared helper of the fused CPU ops (`softmax`, `gelu`, `layernorm`, `lstm_scan`).

use candle_core::{CpuStorage, Layout, Result};

/// The f32 values of a contiguous CPU tensor, or an error naming the op.
pub fn f32_slice<'a>(s: &'a CpuStorage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    let Some((a, b)) = l.contiguous_offsets() else {
        candle_core::bail!("{op} needs contiguous inputs");
    };
    match s {
        CpuStorage::F32(v) => Ok(&v[a..b]),
        _ => candle_core::bail!("{op} supports f32 only"),
    }
}
