//! Multi-head self-attention, a pre-norm Transformer encoder layer, sinusoidal positions.

use candle_core::{DType, Device, Module, Result, Tensor, D};
use candle_nn::VarBuilder;

use super::layers::{softmax_last, Act, LayerNorm, Linear, Mlp};

/// Multi-head scaled dot-product attention (no mask) over (B, T, d).
#[derive(Debug, Clone)]
pub struct MultiHeadAttention {
    qkv: Linear,
    out: Linear,
    n_heads: usize,
}

impl MultiHeadAttention {
    /// `d_model` must be divisible by `n_heads` (checked by the caller's validation).
    pub fn new(d_model: usize, n_heads: usize, vb: VarBuilder) -> Result<Self> {
        if n_heads == 0 || !d_model.is_multiple_of(n_heads) {
            candle_core::bail!("d_model {d_model} is not divisible by n_heads {n_heads}");
        }
        Ok(Self {
            qkv: Linear::new(d_model, 3 * d_model, vb.pp("qkv"))?,
            out: Linear::new(d_model, d_model, vb.pp("out"))?,
            n_heads,
        })
    }
}

impl Module for MultiHeadAttention {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let qkv = self.qkv.forward(x)?;
        let y = if qkv.device().is_cpu() && qkv.dtype() == DType::F32 {
            super::sdpa::sdpa(&qkv, self.n_heads)?
        } else {
            attention_graph(&qkv, self.n_heads)?
        };
        self.out.forward(&y)
    }
}

/// Multi-head attention in candle's graph, from the fused projection `qkv` (B, T, 3d) to
/// (B, T, d): used off the CPU; the reference the fused `nn::sdpa` is tested against.
pub fn attention_graph(qkv: &Tensor, n_heads: usize) -> Result<Tensor> {
    let (b, t, d3) = qkv.dims3()?;
    let d = d3 / 3;
    let hd = d / n_heads;
    let qkv = qkv.reshape((b, t, 3, n_heads, hd))?;
    // (3, B, H, T, hd)
    let qkv = qkv.permute((2, 0, 3, 1, 4))?;
    // Scaling q (B·H·T·hd values) rather than the scores (B·H·T·T) is the same product.
    let q = (qkv.get(0)?.contiguous()? * (1.0 / (hd as f64).sqrt()))?;
    let k = qkv.get(1)?.contiguous()?;
    let v = qkv.get(2)?.contiguous()?;
    let scores = q.matmul(&k.t()?)?;
    let att = softmax_last(&scores)?;
    let y = att.matmul(&v)?; // (B, H, T, hd)
    y.transpose(1, 2)?.reshape((b, t, d))
}

/// Pre-norm encoder layer: x + MHA(LN(x)), then x + FFN(LN(x)) with GELU.
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    ln1: LayerNorm,
    attn: MultiHeadAttention,
    ln2: LayerNorm,
    ffn: Mlp,
}

impl EncoderLayer {
    /// Parameters under `ln1`, `attn`, `ln2`, `ffn`.
    pub fn new(d_model: usize, n_heads: usize, d_ff: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            ln1: LayerNorm::new(d_model, vb.pp("ln1"))?,
            attn: MultiHeadAttention::new(d_model, n_heads, vb.pp("attn"))?,
            ln2: LayerNorm::new(d_model, vb.pp("ln2"))?,
            ffn: Mlp::new(d_model, d_ff, d_model, Act::Gelu, vb.pp("ffn"))?,
        })
    }
}

impl EncoderLayer {
    /// The layer in the separate ops (layer norm, projections, attention, MLP, residual
    /// adds): off the CPU, and the reference the fused halves are tested against.
    pub fn forward_composed(&self, x: &Tensor) -> Result<Tensor> {
        let x = (x + self.attn.forward(&self.ln1.forward(x)?)?)?;
        &x + self.ffn.forward(&self.ln2.forward(&x)?)?
    }

    /// The two halves as one fused op each (`nn::encoder_op`), when `x` is an f32 (B, T, d)
    /// tensor on the CPU and every projection has its bias.
    fn forward_fused(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (fc1, fc2, act) = self.ffn.parts();
        let a = &self.attn;
        let (Some(bq), Some(bo), Some(b1), Some(b2)) =
            (a.qkv.bias(), a.out.bias(), fc1.bias(), fc2.bias())
        else {
            return Ok(None);
        };
        if !(x.device().is_cpu() && x.dtype() == DType::F32 && x.rank() == 3 && act == Act::Gelu) {
            return Ok(None);
        }
        let h = super::encoder_op::attention_half(
            x,
            self.ln1.params(),
            (a.qkv.weight(), bq),
            (a.out.weight(), bo),
            a.n_heads,
        )?;
        let y = super::encoder_op::ffn_half(
            &h,
            self.ln2.params(),
            (fc1.weight(), b1),
            (fc2.weight(), b2),
        )?;
        Ok(Some(y))
    }
}

impl Module for EncoderLayer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self.forward_fused(x)? {
            Some(y) => Ok(y),
            None => self.forward_composed(x),
        }
    }
}

/// Sinusoidal position encoding (T, d): sin on even, cos on odd channels, base 10,000.
/// The values of the last (T, d) asked for are kept (a training step asks for the same one
/// every time, and computing it in f64 was 1 % of a Transformer step).
pub fn sinusoidal(t: usize, d: usize, device: &Device) -> Result<Tensor> {
    type Table = ((usize, usize), std::sync::Arc<Vec<f32>>);
    static LAST: std::sync::Mutex<Option<Table>> = std::sync::Mutex::new(None);
    let cached = LAST.lock().ok().and_then(|g| {
        g.as_ref()
            .filter(|(k, _)| *k == (t, d))
            .map(|(_, v)| v.clone())
    });
    let values = match cached {
        Some(v) => v,
        None => {
            let v = std::sync::Arc::new(sinusoidal_values(t, d));
            if let Ok(mut g) = LAST.lock() {
                *g = Some(((t, d), v.clone()));
            }
            v
        }
    };
    Tensor::from_slice(&values, (t, d), device)
}

fn sinusoidal_values(t: usize, d: usize) -> Vec<f32> {
    let mut v = vec![0f32; t * d];
    for pos in 0..t {
        for i in 0..d {
            let freq = 1.0 / 10_000f64.powf((2 * (i / 2)) as f64 / d as f64);
            let a = pos as f64 * freq;
            v[pos * d + i] = if i % 2 == 0 { a.sin() } else { a.cos() } as f32;
        }
    }
    v
}

/// Mean over the time axis of (B, T, d), keeping the axis: (B, 1, d).
pub fn time_mean(x: &Tensor) -> Result<Tensor> {
    x.mean_keepdim(D::Minus2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_position_encodings_are_those_of_the_shape_asked_for() {
        let dev = Device::Cpu;
        for (t, d) in [(5, 4), (5, 4), (3, 6), (5, 4)] {
            let got = sinusoidal(t, d, &dev).unwrap();
            assert_eq!(got.dims(), &[t, d]);
            let want = Tensor::from_vec(sinusoidal_values(t, d), (t, d), &dev).unwrap();
            let diff = (got - want).unwrap().abs().unwrap().max_all().unwrap();
            assert_eq!(diff.to_scalar::<f32>().unwrap(), 0.0);
        }
        // Position 1, channel 0: sin(1); channel 1: cos(1).
        let v = sinusoidal(2, 2, &dev).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(v[1], [1f64.sin() as f32, 1f64.cos() as f32]);
    }
}
