//! Shared helpers of the fused CPU ops (`softmax`, `gelu`, `layernorm`, `lstm_scan`,
//! `gru_scan`, `selective_scan`, `causal_conv`).

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

/// Σ a·b, in eight lanes so that it vectorises.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            acc[k] += x[k] * y[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Σ a, in eight lanes so that it vectorises.
#[inline(always)]
pub fn sum(a: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let c = a.chunks_exact(8);
    let tail: f32 = c.remainder().iter().sum();
    for x in c {
        for k in 0..8 {
            acc[k] += x[k];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// What a fused op's forward pass keeps for its backward pass (taken once; the backward pass
/// recomputes it when absent).
pub struct Kept<T>(std::sync::Mutex<Option<T>>);

impl<T> Default for Kept<T> {
    fn default() -> Self {
        Self(std::sync::Mutex::new(None))
    }
}

impl<T> Kept<T> {
    /// Keeps `v` (replacing what was kept).
    pub fn put(&self, v: T) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(v);
        }
    }

    /// Takes what was kept, if anything.
    pub fn take(&self) -> Option<T> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

/// The f32 values of a contiguous CPU tensor, borrowed from its storage (a backward pass
/// reads its inputs without copying them): bind the guard, then call
/// `values(&guard, layout, op)`.
pub fn values<'a>(storage: &'a candle_core::Storage, l: &Layout, op: &str) -> Result<&'a [f32]> {
    match storage {
        candle_core::Storage::Cpu(s) => f32_slice(s, l, op),
        _ => candle_core::bail!("{op} runs on the CPU only"),
    }
}
