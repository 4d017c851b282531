//! The LLM side: an OpenAI-compatible chat-completions client with tool calling.

pub mod client;
pub mod config;
pub mod meter;
pub mod types;

pub use client::{BoxFuture, ChatModel, LlmClient, LlmError};
pub use config::{LlmConfig, Pricing, CHUTES_BASE_URL, DEFAULT_MODEL};
pub use meter::{UsageMeter, UsageTotals};
pub use types::{
    ChatRequest, ChatResponse, Choice, FunctionCall, FunctionSpec, Message, Role, ToolCall,
    ToolSpec, Usage,
};
