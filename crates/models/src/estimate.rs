//! Size of a neural model from its spec alone, before anything is built: the exact number of
//! parameters and a (rough, generous) estimate of the memory training it takes.
//!
//! The parameters are counted by running the very constructors [`crate::neural::Network::build`]
//! runs, over a `VarBuilder` whose backend records each parameter's shape and hands back a
//! zero-strided view of a single scalar instead of allocating it. Counting a 3-billion
//! parameter spec takes microseconds and a few kilobytes, so a service can refuse a spec that
//! would not fit before it allocates a byte of it.
//!
//! ```
//! let spec = models::spec::ModelSpec::from_json(r#"{
//!     "timeframe": "5m", "blocks": [{"name": "mlp"}], "head": {"name": "gbm"}
//! }"#).unwrap();
//! let e = models::estimate::estimate(&spec).unwrap();
//! assert!(e.params > 0 && e.train_bytes > e.weight_bytes);
//! ```

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use candle_core::{DType, Device, Result, Shape, Tensor};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder};
use serde::Serialize;

use crate::blocks::BuildCtx;
use crate::heads::HeadCtx;
use crate::nn::Linear;
use crate::spec::ModelSpec;
use crate::ModelError;

/// Bytes of one parameter (f32).
const F32: u64 = 4;
/// Copies of every parameter while training: the weights, their gradients, AdamW's two
/// moments and the best-epoch snapshot.
const TRAIN_COPIES: u64 = 5;
/// Activations kept per block and backbone element for the backward pass (inputs, outputs
/// and the intermediates of the widest blocks), a generous multiple.
const ACTIVATION_FACTOR: u64 = 16;

/// The size of a model, from its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Estimate {
    /// Trainable scalars (exact: the count the built model would have).
    pub params: u64,
    /// Bytes of the weights alone (f32).
    pub weight_bytes: u64,
    /// Rough bytes needed to train it: weights, gradients, optimiser state and snapshot,
    /// plus the activations of one batch.
    pub train_bytes: u64,
}

/// The size of `spec` (validated first: an invalid spec is the same error as building it).
pub fn estimate(spec: &ModelSpec) -> std::result::Result<Estimate, ModelError> {
    let checked = spec.validate()?;
    let (vb, total) = counting_vb();
    let n_features: usize = checked.features.iter().map(|f| f.channels()).sum();
    Linear::new(n_features, spec.d_model, vb.pp("input"))?;
    let ctx = BuildCtx {
        d_model: spec.d_model,
        seq_len: spec.seq_len,
    };
    for (i, (name, _)) in checked.blocks.iter().enumerate() {
        checked.build_block(i, ctx, vb.pp(format!("blocks.{i}.{name}")))?;
    }
    let hctx = HeadCtx {
        d_model: spec.d_model,
        horizon: spec.horizon(),
    };
    let hname = &checked.head.0;
    checked.build_head(hctx, vb.pp(format!("head.{hname}")))?;
    let params = total.load(Ordering::Relaxed);
    let t = &spec.training;
    let backbone = (t.batch_size as u64)
        .saturating_mul(spec.seq_len as u64)
        .saturating_mul(spec.d_model as u64)
        .saturating_mul(spec.blocks.len() as u64 + 1)
        .saturating_mul(ACTIVATION_FACTOR);
    let paths = (t.batch_size as u64)
        .saturating_mul(t.n_paths as u64)
        .saturating_mul(spec.horizon() as u64 + 1)
        .saturating_mul(4);
    let weight_bytes = params.saturating_mul(F32);
    let train_bytes = weight_bytes
        .saturating_mul(TRAIN_COPIES)
        .saturating_add(backbone.saturating_add(paths).saturating_mul(F32));
    Ok(Estimate {
        params,
        weight_bytes,
        train_bytes,
    })
}

/// A `VarBuilder` that records the element count of every parameter asked for (the total is
/// the returned counter) and allocates none: constructors run over it count a model's size.
pub(crate) fn counting_vb() -> (VarBuilder<'static>, Arc<AtomicU64>) {
    let counter = Counter::default();
    let total = counter.total.clone();
    (
        VarBuilder::from_backend(Box::new(counter), DType::F32, Device::Cpu),
        total,
    )
}

/// Sums the element counts of the parameters asked for; allocates none of them.
#[derive(Default)]
struct Counter {
    total: Arc<AtomicU64>,
}

impl SimpleBackend for Counter {
    fn get(&self, s: Shape, _name: &str, _h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        self.total
            .fetch_add(s.elem_count() as u64, Ordering::Relaxed);
        Tensor::zeros((), dtype, dev)?.broadcast_as(s)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        candle_core::bail!("estimate: parameter {name} has no shape")
    }

    fn contains_tensor(&self, _name: &str) -> bool {
        false
    }
}
