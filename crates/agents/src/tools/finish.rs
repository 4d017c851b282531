//! The `finish` tool every agent gets: `{success, summary, result}`, where `result` follows a
//! schema chosen per agent. A finish whose `result` does not match is rejected with the reason,
//! so the model can repair it (accepting anything would let a malformed result pass silently).

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::coerce::coerce_args;
use super::registry::parse_arguments;
use super::tool::ToolError;
use crate::llm::{FunctionSpec, ToolSpec};

/// Name of the finish tool.
pub const FINISH: &str = "finish";

/// A validated finish call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finish {
    /// Whether the agent achieved its task.
    pub success: bool,
    /// One-paragraph summary.
    #[serde(default)]
    pub summary: String,
    /// The structured result (an object following the agent's result schema).
    #[serde(default)]
    pub result: Value,
}

/// The finish tool of one agent.
#[derive(Debug, Clone, PartialEq)]
pub struct FinishTool {
    result_schema: Value,
}

impl FinishTool {
    /// A finish tool whose `result` must follow `result_schema` (an object schema).
    pub fn new(result_schema: Value) -> Self {
        Self { result_schema }
    }

    /// The tool spec offered to the model.
    pub fn spec(&self) -> ToolSpec {
        ToolSpec {
            kind: "function".into(),
            function: FunctionSpec {
                name: FINISH.into(),
                description: "Call this exactly once when you are done. `success` says whether you achieved the task; \
                              `result` carries your structured output (see its schema); `summary` is one short paragraph."
                    .into(),
                parameters: json!({
                    "type": "object",
                    "properties": {
                        "success": {"type": "boolean", "description": "true if the task was achieved"},
                        "summary": {"type": "string", "description": "a short summary of what you did and found"},
                        "result": self.result_schema,
                    },
                    "required": ["success", "result"],
                }),
            },
        }
    }

    /// Parses and validates the raw arguments of a finish call.
    pub fn parse(&self, arguments: &str) -> Result<Finish, ToolError> {
        let raw = parse_arguments(arguments).map_err(|e| {
            ToolError::invalid(format!("finish arguments are not a JSON object ({e})"))
        })?;
        let schema = json!({"properties": {"success": {"type": "boolean"}, "summary": {"type": "string"}, "result": {"type": "object"}}});
        let mut args = coerce_args(raw, &schema);
        let success = match args.remove("success") {
            Some(Value::Bool(b)) => b,
            None | Some(Value::Null) => true,
            Some(other) => {
                return Err(ToolError::invalid(format!(
                    "finish: `success` must be a boolean, got {other}"
                )))
            }
        };
        let summary = match args.remove("summary") {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        let result = match args.remove("result") {
            Some(Value::Null) | None => Value::Object(Map::new()),
            Some(v) => v,
        };
        if success {
            validate(&result, &self.result_schema, "result")?;
        }
        Ok(Finish {
            success,
            summary,
            result,
        })
    }
}

/// Checks `v` against the subset of JSON schema the result schemas use: `type`, `required`,
/// `properties` (recursively) and array `items`.
pub fn validate(v: &Value, schema: &Value, path: &str) -> Result<(), ToolError> {
    if let Some(ty) = schema.get("type").and_then(Value::as_str) {
        let ok = match ty {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "number" => v.is_number(),
            "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
            "boolean" => v.is_boolean(),
            _ => true,
        };
        if !ok {
            return Err(ToolError::invalid(format!(
                "finish: `{path}` must be of type {ty}, got {v}"
            )));
        }
    }
    if let (Some(obj), Some(req)) = (
        v.as_object(),
        schema.get("required").and_then(Value::as_array),
    ) {
        for k in req.iter().filter_map(Value::as_str) {
            if obj.get(k).is_none_or(Value::is_null) {
                return Err(ToolError::invalid(format!(
                    "finish: `{path}.{k}` is required"
                )));
            }
        }
    }
    if let (Some(obj), Some(props)) = (
        v.as_object(),
        schema.get("properties").and_then(Value::as_object),
    ) {
        for (k, sub) in props {
            if let Some(x) = obj.get(k).filter(|x| !x.is_null()) {
                validate(x, sub, &format!("{path}.{k}"))?;
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), v.as_array()) {
        for (i, x) in arr.iter().enumerate() {
            validate(x, items, &format!("{path}[{i}]"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool() -> FinishTool {
        FinishTool::new(
            json!({"type":"object","properties":{"experiments":{"type":"array","items":{"type":"object","required":["blocks"]}}},"required":["experiments"]}),
        )
    }

    #[test]
    fn accepts_string_encoded_result_and_string_success() {
        let f = tool()
            .parse(r#"{"success":"true","result":"{\"experiments\":[{\"blocks\":[\"LSTM\"]}]}"}"#)
            .unwrap();
        assert!(f.success);
        assert_eq!(f.result["experiments"][0]["blocks"][0], "LSTM");
    }

    #[test]
    fn rejects_results_that_miss_the_schema() {
        let e = tool()
            .parse(r#"{"success":true,"result":{"experiments":[{"head":"gbm"}]}}"#)
            .unwrap_err();
        assert_eq!(
            e.message,
            "finish: `result.experiments[0].blocks` is required"
        );
        let e = tool().parse(r#"{"success":true,"result":{}}"#).unwrap_err();
        assert!(e.message.contains("result.experiments"));
        // A failure report need not carry the result.
        let f = tool()
            .parse(r#"{"success":false,"summary":"no data"}"#)
            .unwrap();
        assert!(!f.success);
        assert_eq!(f.summary, "no data");
    }
}
