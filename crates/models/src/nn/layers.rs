//! Small layers that keep gradients (no fused candle ops): linear, layer norm, MLP.

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Init, VarBuilder};

/// A dense layer `y = x Wᵀ + b` over the last dimension of any-rank input, initialised like
/// PyTorch (uniform ±1/√in for weight and bias).
#[derive(Debug, Clone)]
pub struct Linear {
    w: Tensor,
    b: Option<Tensor>,
}

impl Linear {
    /// A layer `in_dim → out_dim` with bias; parameters `weight` (out, in) and `bias` (out).
    pub fn new(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Self> {
        let bound = 1.0 / (in_dim.max(1) as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let w = vb.get_with_hints((out_dim, in_dim), "weight", init)?;
        let b = vb.get_with_hints(out_dim, "bias", init)?;
        Ok(Self { w, b: Some(b) })
    }

    /// A layer without bias.
    pub fn no_bias(in_dim: usize, out_dim: usize, vb: VarBuilder) -> Result<Self> {
        let bound = 1.0 / (in_dim.max(1) as f64).sqrt();
        let init = Init::Uniform {
            lo: -bound,
            up: bound,
        };
        let w = vb.get_with_hints((out_dim, in_dim), "weight", init)?;
        Ok(Self { w, b: None })
    }

    /// The weight (out, in).
    pub fn weight(&self) -> &Tensor {
        &self.w
    }

    /// The bias (out), if any.
    pub fn bias(&self) -> Option<&Tensor> {
        self.b.as_ref()
    }

    /// A layer from existing tensors: weight (out, in), optional bias (out).
    pub fn from_tensors(w: Tensor, b: Option<Tensor>) -> Self {
        Self { w, b }
    }

    /// A layer whose weight starts at zero and bias at `bias` (heads that start at a prior).
    pub fn zeroed(in_dim: usize, out_dim: usize, bias: f64, vb: VarBuilder) -> Result<Self> {
        let w = vb.get_with_hints((out_dim, in_dim), "weight", Init::Const(0.0))?;
        let b = vb.get_with_hints(out_dim, "bias", Init::Const(bias))?;
        Ok(Self { w, b: Some(b) })
    }
}

impl Module for Linear {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let (true, DType::F32, Some(b)) = (x.device().is_cpu(), x.dtype(), &self.b) {
            return super::linear_op::linear(x, &self.w, b);
        }
        let dims = x.dims().to_vec();
        let in_dim = *dims.last().unwrap_or(&1);
        let rows: usize = dims[..dims.len().saturating_sub(1)].iter().product();
        let flat = x.reshape((rows, in_dim))?;
        let mut y = flat.matmul(&self.w.t()?)?;
        if let Some(b) = &self.b {
            y = y.broadcast_add(b)?;
        }
        let mut out_dims = dims;
        let last = out_dims.len() - 1;
        out_dims[last] = self.w.dim(0)?;
        y.reshape(out_dims)
    }
}

/// Layer normalisation over the last dimension, built from differentiable ops
/// (`candle_nn::LayerNorm` uses a fused op that drops gradients).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    w: Tensor,
    b: Tensor,
}

impl LayerNorm {
    /// Weight 1, bias 0.
    pub fn new(dim: usize, vb: VarBuilder) -> Result<Self> {
        let w = vb.get_with_hints(dim, "weight", Init::Const(1.0))?;
        let b = vb.get_with_hints(dim, "bias", Init::Const(0.0))?;
        Ok(Self { w, b })
    }

    /// The weight and the bias.
    pub fn params(&self) -> (&Tensor, &Tensor) {
        (&self.w, &self.b)
    }
}

impl Module for LayerNorm {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        super::layernorm::layer_norm(x, &self.w, &self.b, 1e-5)
    }
}

/// Activation functions by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// max(0, x)
    Relu,
    /// Gaussian error linear unit (tanh approximation).
    Gelu,
    /// x·sigmoid(x)
    Silu,
    /// tanh
    Tanh,
}

impl Act {
    /// Parses `relu`, `gelu`, `silu`, `tanh`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "relu" => Some(Self::Relu),
            "gelu" => Some(Self::Gelu),
            "silu" => Some(Self::Silu),
            "tanh" => Some(Self::Tanh),
            _ => None,
        }
    }

    /// Applies the activation.
    pub fn apply(self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Relu => x.relu(),
            Self::Gelu => super::gelu::gelu(x),
            Self::Silu => silu(x),
            Self::Tanh => x.tanh(),
        }
    }
}

/// x·sigmoid(x), from differentiable ops.
pub fn silu(x: &Tensor) -> Result<Tensor> {
    x * sigmoid(x)?
}

/// 1/(1+e^{−x}) (candle's sigmoid op, which has a backward pass).
pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    candle_nn::ops::sigmoid(x)
}

/// ln(1+e^x), numerically stable: max(x,0) + ln(1+e^{−|x|}).
pub fn softplus(x: &Tensor) -> Result<Tensor> {
    let pos = x.relu()?;
    let tail = (x.abs()?.neg()?.exp()? + 1.0)?.log()?;
    pos + tail
}

/// Softmax over the last dimension, differentiable (fused on the CPU: `nn::softmax`).
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    super::softmax::softmax_last(x)
}

/// Two dense layers with an activation: `in → hidden → out`.
#[derive(Debug, Clone)]
pub struct Mlp {
    fc1: Linear,
    fc2: Linear,
    act: Act,
}

impl Mlp {
    /// Parameters under `fc1`, `fc2`.
    pub fn new(in_dim: usize, hidden: usize, out: usize, act: Act, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            fc1: Linear::new(in_dim, hidden, vb.pp("fc1"))?,
            fc2: Linear::new(hidden, out, vb.pp("fc2"))?,
            act,
        })
    }

    /// The two layers and the activation.
    pub fn parts(&self) -> (&Linear, &Linear, Act) {
        (&self.fc1, &self.fc2, self.act)
    }
}

impl Module for Mlp {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let (Act::Gelu, true, DType::F32, Some(b1), Some(b2)) = (
            self.act,
            x.device().is_cpu(),
            x.dtype(),
            self.fc1.bias(),
            self.fc2.bias(),
        ) {
            let (w1, w2) = (self.fc1.weight(), self.fc2.weight());
            return super::mlp_op::gelu_mlp(x, w1, b1, w2, b2);
        }
        self.fc2.forward(&self.act.apply(&self.fc1.forward(x)?)?)
    }
}
