//! synth-city `agents`: the LLM tool-calling engine (an OpenAI-compatible client, typed tools
//! with lenient argument coercion for what LLMs actually send, the agent loop), the five pipeline agents, the
//! orchestrator that chains them with retries, and a built-in planner that needs no LLM.

pub mod agent;
pub mod backend;
pub mod defs;
pub mod events;
pub mod evolve;
pub mod export;
pub mod json;
pub mod llm;
pub mod pipeline;
pub mod planner;
pub mod roles;
pub mod runner;
pub mod tools;

pub use agent::{run_agent, AgentResult, AgentRun, FinishHow, Transcript};
pub use backend::{
    Catalog, Component, PlannerRun, PlannerSpec, ResearchBackend, SharedResearch, Validation,
};
pub use defs::{Agent, AgentBook, AgentDef, DefStore, PromptDef, LOCAL_OWNER};
pub use events::{Envelope, Event, EventBus};
pub use llm::{ChatModel, LlmClient, LlmConfig, LlmError, UsageMeter, UsageTotals};
pub use pipeline::{Orchestrator, PipelineDef, PipelineReport, RetryStrategy, TaskState};
pub use runner::{choose_brains, run_pipeline, LlmBrains, PipelineOptions};
pub use tools::{Tool, ToolError, ToolRegistry};
pub mod blocking;
pub use blocking::{
    run_agent_blocking, run_evolution_blocking_with, run_pipeline_blocking,
    run_pipeline_blocking_with,
};
pub mod planner_choice;
pub mod research_binding;
pub use planner_choice::{choose_planner, Planner};
pub mod saved;
