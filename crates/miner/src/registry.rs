//! [`RegistryChampions`]: the research registry's champion per asset × timeframe, loaded as a
//! [`Forecaster`]. A statistical baseline is rebuilt from its name (it fits its statistics on
//! the prompt's history); a neural model is loaded from its stored weights and spec.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use models::{Forecaster, ModelError};
use research::registry::REGISTRY_FILE;
use research::store::LocalStore;
use research::{Champion, Registry};
use serde_json::Value;

use crate::champion::{ChampionSource, Timeframe};

/// Champions from a research data directory (`registry.sqlite` and `artifacts/`).
pub struct RegistryChampions {
    registry: Registry,
    artifacts: LocalStore,
}

fn data_err(msg: String) -> ModelError {
    ModelError::Data(msg)
}

impl RegistryChampions {
    /// The registry and artifacts in `dir` (the layout of `research::Archive`). The registry
    /// must exist: a miner never creates one.
    pub fn open(dir: &Path) -> Result<Self, ModelError> {
        let path = dir.join(REGISTRY_FILE);
        if !path.is_file() {
            return Err(data_err(format!(
                "no research registry at {}",
                path.display()
            )));
        }
        let registry = Registry::open(&path)
            .map_err(|e| data_err(format!("registry {}: {e}", path.display())))?;
        Ok(Self {
            registry,
            artifacts: LocalStore::new(dir.join("artifacts")),
        })
    }

    /// The registry in `market::home::data_dir()` (`$SYNTH_CITY_HOME`).
    pub fn open_default() -> Result<Self, ModelError> {
        Self::open(&market::home::data_dir())
    }

    /// Path of the registry database.
    pub fn registry_path(&self) -> PathBuf {
        self.registry.path().to_path_buf()
    }

    fn baseline(&self, ch: &Champion, name: &str) -> Result<Arc<dyn Forecaster>, ModelError> {
        let m = models::baselines::baseline(name).ok_or_else(|| {
            data_err(format!(
                "champion run {} names an unknown baseline {name:?}",
                ch.run.run_id
            ))
        })?;
        Ok(Arc::from(m))
    }

    /// The neural champion from its `*.safetensors` artifact and its spec; `Ok(None)` (with a
    /// warning) when the weights were not stored or are not on this machine.
    fn neural(&self, ch: &Champion) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
        let run = &ch.run;
        let Some(w) = run
            .artifacts
            .iter()
            .find(|a| a.name.ends_with(".safetensors"))
        else {
            tracing::warn!(run = %run.run_id, asset = %ch.asset, timeframe = %ch.timeframe, "neural champion has no stored weights; using the fallback");
            return Ok(None);
        };
        let path = self.artifacts.path(&w.key);
        if !path.is_file() {
            tracing::warn!(run = %run.run_id, path = %path.display(), "neural champion's weights are not on this machine (run `synth-city store restore`); using the fallback");
            return Ok(None);
        }
        match self.artifacts.sha256(&w.key) {
            Some(sha) if sha == w.sha256 => {}
            _ => {
                return Err(data_err(format!(
                    "weights {} do not match their recorded sha256",
                    path.display()
                )))
            }
        }
        // `models::checkpoint` loads a folder of `model.safetensors` + `spec.json`.
        let dir = tempfile::tempdir()?;
        std::fs::copy(&path, dir.path().join(models::checkpoint::WEIGHTS))?;
        let spec = serde_json::to_string(&run.spec).map_err(|e| data_err(e.to_string()))?;
        std::fs::write(dir.path().join(models::checkpoint::SPEC), spec)?;
        let model = models::checkpoint::load(dir.path())?;
        Ok(Some(Arc::new(model)))
    }
}

impl ChampionSource for RegistryChampions {
    fn champion(
        &self,
        asset: &str,
        timeframe: Timeframe,
    ) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
        let Some(label) = timeframe.registry_label() else {
            return Ok(None);
        };
        let Some(ch) = self
            .registry
            .champion(asset, label)
            .map_err(|e| data_err(format!("registry: {e}")))?
        else {
            return Ok(None);
        };
        let model = match ch.run.spec.get("baseline") {
            Some(Value::String(name)) => Some(self.baseline(&ch, name)?),
            Some(_) => {
                return Err(data_err(format!(
                    "champion run {}: `baseline` is not a name",
                    ch.run.run_id
                )))
            }
            None => self.neural(&ch)?,
        };
        if let Some(m) = &model {
            tracing::info!(asset, timeframe = label, run = %ch.run.run_id, model = %m.name(), crps = ch.crps, "champion loaded");
        }
        Ok(model)
    }
}
