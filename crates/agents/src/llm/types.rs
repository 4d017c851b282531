//! Wire types of the OpenAI chat-completions protocol, parsed leniently: fields that compatible
//! servers omit get defaults, `content` may be a string, null or an array of text parts, and tool
//! call arguments may arrive as a JSON string or as an object.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The system prompt.
    System,
    /// The user (or the orchestrator speaking for it).
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
    /// Any role this client does not know (kept so parsing never fails on it).
    #[serde(other)]
    Other,
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Text; `None` for an assistant turn that only calls tools.
    #[serde(default, deserialize_with = "lenient_content")]
    pub content: Option<String>,
    /// Tool calls of an assistant turn.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub tool_calls: Vec<ToolCall>,
    /// For a tool result: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// For a tool result: the tool's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text(Role::System, text)
    }
    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text(Role::User, text)
    }
    /// An assistant message with text only.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text(Role::Assistant, text)
    }
    /// A tool result answering call `id` of tool `name`.
    pub fn tool_result(
        id: impl Into<String>,
        name: impl Into<String>,
        content: impl Into<String>,
    ) -> Self {
        Self {
            role: Role::Tool,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(id.into()),
            name: Some(name.into()),
        }
    }
    fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(text.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
            name: None,
        }
    }
}

/// A tool call requested by the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// Call id, echoed back in the tool result. Generated when a server omits it.
    #[serde(default)]
    pub id: String,
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// The function and its arguments.
    pub function: FunctionCall,
}

/// The function part of a tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    /// Tool name.
    #[serde(default)]
    pub name: String,
    /// Arguments as a JSON text (objects sent by lenient servers are re-encoded).
    #[serde(default, deserialize_with = "lenient_arguments")]
    pub arguments: String,
}

/// A tool offered to the model (`{"type":"function","function":{...}}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Always `function`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    /// Name, description and JSON-schema parameters.
    pub function: FunctionSpec,
}

/// Name, description and parameter schema of a tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// Tool name.
    pub name: String,
    /// What the tool does, for the model.
    pub description: String,
    /// JSON schema of the arguments object.
    pub parameters: Value,
}

/// A chat-completions request body.
#[derive(Debug, Clone, Serialize)]
pub struct ChatRequest {
    /// Model id.
    pub model: String,
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// Tools the model may call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Cap on completion tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// A chat-completions response body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// Response id.
    #[serde(default)]
    pub id: String,
    /// Model that answered.
    #[serde(default)]
    pub model: String,
    /// Choices; the engine uses the first.
    #[serde(default, deserialize_with = "null_as_default")]
    pub choices: Vec<Choice>,
    /// Token usage, when the server reports it.
    #[serde(default)]
    pub usage: Option<Usage>,
}

/// One choice of a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// Index among the choices.
    #[serde(default)]
    pub index: u32,
    /// The assistant message.
    pub message: Message,
    /// Why generation stopped (`stop`, `tool_calls`, `length`, ...).
    #[serde(default)]
    pub finish_reason: Option<String>,
}

/// Token counts of one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub prompt_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub completion_tokens: u64,
    /// Total tokens.
    #[serde(default)]
    pub total_tokens: u64,
}

fn function_type() -> String {
    "function".to_string()
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `content`: a string, null, or an array of `{type:"text", text}` parts (joined).
fn lenient_content<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(s) => Some(s),
        Value::Array(parts) => {
            let text: Vec<String> = parts
                .iter()
                .filter_map(|p| match p {
                    Value::String(s) => Some(s.clone()),
                    Value::Object(o) => o.get("text").and_then(Value::as_str).map(str::to_string),
                    _ => None,
                })
                .collect();
            Some(text.join(""))
        }
        other => Some(other.to_string()),
    })
}

/// `arguments`: a JSON text, or an object/array that a lenient server sent unencoded.
fn lenient_arguments<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => String::new(),
        Value::String(s) => s,
        other => other.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_and_lenient_responses() {
        let body = r#"{"choices":[{"message":{"role":"assistant","content":null,
            "tool_calls":[{"function":{"name":"list_blocks","arguments":{"x":1}}}]}}]}"#;
        let r: ChatResponse = serde_json::from_str(body).unwrap();
        let m = &r.choices[0].message;
        assert_eq!(m.role, Role::Assistant);
        assert_eq!(m.content, None);
        assert_eq!(m.tool_calls[0].kind, "function");
        assert_eq!(m.tool_calls[0].function.arguments, r#"{"x":1}"#);
        assert!(r.usage.is_none());

        let parts = r#"{"choices":[{"message":{"role":"assistant","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"tool_calls":null}}],"usage":{"prompt_tokens":3}}"#;
        let r: ChatResponse = serde_json::from_str(parts).unwrap();
        assert_eq!(r.choices[0].message.content.as_deref(), Some("ab"));
        assert_eq!(r.usage.unwrap().prompt_tokens, 3);
        assert_eq!(r.usage.unwrap().completion_tokens, 0);
    }

    #[test]
    fn serialises_tool_results_like_openai() {
        let m = Message::tool_result("c1", "finish", "{}");
        let v = serde_json::to_value(&m).unwrap();
        assert_eq!(v["role"], "tool");
        assert_eq!(v["tool_call_id"], "c1");
        assert!(v.get("tool_calls").is_none());
    }
}
