//! Checkpoints: a folder with `model.safetensors` (weights, named by their VarBuilder paths)
//! and `spec.json`. Files are written to a temporary name and renamed (no partial writes);
//! loading is strict (every parameter present with its shape, no extra tensors).

use std::path::{Path, PathBuf};

use crate::neural::NeuralModel;
use crate::spec::ModelSpec;
use crate::ModelError;

/// Weights file name inside a checkpoint folder.
pub const WEIGHTS: &str = "model.safetensors";
/// Spec file name inside a checkpoint folder.
pub const SPEC: &str = "spec.json";

fn tmp_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.tmp-{}", std::process::id()))
}

/// Saves weights and spec into `dir` (created if missing).
pub fn save(model: &NeuralModel, dir: &Path) -> Result<(), ModelError> {
    std::fs::create_dir_all(dir)?;
    let tmp = tmp_path(dir, WEIGHTS);
    model.store().varmap().save(&tmp)?;
    std::fs::rename(&tmp, dir.join(WEIGHTS))?;
    let tmp = tmp_path(dir, SPEC);
    std::fs::write(&tmp, model.spec().to_json())?;
    std::fs::rename(&tmp, dir.join(SPEC))?;
    Ok(())
}

/// Loads a checkpoint saved by [`save`].
pub fn load(dir: &Path) -> Result<NeuralModel, ModelError> {
    let spec_text = std::fs::read_to_string(dir.join(SPEC))?;
    let spec = ModelSpec::from_json(&spec_text)?;
    let model = NeuralModel::new(spec)?;
    let path = dir.join(WEIGHTS);
    let tensors = candle_core::safetensors::load(&path, model.store().device())?;
    let expected = model.store().named_vars();
    if tensors.len() != expected.len() {
        return Err(ModelError::InvalidConfig(format!(
            "checkpoint {} has {} tensors, the spec's model has {}",
            path.display(),
            tensors.len(),
            expected.len()
        )));
    }
    for (name, var) in &expected {
        let Some(t) = tensors.get(name) else {
            return Err(ModelError::InvalidConfig(format!(
                "checkpoint lacks parameter {name}"
            )));
        };
        if t.shape() != var.shape() {
            return Err(ModelError::InvalidConfig(format!(
                "parameter {name}: checkpoint shape {:?}, model shape {:?}",
                t.shape(),
                var.shape()
            )));
        }
        var.set(&t.to_dtype(var.dtype())?)?;
    }
    Ok(model)
}
