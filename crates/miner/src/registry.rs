//! [`RegistryChampions`]: the research registry's champion per asset × timeframe, loaded as a
//! [`Forecaster`]. A statistical baseline is rebuilt from its name (it fits its statistics on
//! the prompt's history); a neural model is loaded with `research::load_model` (the weights
//! stored for the champion's asset, with their spec).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use models::{Forecaster, ModelError};
use research::registry::REGISTRY_FILE;
use research::{Archive, Champion, ErrorKind};
use serde_json::Value;

use crate::champion::ChampionSource;
use sn50::Competition;

/// Champions from a research data directory (`registry.sqlite` and `artifacts/`).
pub struct RegistryChampions {
    archive: Archive,
    device: models::device::DeviceChoice,
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
        let archive = Archive::open(dir, None)
            .map_err(|e| data_err(format!("registry {}: {e}", path.display())))?;
        Ok(Self {
            archive,
            device: models::device::DeviceChoice::Cpu,
        })
    }

    /// Neural champions sample on `device` (default: the CPU).
    pub fn with_device(mut self, device: models::device::DeviceChoice) -> Self {
        self.device = device;
        self
    }

    /// The registry in `market::home::data_dir()` (`$SYNTH_CITY_HOME`).
    pub fn open_default() -> Result<Self, ModelError> {
        Self::open(&market::home::data_dir())
    }

    /// Path of the registry database.
    pub fn registry_path(&self) -> PathBuf {
        self.archive.registry.path().to_path_buf()
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

    /// The neural champion through `research::load_model`; `Ok(None)` (with a warning) when
    /// its model was not stored or is not on this machine.
    fn neural(&self, ch: &Champion) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
        let run = &ch.run;
        match research::load_model_on(&self.archive, &run.run_id, Some(&ch.asset), self.device) {
            Ok(m) => Ok(Some(Arc::from(m.forecaster))),
            Err(e) if e.kind == ErrorKind::NotFound => {
                tracing::warn!(run = %run.run_id, asset = %ch.asset, timeframe = %ch.timeframe, reason = %e.message, "neural champion's model is not on this machine (`synth-city store restore` fetches stored ones); using the fallback");
                Ok(None)
            }
            Err(e) => Err(data_err(format!(
                "champion run {} ({}): {}",
                run.run_id, ch.asset, e.message
            ))),
        }
    }
}

impl ChampionSource for RegistryChampions {
    fn champion(
        &self,
        asset: &str,
        competition: Competition,
    ) -> Result<Option<Arc<dyn Forecaster>>, ModelError> {
        let label = competition.timeframe().as_str();
        let Some(ch) = self
            .archive
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
