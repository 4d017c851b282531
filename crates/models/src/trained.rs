//! What an experiment hands back beside its scores: the model it trained (so trained weights
//! are never thrown away) and one held-out prompt's sampled paths with the realised path
//! (for fan charts and for checking that a stored model reproduces its paths).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sn50::PathSet;

use crate::baselines::{baseline_from_settings, baseline_settings};
use crate::neural::NeuralModel;
use crate::{checkpoint, Forecaster, ModelError};

/// The model an experiment ended with.
pub enum TrainedModel {
    /// A statistical baseline: its name and settings (it fits its statistics from the history
    /// at every prompt, so there are no weights).
    Baseline {
        /// Baseline name (`gbm`, `garch_t`, …).
        name: String,
        /// Its settings, as [`baseline_settings`] gives them.
        settings: Value,
    },
    /// The neural model of the last walk-forward fold (trained on the most data), with the
    /// weights of its best validation epoch.
    Neural(Box<NeuralModel>),
}

impl std::fmt::Debug for TrainedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Baseline { name, settings } => f
                .debug_struct("Baseline")
                .field("name", name)
                .field("settings", settings)
                .finish(),
            Self::Neural(m) => f
                .debug_struct("Neural")
                .field("model", &m.spec().display_name())
                .field("params", &m.n_params())
                .finish(),
        }
    }
}

/// The JSON description of a baseline model (`{"baseline": name, "settings": {...}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineArtifact {
    /// Baseline name.
    pub baseline: String,
    /// Its settings.
    pub settings: Value,
}

impl TrainedModel {
    /// A baseline by name with its default settings.
    pub fn baseline(name: &str) -> Result<Self, ModelError> {
        let settings = baseline_settings(name)
            .ok_or_else(|| ModelError::InvalidConfig(format!("unknown baseline {name:?}")))?;
        Ok(Self::Baseline {
            name: name.to_string(),
            settings,
        })
    }

    /// The model as a forecaster (a baseline is rebuilt from its settings).
    pub fn forecaster(&self) -> Result<Box<dyn Forecaster + '_>, ModelError> {
        match self {
            Self::Baseline { name, settings } => baseline_from_settings(name, settings),
            Self::Neural(m) => Ok(Box::new(m.as_ref())),
        }
    }

    /// Safetensors bytes (spec in the metadata) of a neural model; `None` for baselines.
    pub fn weights(&self) -> Result<Option<Vec<u8>>, ModelError> {
        match self {
            Self::Baseline { .. } => Ok(None),
            Self::Neural(m) => checkpoint::to_bytes(m).map(Some),
        }
    }

    /// The baseline description; `None` for neural models.
    pub fn baseline_artifact(&self) -> Option<BaselineArtifact> {
        match self {
            Self::Baseline { name, settings } => Some(BaselineArtifact {
                baseline: name.clone(),
                settings: settings.clone(),
            }),
            Self::Neural(_) => None,
        }
    }
}

impl Forecaster for &NeuralModel {
    fn name(&self) -> String {
        (**self).name()
    }

    fn forecast(&self, req: &crate::ForecastRequest<'_>) -> Result<PathSet, ModelError> {
        (**self).forecast(req)
    }
}

/// One held-out prompt as the experiment's final model answered it.
#[derive(Debug, Clone, PartialEq)]
pub struct PromptSample {
    /// Asset.
    pub asset: String,
    /// Prompt start, UTC unix seconds.
    pub start_time: i64,
    /// The start price (first point of every path).
    pub start_price: f64,
    /// Seconds between points.
    pub time_increment: u32,
    /// Horizon in seconds.
    pub time_length: u32,
    /// Seed the paths were sampled with.
    pub seed: u64,
    /// The sampled paths (all of them, `num_simulations` × points).
    pub paths: PathSet,
    /// Realised prices on the same grid (NaN where the validator's grid has no price).
    pub realised: Vec<f64>,
}
