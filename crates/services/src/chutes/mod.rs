//! Chutes (Bittensor SN64): the OpenAI-compatible inference service synth-city's agents use.
//! This module lists what it serves ([`Chutes::models`]: context length, features, price per
//! 1M tokens), picks the recommended models for reasoning and for tool use, and builds the
//! OpenClaw model-provider entry for it ([`openclaw_provider`]), with the key written as a
//! reference to `CHUTES_API_KEY`, never its value.
//!
//! Protocol (`shared/research/services.md` §2): `GET {base}/models` (base
//! `https://llm.chutes.ai/v1`), answer `{data: [{id, supported_features, input_modalities,
//! context_length, max_output_length, pricing: {prompt, completion}}]}`; it also answers
//! without a key.

mod models;
mod openclaw;
mod recommend;

pub use models::{Chutes, ChutesModel, Pricing};
pub use openclaw::{openclaw_provider, OpenClawChutes, PROVIDER_ID};
pub use recommend::{recommend, Recommended, PREFERRED_REASONING, PREFERRED_TOOLS};

/// The variable holding the API key (`cpk_…`, from chutes.ai settings).
pub const KEY_ENV: &str = "CHUTES_API_KEY";
/// The variable that overrides the base URL (the same one synth-city's LLM client reads).
pub const URL_ENV: &str = "CHUTES_BASE_URL";
/// The OpenAI-compatible base URL.
pub const DEFAULT_URL: &str = "https://llm.chutes.ai/v1";
/// The service's name in messages.
pub const SERVICE: &str = "Chutes";
