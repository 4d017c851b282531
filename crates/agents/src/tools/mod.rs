//! Tools: typed functions with JSON-schema parameters, a registry, argument coercion and the
//! per-agent `finish` tool.

pub mod coerce;
pub mod compute;
pub mod finish;
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
