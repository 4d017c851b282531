//! FreTS block (temporal branch): real DFT along time, a complex-valued linear layer with
//! ReLU over channels at every frequency, inverse DFT back to length T; residual.
//! The DFT is a fixed matrix product (T is small), so gradients flow through it.

use std::f64::consts::PI;

use candle_core::{Device, Result, Tensor};
use candle_nn::{Init, VarBuilder};

use super::{no_check, Block, BlockEntry, BuildCtx};
use crate::registry::{ComponentInfo, ComponentKind, Resolved};

/// Registry entry.
pub const ENTRY: BlockEntry = BlockEntry {
    info: ComponentInfo {
        name: "frets",
        kind: ComponentKind::Block,
        summary: "FreTS: frequency-domain complex MLP (temporal branch), residual",
        simplified: Some("temporal (time-axis) frequency MLP only; no channel-axis FFT branch"),
        params: &[],
    },
    build,
    check: no_check,
};

struct Frets {
    wr: Tensor,
    wi: Tensor,
    br: Tensor,
    bi: Tensor,
    cos: Tensor,
    sin: Tensor,
    icos: Tensor,
    isin: Tensor,
}

/// Forward (T, F) cos/sin and inverse (F, T) matrices of the real DFT, F = T/2 + 1.
fn dft(t: usize, dev: &Device) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let f = t / 2 + 1;
    let (mut c, mut s) = (vec![0f32; t * f], vec![0f32; t * f]);
    let (mut ic, mut is) = (vec![0f32; f * t], vec![0f32; f * t]);
    for n in 0..t {
        for k in 0..f {
            let a = 2.0 * PI * (k * n) as f64 / t as f64;
            c[n * f + k] = a.cos() as f32;
            s[n * f + k] = -a.sin() as f32;
            let w = if k == 0 || (t.is_multiple_of(2) && k == t / 2) {
                1.0
            } else {
                2.0
            } / t as f64;
            ic[k * t + n] = (w * a.cos()) as f32;
            is[k * t + n] = (-w * a.sin()) as f32;
        }
    }
    Ok((
        Tensor::from_vec(c, (t, f), dev)?,
        Tensor::from_vec(s, (t, f), dev)?,
        Tensor::from_vec(ic, (f, t), dev)?,
        Tensor::from_vec(is, (f, t), dev)?,
    ))
}

fn build(_: &Resolved, ctx: BuildCtx, vb: VarBuilder) -> Result<Box<dyn Block>> {
    let d = ctx.d_model;
    let init = Init::Randn {
        mean: 0.0,
        stdev: 0.02,
    };
    let (cos, sin, icos, isin) = dft(ctx.seq_len, vb.device())?;
    Ok(Box::new(Frets {
        wr: vb.get_with_hints((d, d), "wr", init)?,
        wi: vb.get_with_hints((d, d), "wi", init)?,
        br: vb.get_with_hints(d, "br", init)?,
        bi: vb.get_with_hints(d, "bi", init)?,
        cos,
        sin,
        icos,
        isin,
    }))
}

impl Block for Frets {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let xt = x.transpose(1, 2)?.contiguous()?.reshape((b * d, t))?;
        let f = self.cos.dim(1)?;
        // (B, F, d) real and imaginary spectra
        let re = xt
            .matmul(&self.cos)?
            .reshape((b, d, f))?
            .transpose(1, 2)?
            .contiguous()?;
        let im = xt
            .matmul(&self.sin)?
            .reshape((b, d, f))?
            .transpose(1, 2)?
            .contiguous()?;
        let mm = |a: &Tensor, w: &Tensor| a.reshape((b * f, d))?.matmul(w)?.reshape((b, f, d));
        let yr = ((mm(&re, &self.wr)? - mm(&im, &self.wi)?)?.broadcast_add(&self.br)?).relu()?;
        let yi = ((mm(&im, &self.wr)? + mm(&re, &self.wi)?)?.broadcast_add(&self.bi)?).relu()?;
        // inverse: (B, d, F) · (F, T)
        let yr = yr.transpose(1, 2)?.contiguous()?.reshape((b * d, f))?;
        let yi = yi.transpose(1, 2)?.contiguous()?.reshape((b * d, f))?;
        let y = (yr.matmul(&self.icos)? + yi.matmul(&self.isin)?)?;
        x + y.reshape((b, d, t))?.transpose(1, 2)?
    }
}
