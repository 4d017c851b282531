//! The tool registry: tools by name, subsets per agent, and execution of one model tool call
//! (parse → coerce → call → JSON).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::coerce::coerce_args;
use super::tool::{Tool, ToolError};
use crate::llm::{FunctionSpec, ToolSpec};

/// Outcome of one executed tool call.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutcome {
    /// The JSON sent back to the model (the result, or `{"error",...}`).
    pub content: Value,
    /// The error, when the call failed.
    pub error: Option<ToolError>,
    /// The coerced arguments (None when they could not be parsed).
    pub args: Option<Value>,
}

/// Tools by name.
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl std::fmt::Debug for ToolRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

impl ToolRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a tool.
    pub fn register(&mut self, tool: impl Tool + 'static) -> &mut Self {
        self.register_arc(Arc::new(tool))
    }

    /// Adds (or replaces) a shared tool.
    pub fn register_arc(&mut self, tool: Arc<dyn Tool>) -> &mut Self {
        self.tools.insert(tool.name().to_string(), tool);
        self
    }

    /// The tool called `name`.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name)
    }

    /// All tool names, sorted.
    pub fn names(&self) -> Vec<String> {
        self.tools.keys().cloned().collect()
    }

    /// A registry holding only `names`. A missing name is an error, never silently skipped.
    pub fn subset(&self, names: &[impl AsRef<str>]) -> Result<ToolRegistry, String> {
        let mut out = ToolRegistry::new();
        let mut missing = Vec::new();
        for n in names {
            match self.tools.get(n.as_ref()) {
                Some(t) => {
                    out.register_arc(t.clone());
                }
                None => missing.push(n.as_ref().to_string()),
            }
        }
        if missing.is_empty() {
            Ok(out)
        } else {
            Err(format!("unknown tools: {}", missing.join(", ")))
        }
    }

    /// OpenAI tool specs of every tool.
    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools
            .values()
            .map(|t| ToolSpec {
                kind: "function".into(),
                function: FunctionSpec {
                    name: t.name().to_string(),
                    description: t.description().to_string(),
                    parameters: t.parameters(),
                },
            })
            .collect()
    }

    /// Executes a call of `name` with the raw `arguments` text. Never fails: errors become JSON.
    pub fn execute(&self, name: &str, arguments: &str) -> ToolOutcome {
        let Some(tool) = self.tools.get(name) else {
            let mut known = self.names();
            known.truncate(40);
            let err = ToolError::invalid(format!(
                "Unknown tool: {name}. Available tools: {}",
                known.join(", ")
            ));
            return ToolOutcome {
                content: err.to_json(),
                error: Some(err),
                args: None,
            };
        };
        let args = match parse_arguments(arguments) {
            Ok(a) => a,
            Err(e) => {
                let err = ToolError::invalid(format!("arguments of `{name}` are not a JSON object ({e}); send them again as a JSON object"));
                return ToolOutcome {
                    content: err.to_json(),
                    error: Some(err),
                    args: None,
                };
            }
        };
        let args = Value::Object(coerce_args(args, &tool.parameters()));
        if let Err(e) = check_required(&tool.parameters(), &args) {
            return ToolOutcome {
                content: e.to_json(),
                error: Some(e),
                args: Some(args),
            };
        }
        let result =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tool.call(args.clone())))
                .unwrap_or_else(|_| Err(ToolError::failed(format!("tool `{name}` panicked"))));
        match result {
            Ok(v) => ToolOutcome {
                content: v,
                error: None,
                args: Some(args),
            },
            Err(e) => ToolOutcome {
                content: e.to_json(),
                error: Some(e),
                args: Some(args),
            },
        }
    }
}

/// Parses tool-call arguments: empty → `{}`; JSON (leniently: fences, prose around it); a
/// non-object value is an error. Malformed JSON is reported, not silently turned into `{}`.
pub fn parse_arguments(arguments: &str) -> Result<Map<String, Value>, String> {
    let t = arguments.trim();
    if t.is_empty() {
        return Ok(Map::new());
    }
    match crate::json::parse_lenient::<Value>(t) {
        Ok(Value::Object(m)) => Ok(m),
        // Some models double-encode: a JSON string holding the object.
        Ok(Value::String(s)) => match crate::json::parse_lenient::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err("a JSON string, not an object".into()),
        },
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(format!("got {}", kind_of(&other))),
        Err(e) => Err(e.to_string()),
    }
}

fn check_required(schema: &Value, args: &Value) -> Result<(), ToolError> {
    let Some(req) = schema.get("required").and_then(Value::as_array) else {
        return Ok(());
    };
    let missing: Vec<&str> = req
        .iter()
        .filter_map(Value::as_str)
        .filter(|k| args.get(*k).is_none_or(Value::is_null))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ToolError::invalid(format!(
            "missing required argument(s): {}",
            missing.join(", ")
        )))
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::tool::{fn_tool, object_schema};
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct AddArgs {
        a: i64,
        b: i64,
        #[serde(default)]
        negate: bool,
    }

    fn registry() -> ToolRegistry {
        let mut r = ToolRegistry::new();
        r.register(fn_tool(
            "add",
            "Adds two integers.",
            object_schema(
                &[
                    ("a", json!({"type":"integer"})),
                    ("b", json!({"type":"integer"})),
                    ("negate", json!({"type":"boolean"})),
                ],
                &["a", "b"],
            ),
            |x: AddArgs| Ok(json!({"sum": if x.negate { -(x.a + x.b) } else { x.a + x.b }})),
        ));
        r
    }

    #[test]
    fn executes_with_coercion_and_reports_errors_as_json() {
        let r = registry();
        let ok = r.execute("add", r#"{"a":"2","b":3,"negate":"true"}"#);
        assert_eq!(ok.content, json!({"sum": -5}));
        assert!(ok.error.is_none());

        let bad = r.execute("add", r#"{"a":2,"b":"#);
        assert_eq!(bad.content["error_type"], "invalid_arguments");
        assert!(bad.content["error"]
            .as_str()
            .unwrap()
            .contains("not a JSON object"));

        let missing = r.execute("add", r#"{"a":2}"#);
        assert_eq!(missing.content["error"], "missing required argument(s): b");

        let unknown = r.execute("mul", "{}");
        assert!(unknown.content["error"]
            .as_str()
            .unwrap()
            .starts_with("Unknown tool: mul"));
        assert_eq!(unknown.content["recoverable"], true);

        let typed = r.execute("add", r#"{"a":"two","b":1}"#);
        assert!(
            typed.content["error"]
                .as_str()
                .unwrap()
                .contains("arguments of `add`"),
            "{}",
            typed.content
        );
    }

    #[test]
    fn subset_rejects_unknown_names() {
        let r = registry();
        assert_eq!(r.subset(&["add"]).unwrap().names(), vec!["add"]);
        assert_eq!(
            r.subset(&["add", "nope"]).unwrap_err(),
            "unknown tools: nope"
        );
    }

    #[test]
    fn parses_double_encoded_and_fenced_arguments() {
        assert_eq!(parse_arguments(r#""{\"a\":1}""#).unwrap()["a"], 1);
        assert_eq!(parse_arguments("```json\n{\"a\":1}\n```").unwrap()["a"], 1);
        assert!(parse_arguments("[1,2]").is_err());
    }
}
