//! Which planner drives the agents (`synth-city pipeline --planner`): the built-in one, the LLM,
//! or `auto` — the LLM when one is configured, falling back to the built-in planner (with a
//! warning) when the server refuses the key (HTTP 401/403).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::llm::UsageMeter;
use crate::llm::{BoxFuture, ChatModel, ChatRequest, ChatResponse, LlmClient, LlmConfig, LlmError};
use crate::pipeline::Brains;
use crate::planner::BuiltinBrains;
use crate::runner::LlmBrains;

/// The planner choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Planner {
    /// The built-in planner (TPE + successive halving); never calls an LLM.
    Builtin,
    /// The configured LLM; a refused key fails the run with a clear message.
    Llm,
    /// The LLM when configured (else the built-in planner); a refused key switches to the
    /// built-in planner with a warning.
    #[default]
    Auto,
}

/// The brains for `planner` and the LLM usage meter (none for the built-in planner).
/// `Llm` without a configured LLM is an error.
pub fn choose_planner(planner: Planner) -> Result<(Arc<dyn Brains>, Option<UsageMeter>), String> {
    choose_planner_with(planner, LlmConfig::from_env())
}

/// [`choose_planner`] with an explicit LLM configuration (for tests).
pub fn choose_planner_with(
    planner: Planner,
    cfg: Option<LlmConfig>,
) -> Result<(Arc<dyn Brains>, Option<UsageMeter>), String> {
    let cfg =
        match (planner, cfg) {
            (Planner::Builtin, _) | (Planner::Auto, None) => {
                return Ok((Arc::new(BuiltinBrains), None))
            }
            (Planner::Llm, None) => return Err(
                "--planner llm needs an LLM: set CHUTES_API_KEY, or LLM_BASE_URL (and LLM_API_KEY)"
                    .into(),
            ),
            (_, Some(cfg)) => cfg,
        };
    let client = LlmClient::new(cfg, UsageMeter::default()).map_err(|e| e.to_string())?;
    let llm = LlmBrains::new(client);
    let meter = llm.meter();
    if planner == Planner::Llm {
        return Ok((Arc::new(llm), Some(meter)));
    }
    Ok((
        Arc::new(FallbackBrains {
            llm,
            refused: Arc::new(AtomicBool::new(false)),
        }),
        Some(meter),
    ))
}

/// The LLM, until it refuses the key; the built-in policies from then on.
struct FallbackBrains {
    llm: LlmBrains,
    refused: Arc<AtomicBool>,
}

impl Brains for FallbackBrains {
    fn model(&self, agent: &str) -> (Arc<dyn ChatModel>, String) {
        let (llm, id) = self.llm.model(agent);
        let (builtin, _) = BuiltinBrains.model(agent);
        let model = FallbackModel {
            llm,
            builtin,
            refused: self.refused.clone(),
        };
        (Arc::new(model), id)
    }
    fn model_for(&self, agent: &crate::defs::Agent) -> (Arc<dyn ChatModel>, String) {
        let (llm, id) = self.llm.model_for(agent);
        let (builtin, _) = BuiltinBrains.model_for(agent);
        let model = FallbackModel {
            llm,
            builtin,
            refused: self.refused.clone(),
        };
        (Arc::new(model), id)
    }
    fn label(&self) -> String {
        if self.refused.load(Ordering::Relaxed) {
            "builtin (the LLM refused the key)".into()
        } else {
            self.llm.label()
        }
    }
}

struct FallbackModel {
    llm: Arc<dyn ChatModel>,
    builtin: Arc<dyn ChatModel>,
    refused: Arc<AtomicBool>,
}

impl ChatModel for FallbackModel {
    fn model_name(&self) -> String {
        if self.refused.load(Ordering::Relaxed) {
            self.builtin.model_name()
        } else {
            self.llm.model_name()
        }
    }
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, LlmError>> {
        Box::pin(async move {
            if !self.refused.load(Ordering::Relaxed) {
                match self.llm.complete(req).await {
                    Err(LlmError::Auth { status, .. }) => {
                        if !self.refused.swap(true, Ordering::Relaxed) {
                            tracing::warn!(
                                "the LLM server refused the key (HTTP {status}); continuing with \
                                 the built-in planner (--planner llm fails instead)"
                            );
                        }
                    }
                    other => return other,
                }
            }
            self.builtin.complete(req).await
        })
    }
}
