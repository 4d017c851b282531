//! Which served models to recommend for reasoning (the Planner, the CodeChecker) and for tool
//! use (every agent calls tools): the first of a preference list that Chutes serves, else the
//! first served model that lists the feature.

use serde::Serialize;

use super::models::ChutesModel;

/// Preferred reasoning models, best first (OpenClaw's Chutes catalogue, 2026).
pub const PREFERRED_REASONING: &[&str] = &[
    "deepseek-ai/DeepSeek-V3.2-TEE",
    "zai-org/GLM-5.2-TEE",
    "moonshotai/Kimi-K2.6-TEE",
    "Qwen/Qwen3.6-27B-TEE",
];

/// Preferred tool-calling models, best first.
pub const PREFERRED_TOOLS: &[&str] = &[
    "zai-org/GLM-5.2-TEE",
    "moonshotai/Kimi-K2.6-TEE",
    "MiniMaxAI/MiniMax-M2.5-TEE",
    "deepseek-ai/DeepSeek-V3.2-TEE",
];

/// The recommended models.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommended {
    /// For reasoning.
    pub reasoning: Option<String>,
    /// For tool use (the default model of agents).
    pub tools: Option<String>,
}

fn pick(served: &[ChutesModel], preferred: &[&str], feature: &str) -> Option<String> {
    preferred
        .iter()
        .find(|p| served.iter().any(|m| m.id == **p))
        .map(|p| p.to_string())
        .or_else(|| served.iter().find(|m| m.has(feature)).map(|m| m.id.clone()))
}

/// The recommendations among `served`; with an empty list (offline), the first preferences.
pub fn recommend(served: &[ChutesModel]) -> Recommended {
    if served.is_empty() {
        return Recommended {
            reasoning: PREFERRED_REASONING.first().map(|s| s.to_string()),
            tools: PREFERRED_TOOLS.first().map(|s| s.to_string()),
        };
    }
    Recommended {
        reasoning: pick(served, PREFERRED_REASONING, "reasoning"),
        tools: pick(served, PREFERRED_TOOLS, "tools"),
    }
}
