//! The compiled layers of a declarative component and their forward pass over (B, T, C).

use std::sync::Mutex;

use candle_core::{Module, Result, Tensor};

use super::def::{ActFn, Combine, GateKind, PoolKind};
use crate::blocks::gru::GruLayer;
use crate::blocks::lstm::LstmLayer;
use crate::nn::attention::MultiHeadAttention;
use crate::nn::layers::{sigmoid, silu};
use crate::nn::{LayerNorm, Linear};

/// A compiled layer.
pub(crate) enum Node {
    Linear(Linear),
    Conv {
        w: Tensor,
        bias: Tensor,
        dilation: usize,
    },
    Attention(MultiHeadAttention),
    Lstm(LstmLayer),
    Gru(GruLayer),
    Norm(LayerNorm),
    Act(ActFn),
    Gate(GateKind),
    Residual(Vec<Node>),
    Skip(Vec<Node>),
    Parallel(Vec<Vec<Node>>, Combine),
    Seq(Vec<Node>),
    /// The (cos, −sin) matrices (T, F), made on first use on the input's device.
    Fft(Mutex<Option<(Tensor, Tensor)>>),
    Pool(PoolKind),
    Transpose,
    Reshape(usize),
}

/// Applies layers in order.
pub(crate) fn run(nodes: &[Node], x: &Tensor) -> Result<Tensor> {
    let mut h = x.clone();
    for n in nodes {
        h = n.forward(&h)?;
    }
    Ok(h)
}

/// Forward real-DFT matrices (T, F), cos and −sin, F = T/2 + 1 (the FEDformer block's).
fn dft(t: usize, x: &Tensor) -> Result<(Tensor, Tensor)> {
    let modes: Vec<usize> = (0..=t / 2).collect();
    let (c, s, _, _) = crate::blocks::fedformer::rdft_matrices(t, &modes, x.device())?;
    Ok((c.to_dtype(x.dtype())?, s.to_dtype(x.dtype())?))
}

impl Node {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Node::Linear(l) => l.forward(&x.contiguous()?),
            // Channel-last causal convolution (candle's batched Conv1d had wrong gradients).
            Node::Conv { w, bias, dilation } => {
                crate::nn::conv_taps::causal_conv1d(&x.contiguous()?, w, bias, *dilation)
            }
            Node::Attention(a) => a.forward(&x.contiguous()?),
            Node::Lstm(l) => l.forward(&x.contiguous()?),
            Node::Gru(l) => l.forward(&x.contiguous()?),
            Node::Norm(n) => n.forward(&x.contiguous()?),
            Node::Act(f) => match f {
                ActFn::Relu => x.relu(),
                ActFn::Gelu => crate::nn::gelu::gelu(&x.contiguous()?),
                ActFn::Silu => silu(x),
                ActFn::Tanh => x.tanh(),
                ActFn::Sigmoid => sigmoid(x),
            },
            Node::Gate(kind) => {
                let half = x.dim(2)? / 2;
                let a = x.narrow(2, 0, half)?;
                let b = sigmoid(&x.narrow(2, half, half)?)?;
                match kind {
                    GateKind::Glu => a * b,
                    GateKind::TanhSigmoid => a.tanh()? * b,
                }
            }
            Node::Residual(inner) => x + run(inner, x)?,
            Node::Skip(inner) => {
                let mut h = x.clone();
                let mut sum: Option<Tensor> = None;
                for n in inner {
                    h = n.forward(&h)?;
                    sum = Some(match sum {
                        None => h.clone(),
                        Some(s) => (s + &h)?,
                    });
                }
                Ok(sum.unwrap_or(h))
            }
            Node::Parallel(branches, combine) => {
                let outs = branches
                    .iter()
                    .map(|b| run(b, x))
                    .collect::<Result<Vec<_>>>()?;
                let t = outs.iter().map(|o| o.dim(1)).collect::<Result<Vec<_>>>()?;
                let t = t.into_iter().max().unwrap_or(1);
                let mut acc: Option<Tensor> = None;
                for o in outs {
                    acc = Some(match (acc, combine) {
                        (None, _) => o,
                        (Some(a), Combine::Sum) => a.broadcast_add(&o)?,
                        (Some(a), Combine::Mul) => a.broadcast_mul(&o)?,
                        (Some(a), Combine::Concat) => {
                            let (b, _, ca) = a.dims3()?;
                            let co = o.dim(2)?;
                            let a = a.broadcast_as((b, t, ca))?;
                            let o = o.broadcast_as((b, t, co))?;
                            Tensor::cat(&[&a, &o], 2)?
                        }
                    });
                }
                match acc {
                    Some(a) => a.contiguous(),
                    None => Ok(x.clone()),
                }
            }
            Node::Seq(inner) => run(inner, x),
            Node::Fft(cache) => {
                let t = x.dim(1)?;
                let (c, s) = {
                    let mut g = cache
                        .lock()
                        .map_err(|_| candle_core::Error::Msg("fft cache poisoned".into()))?;
                    match g.as_ref() {
                        Some((c, s)) if c.dim(0)? == t && c.device().same_device(x.device()) => {
                            (c.clone(), s.clone())
                        }
                        _ => {
                            let m = dft(t, x)?;
                            *g = Some(m.clone());
                            m
                        }
                    }
                };
                // (B, T, C) → (B, C, T) × (T, F) → (B, C, F) → (B, F, C).
                let xt = x.transpose(1, 2)?.contiguous()?;
                let re = xt.broadcast_matmul(&c)?;
                let im = xt.broadcast_matmul(&s)?;
                let mag = ((re.sqr()? + im.sqr()?)? + 1e-12)?.sqrt()?;
                mag.transpose(1, 2)?.contiguous()
            }
            Node::Pool(kind) => match kind {
                PoolKind::Mean => x.mean_keepdim(1),
                PoolKind::Max => x.max_keepdim(1),
                PoolKind::Last => {
                    let t = x.dim(1)?;
                    x.narrow(1, t - 1, 1)
                }
            },
            Node::Transpose => x.transpose(1, 2)?.contiguous(),
            Node::Reshape(seq) => {
                let (b, t, c) = x.dims3()?;
                x.contiguous()?.reshape((b, *seq, t * c / seq))
            }
        }
    }
}
