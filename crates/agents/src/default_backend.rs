//! The backend `synth-city pipeline` uses. The research crate's `ResearchSession` needs an
//! experiment runner on the models crate; until that binding lands this says so plainly
//! instead of silently training something else.

use crate::backend::Backend;

/// The research backend for `asset` × `timeframe` runs.
pub fn default_backend(asset: &str, timeframe: &str) -> Result<Backend, String> {
    let _ = (asset, timeframe);
    Err("the research backend is not wired into `agents` yet: the research crate has no model-layer \
         ExperimentRunner to train with (see docs/agents.md, \"Status\")"
        .to_string())
}
