//! Checkpoints: a folder with `model.safetensors` (weights, named by their VarBuilder paths)
//! and `spec.json`, or the same in memory ([`to_bytes`] / [`from_bytes`]: one safetensors
//! buffer whose metadata also carries the spec). Files are written to a temporary name and
//! renamed (no partial writes); loading is strict (every parameter present with its shape, no
//! extra tensors).

use std::collections::HashMap;
use std::path::Path;

use candle_core::Tensor;

use crate::neural::NeuralModel;
use crate::spec::ModelSpec;
use crate::ModelError;

/// Weights file name inside a checkpoint folder.
pub const WEIGHTS: &str = "model.safetensors";
/// Spec file name inside a checkpoint folder.
pub const SPEC: &str = "spec.json";
/// Safetensors metadata key holding the spec JSON in [`to_bytes`] buffers.
pub const SPEC_METADATA_KEY: &str = "synth_city.spec";

/// Saves weights and spec into `dir` (created if missing).
pub fn save(model: &NeuralModel, dir: &Path) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir)?;
    market::atomic::write_atomic(&dir.join(WEIGHTS), &to_bytes(model)?)?;
    market::atomic::write_atomic(&dir.join(SPEC), model.spec().to_json().as_bytes())?;
    Ok(())
}

/// Loads a checkpoint saved by [`save`] (the spec comes from `spec.json`).
pub fn load(dir: &Path) -> Result<NeuralModel, ModelError> {
    let spec_text = std::fs::read_to_string(dir.join(SPEC))?;
    let spec = ModelSpec::from_json(&spec_text)?;
    let path = dir.join(WEIGHTS);
    let bytes = std::fs::read(&path)?;
    from_bytes(&bytes, Some(spec)).map_err(|e| match e {
        ModelError::InvalidConfig(m) => {
            ModelError::InvalidConfig(format!("checkpoint {}: {m}", path.display()))
        }
        e => e,
    })
}

/// The model's weights as one safetensors buffer (the same bytes [`save`] writes), with the
/// spec JSON in its metadata under [`SPEC_METADATA_KEY`].
pub fn to_bytes(model: &NeuralModel) -> Result<Vec<u8>, ModelError> {
    let vars = model.store().named_vars();
    let tensors: Vec<(&str, &Tensor)> = vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_tensor()))
        .collect();
    let meta = HashMap::from([(SPEC_METADATA_KEY.to_string(), model.spec().to_json())]);
    safetensors::serialize(tensors, Some(meta))
        .map_err(|e| ModelError::InvalidConfig(format!("serialising weights: {e}")))
}

/// The spec stored in a [`to_bytes`] buffer's metadata, if any.
pub fn spec_of(bytes: &[u8]) -> Result<Option<ModelSpec>, ModelError> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| ModelError::InvalidConfig(format!("not a safetensors buffer: {e}")))?;
    match meta
        .metadata()
        .as_ref()
        .and_then(|m| m.get(SPEC_METADATA_KEY))
    {
        Some(s) => Ok(Some(ModelSpec::from_json(s)?)),
        None => Ok(None),
    }
}

/// A model from safetensors bytes. The spec is `spec` when given, else the one in the
/// buffer's metadata (an error when neither exists). Strict: every parameter of the spec's
/// model must be present with its shape, and no other tensor.
pub fn from_bytes(bytes: &[u8], spec: Option<ModelSpec>) -> Result<NeuralModel, ModelError> {
    from_bytes_on(bytes, spec, candle_core::Device::Cpu)
}

/// [`from_bytes`] with the parameters placed on `device` (sampling on a GPU).
pub fn from_bytes_on(
    bytes: &[u8],
    spec: Option<ModelSpec>,
    device: candle_core::Device,
) -> Result<NeuralModel, ModelError> {
    let spec = match spec {
        Some(s) => s,
        None => spec_of(bytes)?.ok_or_else(|| {
            ModelError::InvalidConfig("weights carry no spec and none was given".into())
        })?,
    };
    let model = NeuralModel::with_device(spec, device)?;
    let tensors = candle_core::safetensors::load_buffer(bytes, model.store().device())?;
    let expected = model.store().named_vars();
    if tensors.len() != expected.len() {
        return Err(ModelError::InvalidConfig(format!(
            "weights have {} tensors, the spec's model has {}",
            tensors.len(),
            expected.len()
        )));
    }
    for (name, var) in &expected {
        let Some(t) = tensors.get(name) else {
            return Err(ModelError::InvalidConfig(format!(
                "weights lack parameter {name}"
            )));
        };
        if t.shape() != var.shape() {
            return Err(ModelError::InvalidConfig(format!(
                "parameter {name}: stored shape {:?}, model shape {:?}",
                t.shape(),
                var.shape()
            )));
        }
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    Ok(model)
}
