//! The research pipeline: its definition as data and the orchestrator that runs it.

pub mod def;
pub mod orchestrator;

pub use def::{PipelineDef, Position, RetryStrategy, StageSpec};
pub use orchestrator::{
    context_message, read_context, Brains, Orchestrator, PipelineReport, StageReport, TaskState,
};
