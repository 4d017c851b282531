//! Seeded parameter creation. Candle's CPU RNG cannot be seeded, so every parameter is drawn
//! from a seeded `rand` generator here and wrapped with `Tensor::from_vec`; parameters are
//! created in construction order, so the same spec and seed give the same weights.

use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Result, Shape, Tensor, Var};
use candle_nn::init::{FanInOut, NormalOrUniform};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{Init, VarBuilder, VarMap};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

/// The trainable parameters of one model: a candle `VarMap` filled from a seeded generator.
#[derive(Clone)]
pub struct ParamStore {
    varmap: VarMap,
    rng: Arc<Mutex<StdRng>>,
    device: Device,
}

impl ParamStore {
    /// An empty store whose parameters will be drawn from `seed`.
    pub fn new(seed: u64, device: Device) -> Self {
        Self {
            varmap: VarMap::new(),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
            device,
        }
    }

    /// A `VarBuilder` (f32) that creates missing parameters from the seeded generator.
    pub fn vb(&self) -> VarBuilder<'static> {
        let backend = SeededBackend {
            varmap: self.varmap.clone(),
            rng: self.rng.clone(),
        };
        VarBuilder::from_backend(Box::new(backend), DType::F32, self.device.clone())
    }

    /// The underlying `VarMap` (safetensors save/load).
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The mutable `VarMap` (for loading weights).
    pub fn varmap_mut(&mut self) -> &mut VarMap {
        &mut self.varmap
    }

    /// The device parameters live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// All parameters sorted by name (a stable order for clipping and optimisers).
    pub fn named_vars(&self) -> Vec<(String, Var)> {
        let data = self.varmap.data().lock().expect("varmap lock poisoned");
        let mut v: Vec<(String, Var)> = data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The number of scalar parameters.
    pub fn n_params(&self) -> usize {
        self.named_vars().iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// A copy of every parameter's current value (for best-checkpoint restore).
    pub fn snapshot(&self) -> Result<Vec<(String, Tensor)>> {
        self.named_vars()
            .into_iter()
            .map(|(k, v)| Ok((k, v.as_tensor().copy()?)))
            .collect()
    }

    /// Restores values taken by [`ParamStore::snapshot`].
    pub fn restore(&self, snap: &[(String, Tensor)]) -> Result<()> {
        let data = self.varmap.data().lock().expect("varmap lock poisoned");
        for (k, t) in snap {
            match data.get(k) {
                Some(v) => v.set(t)?,
                None => candle_core::bail!("restore: unknown parameter {k}"),
            }
        }
        Ok(())
    }
}

struct SeededBackend {
    varmap: VarMap,
    rng: Arc<Mutex<StdRng>>,
}

fn draw(init: Init, shape: &Shape, rng: &mut StdRng) -> Vec<f32> {
    let n = shape.elem_count();
    let uniform = |rng: &mut StdRng, lo: f64, up: f64| -> Vec<f32> {
        (0..n)
            .map(|_| (lo + (up - lo) * rng.random::<f64>()) as f32)
            .collect()
    };
    let normal = |rng: &mut StdRng, mean: f64, std: f64| -> Vec<f32> {
        (0..n)
            .map(|_| {
                let z: f64 = StandardNormal.sample(rng);
                (mean + std * z) as f32
            })
            .collect()
    };
    match init {
        Init::Const(c) => vec![c as f32; n],
        Init::Uniform { lo, up } => uniform(rng, lo, up),
        Init::Randn { mean, stdev } => normal(rng, mean, stdev),
        Init::Kaiming {
            dist,
            fan,
            non_linearity,
        } => {
            let fan = match fan {
                FanInOut::FanIn => FanInOut::FanIn.for_shape(shape),
                FanInOut::FanOut => FanInOut::FanOut.for_shape(shape),
            };
            let std = non_linearity.gain() / (fan.max(1) as f64).sqrt();
            match dist {
                NormalOrUniform::Uniform => {
                    let b = 3f64.sqrt() * std;
                    uniform(rng, -b, b)
                }
                NormalOrUniform::Normal => normal(rng, 0.0, std),
            }
        }
    }
}

impl SimpleBackend for SeededBackend {
    fn get(&self, s: Shape, name: &str, h: Init, dtype: DType, dev: &Device) -> Result<Tensor> {
        let mut data = self.varmap.data().lock().expect("varmap lock poisoned");
        if let Some(v) = data.get(name) {
            if v.shape() != &s {
                candle_core::bail!("shape mismatch on {name}: {s:?} vs {:?}", v.shape());
            }
            return Ok(v.as_tensor().clone());
        }
        let values = {
            let mut rng = self.rng.lock().expect("rng lock poisoned");
            draw(h, &s, &mut rng)
        };
        let t = Tensor::from_vec(values, s, dev)?.to_dtype(dtype)?;
        let var = Var::from_tensor(&t)?;
        let out = var.as_tensor().clone();
        data.insert(name.to_string(), var);
        Ok(out)
    }

    fn get_unchecked(&self, name: &str, _dtype: DType, _dev: &Device) -> Result<Tensor> {
        let data = self.varmap.data().lock().expect("varmap lock poisoned");
        match data.get(name) {
            Some(v) => Ok(v.as_tensor().clone()),
            None => candle_core::bail!("unknown parameter {name}"),
        }
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.varmap
            .data()
            .lock()
            .map(|d| d.contains_key(name))
            .unwrap_or(false)
    }
}
