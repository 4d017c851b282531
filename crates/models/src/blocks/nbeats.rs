//! N-BEATS-style block: a stack of fully connected sub-blocks over the time axis of each
//! channel with doubly residual links (each sub-block removes its backcast from the input and
//! adds its forecast to the output). The output is the remaining residual plus the sum of
//! forecasts, so every backcast layer (the last one included) shapes the result.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::nn::Linear;
use crate::registry::{int, ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "nbeats",
        kind: ComponentKind::Block,
        summary: "N-BEATS-style doubly residual MLP stack over the time axis, per channel",
        simplified: Some(
            "generic basis only (no trend/seasonality bases); the 'forecast' of each sub-block \
             is a length-T representation added to the input instead of a future window",
        ),
        params: &[
            int("num_blocks", 3, 1, 16, "sub-blocks in the stack"),
            int("hidden", 128, 8, 4096, "width of each sub-block's layers"),
            int("num_layers", 2, 1, 8, "hidden layers per sub-block"),
        ],
    },
    build,
    check: no_check,
};

struct Sub {
    layers: Vec<Linear>,
    backcast: Linear,
    forecast: Linear,
}

struct NBeats {
    subs: Vec<Sub>,
}

fn build(p: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let t = ctx.seq_len;
    let hid = p.usize("hidden")?;
    let subs = (0..p.usize("num_blocks")?)
        .map(|i| {
            let vb = vb.pp(format!("b{i}"));
            let layers = (0..p.usize("num_layers")?)
                .map(|j| Linear::new(if j == 0 { t } else { hid }, hid, vb.pp(format!("fc{j}"))))
                .collect::<Result<_>>()?;
            Ok(Sub {
                layers,
                backcast: Linear::new(hid, t, vb.pp("backcast"))?,
                forecast: Linear::new(hid, t, vb.pp("forecast"))?,
            })
        })
        .collect::<Result<_>>()?;
    Ok(Box::new(NBeats { subs }))
}

impl Block for NBeats {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let xt = x.transpose(1, 2)?.contiguous()?; // (B, d, T)
        let mut resid = xt;
        let mut out: Option<Tensor> = None;
        for s in &self.subs {
            let mut h = resid.clone();
            for l in &s.layers {
                h = l.forward(&h)?.relu()?;
            }
            resid = (resid - s.backcast.forward(&h)?)?;
            let f = s.forecast.forward(&h)?;
            out = Some(match out {
                Some(o) => (o + f)?,
                None => f,
            });
        }
        // remaining residual + Σ forecasts = x − Σ backcasts + Σ forecasts
        let out = match out {
            Some(o) => (resid + o)?,
            None => resid,
        };
        out.transpose(1, 2)?.contiguous()
    }
}
