//! DLinear block: split each channel into a moving-average trend and a seasonal remainder,
//! map each with its own linear layer **along time** (T → T, shared across channels, as in the
//! paper) and add them. Replicate padding at both ends (as the paper), not zero padding.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{Block, BlockEntry, BuildCtx};
use crate::nn::Linear;
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "dlinear",
        kind: ComponentKind::Block,
        summary: "DLinear: moving-average trend/seasonal split, linear maps along time",
        simplified: None,
        params: &[int(
            "kernel_size",
            25,
            1,
            1001,
            "moving-average window (odd)",
        )],
    },
    build,
    check,
};

fn check(p: &Resolved, _: BuildCtx) -> std::result::Result<(), String> {
    if p.usize("kernel_size")?.is_multiple_of(2) {
        return Err("kernel_size: must be odd so the moving average is centred".into());
    }
    Ok(())
}

struct DLinear {
    trend: Linear,
    seasonal: Linear,
    k: usize,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let t = ctx.seq_len;
    Ok(Box::new(DLinear {
        trend: Linear::new(t, t, vb.pp("trend"))?,
        seasonal: Linear::new(t, t, vb.pp("seasonal"))?,
        k: p.usize("kernel_size")?,
    }))
}

/// Centred moving average over dim 1 of (B, T, d) with replicate padding.
pub fn moving_average(x: &Tensor, k: usize) -> Result<Tensor> {
    let (b, t, d) = x.dims3()?;
    let half = k / 2;
    let first = x.narrow(1, 0, 1)?.broadcast_as((b, half, d))?;
    let last = x.narrow(1, t - 1, 1)?.broadcast_as((b, half, d))?;
    let padded = Tensor::cat(&[&first, x, &last], 1)?; // (B, T + 2·half, d)
    let cs = padded.cumsum(1)?;
    let zero = Tensor::zeros((b, 1, d), x.dtype(), x.device())?;
    let cs = Tensor::cat(&[&zero, &cs], 1)?; // cs[i] = sum of padded[..i]
    let hi = cs.narrow(1, k, t)?;
    let lo = cs.narrow(1, 0, t)?;
    (hi - lo)? / k as f64
}

impl Block for DLinear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let trend = moving_average(x, self.k)?;
        let seasonal = (x - &trend)?;
        let tt = self.trend.forward(&trend.transpose(1, 2)?.contiguous()?)?;
        let ss = self
            .seasonal
            .forward(&seasonal.transpose(1, 2)?.contiguous()?)?;
        (tt + ss)?.transpose(1, 2)?.contiguous()
    }
}
