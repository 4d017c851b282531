//! A tool: a typed Rust function with a JSON-schema parameter object. Its result, or its error,
//! goes back to the model as JSON.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What kind of failure a tool reports; the orchestrator stops retrying on `Environment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToolErrorKind {
    /// The arguments are wrong (the model can fix them).
    InvalidArguments,
    /// The tool ran and failed (e.g. a config that does not train).
    Failed,
    /// A transient failure (network, busy service): retrying may help.
    Transient,
    /// The environment cannot do this at all (missing data, dependency, credentials).
    Environment,
}

/// A tool failure, sent to the model as `{"error", "error_type", "recoverable"}`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct ToolError {
    /// Kind of failure.
    pub kind: ToolErrorKind,
    /// Human- and model-readable message.
    pub message: String,
}

impl ToolError {
    /// Bad arguments.
    pub fn invalid(msg: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::InvalidArguments,
            message: msg.into(),
        }
    }
    /// The operation failed.
    pub fn failed(msg: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::Failed,
            message: msg.into(),
        }
    }
    /// A transient failure.
    pub fn transient(msg: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::Transient,
            message: msg.into(),
        }
    }
    /// An environment failure that retries cannot fix.
    pub fn environment(msg: impl Into<String>) -> Self {
        Self {
            kind: ToolErrorKind::Environment,
            message: msg.into(),
        }
    }
    /// The JSON the model sees.
    pub fn to_json(&self) -> Value {
        let error_type = serde_json::to_value(self.kind).unwrap_or(Value::Null);
        json!({"error": self.message, "error_type": error_type, "recoverable": self.kind != ToolErrorKind::Environment})
    }
}

/// A callable tool.
pub trait Tool: Send + Sync {
    /// Name the model calls it by.
    fn name(&self) -> &str;
    /// One-paragraph description for the model.
    fn description(&self) -> &str;
    /// JSON schema of the arguments object (`{"type":"object","properties":{...},"required":[...]}`).
    fn parameters(&self) -> Value;
    /// Runs the tool on already-coerced arguments.
    fn call(&self, args: Value) -> Result<Value, ToolError>;
}

/// A tool built from a typed closure: arguments deserialise into `A`, the result serialises from `R`.
pub struct FnTool<A, R, F> {
    name: String,
    description: String,
    parameters: Value,
    f: F,
    _types: PhantomData<fn(A) -> R>,
}

/// Builds a [`FnTool`]. `parameters` is the JSON schema of `A`.
pub fn fn_tool<A, R, F>(name: &str, description: &str, parameters: Value, f: F) -> FnTool<A, R, F>
where
    A: DeserializeOwned,
    R: Serialize,
    F: Fn(A) -> Result<R, ToolError> + Send + Sync,
{
    FnTool {
        name: name.to_string(),
        description: description.to_string(),
        parameters,
        f,
        _types: PhantomData,
    }
}

impl<A, R, F> Tool for FnTool<A, R, F>
where
    A: DeserializeOwned,
    R: Serialize,
    F: Fn(A) -> Result<R, ToolError> + Send + Sync,
{
    fn name(&self) -> &str {
        &self.name
    }
    fn description(&self) -> &str {
        &self.description
    }
    fn parameters(&self) -> Value {
        self.parameters.clone()
    }
    fn call(&self, args: Value) -> Result<Value, ToolError> {
        let typed: A = serde_json::from_value(args)
            .map_err(|e| ToolError::invalid(format!("arguments of `{}`: {e}", self.name)))?;
        let out = (self.f)(typed)?;
        serde_json::to_value(out).map_err(|e| {
            ToolError::failed(format!("serialising the result of `{}`: {e}", self.name))
        })
    }
}

/// An object schema from `(name, type-schema)` pairs; `required` lists the mandatory names.
pub fn object_schema(props: &[(&str, Value)], required: &[&str]) -> Value {
    let properties: serde_json::Map<String, Value> = props
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    json!({"type": "object", "properties": properties, "required": required})
}
