//! Tools: typed functions with JSON-schema parameters, a registry, argument coercion and the
//! per-agent `finish` tool.

pub mod announce;
pub mod authoring;
pub mod chutes;
pub mod coerce;
pub mod compute;
pub mod defs;
pub mod finish;
pub mod gradients;
pub mod lab;
pub mod market;
pub mod registry;
pub mod research;
pub mod search;
pub mod social;
pub mod tool;

pub use coerce::coerce_args;
pub use finish::{Finish, FinishTool, FINISH};
pub use market::market_tools;
pub use registry::{parse_arguments, ToolOutcome, ToolRegistry};
pub use research::{research_tools, Budget, Session};
pub use search::{search_tools, search_tools_with};
pub use tool::{fn_tool, object_schema, FnTool, Tool, ToolError, ToolErrorKind};

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::backend::{
    Catalog, PlannerRun, PlannerSpec, Progress, ResearchBackend, SharedResearch, Validation,
};
use crate::defs::DefStore;

/// Every tool agents may be given, bound to `session` (and to `defs` for the definition
/// tools; without it they answer with an environment error). One line per group.
pub fn toolbox(session: Arc<Session>, defs: Option<DefStore>) -> ToolRegistry {
    let mut r = ToolRegistry::new();
    let groups: Vec<Vec<Arc<dyn Tool>>> = vec![
        research_tools(session.clone()), // discovery, history, training, champion; market; search
        lab::lab_tools(session.clone()), // runs, data coverage, paired comparison, publishing, diagnosis
        defs::def_tools(defs.clone()),   // agents, prompts, pipelines as data
        authoring::authoring_tools(defs), // components and scripts: read, check, write
        gradients::gradients_tools(),    // fine-tuning jobs (Gradients, SN56)
        chutes::chutes_tools(),          // models served (Chutes, SN64)
    ];
    for t in groups.into_iter().flatten() {
        r.register_arc(t);
    }
    r
}

/// A backend that can do nothing (names and schemas of the tools only).
struct NoBackend;

impl ResearchBackend for NoBackend {
    fn catalog(&self) -> Result<Catalog, ToolError> {
        Err(ToolError::environment("no research backend"))
    }
    fn validate(&self, _: &PlannerSpec) -> Result<Validation, ToolError> {
        Err(ToolError::environment("no research backend"))
    }
    fn run(&self, _: &str, _: &PlannerSpec, _: Progress<'_>) -> Result<PlannerRun, ToolError> {
        Err(ToolError::environment("no research backend"))
    }
    fn history(
        &self,
        _: Option<&str>,
        _: Option<&str>,
        _: usize,
    ) -> Result<Vec<PlannerRun>, ToolError> {
        Err(ToolError::environment("no research backend"))
    }
    fn champion(&self, _: &str, _: &str) -> Result<Option<PlannerRun>, ToolError> {
        Err(ToolError::environment("no research backend"))
    }
    fn promote(&self, _: &str) -> Result<PlannerRun, ToolError> {
        Err(ToolError::environment("no research backend"))
    }
}

/// The whole toolset unbound (for names, descriptions and schemas: what an agent definition
/// may list).
pub fn catalogue() -> ToolRegistry {
    let backend: SharedResearch = Arc::new(NoBackend);
    toolbox(Session::new(backend, None, Budget::default()), None)
}

/// Names of every tool in [`catalogue`].
pub fn catalogue_names() -> BTreeSet<String> {
    catalogue().names().into_iter().collect()
}
