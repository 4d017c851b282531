//! The built-in planner used when no LLM is configured: a TPE proposer over blocks × heads ×
//! hyperparameters informed by the registry's history, successive halving in the trainer, and
//! scripted policies that drive the same agents, tools and pipeline as an LLM would.

pub mod space;
pub mod tpe;

pub use space::{Point, SearchSpace, SpecBase};
pub use tpe::{propose, SplitMix64};
pub mod policies;
pub use policies::{BuiltinBrains, Policy};
pub mod diagnose;
pub mod guidance;
pub use diagnose::{diagnose, diagnose_with, Diagnosis, ErrorClass};
pub use guidance::Guidance;
