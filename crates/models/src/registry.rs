//! The registry of blocks and heads by name: typed hyperparameters with defaults and ranges,
//! a JSON schema each, and validation whose errors name the field and why.
//!
//! ```
//! let names: Vec<&str> = models::registry::blocks().iter().map(|b| b.name).collect();
//! assert!(names.contains(&"lstm"));
//! let gbm = models::registry::head("gbm").unwrap();
//! assert_eq!(gbm.schema()["type"], "object");
//! ```

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

/// The type, default and range of one hyperparameter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// An integer in `[min, max]`.
    Int {
        /// Default value.
        default: i64,
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A float in `[min, max]`.
    Float {
        /// Default value.
        default: f64,
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// A boolean.
    Bool {
        /// Default value.
        default: bool,
    },
    /// One of a fixed set of strings.
    Choice {
        /// Default value.
        default: &'static str,
        /// Allowed values.
        options: &'static [&'static str],
    },
}

/// One hyperparameter of a block or head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParamDef {
    /// Name in the spec's `params` object.
    pub name: &'static str,
    /// Type, default and range.
    pub kind: Kind,
    /// What it does.
    pub help: &'static str,
}

/// Whether a component is a backbone block, a head or a (user) script model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComponentKind {
    /// (B, T, d_model) → (B, T, d_model).
    Block,
    /// Backbone output → stochastic process → price paths.
    Head,
    /// A sandboxed statistical model script (user components only).
    Script,
}

impl ComponentKind {
    /// `block`, `head` or `script`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Block => "block",
            Self::Head => "head",
            Self::Script => "script",
        }
    }

    /// Parses [`ComponentKind::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "block" => Some(Self::Block),
            "head" => Some(Self::Head),
            "script" => Some(Self::Script),
            _ => None,
        }
    }
}

/// Describes one registered block or head.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComponentInfo {
    /// Registry name (snake_case).
    pub name: &'static str,
    /// Block or head.
    pub kind: ComponentKind,
    /// One line: what it computes.
    pub summary: &'static str,
    /// How this version is simplified against the paper, when it is.
    pub simplified: Option<&'static str>,
    /// Hyperparameters.
    pub params: &'static [ParamDef],
}

impl ComponentInfo {
    /// A JSON schema (draft 2020-12 subset) of the `params` object.
    pub fn schema(&self) -> Value {
        let mut props = Map::new();
        for p in self.params {
            let mut s = match p.kind {
                Kind::Int { default, min, max } => {
                    json!({"type": "integer", "default": default, "minimum": min, "maximum": max})
                }
                Kind::Float { default, min, max } => {
                    json!({"type": "number", "default": default, "minimum": min, "maximum": max})
                }
                Kind::Bool { default } => json!({"type": "boolean", "default": default}),
                Kind::Choice { default, options } => {
                    json!({"type": "string", "default": default, "enum": options})
                }
            };
            s["description"] = json!(p.help);
            props.insert(p.name.to_string(), s);
        }
        json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "description": self.summary,
            "type": "object",
            "properties": props,
            "additionalProperties": false,
        })
    }

    /// The descriptor as JSON (name, kind, summary, simplified, defaults, schema).
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "kind": self.kind,
            "summary": self.summary,
            "simplified": self.simplified,
            "defaults": self.defaults().to_json(),
            "schema": self.schema(),
        })
    }

    /// Every parameter at its default.
    pub fn defaults(&self) -> Resolved {
        let values = self
            .params
            .iter()
            .map(|p| {
                let v = match p.kind {
                    Kind::Int { default, .. } => Val::Int(default),
                    Kind::Float { default, .. } => Val::Float(default),
                    Kind::Bool { default } => Val::Bool(default),
                    Kind::Choice { default, .. } => Val::Str(default.to_string()),
                };
                (p.name.to_string(), v)
            })
            .collect();
        Resolved {
            component: self.name.to_string(),
            values,
        }
    }

    /// Checks `params` (a JSON object or null) against the definitions and fills defaults.
    /// Errors are `"<field>: <why>"`, with `field` prefixed by `at` (e.g. `blocks[0].params`).
    pub fn resolve(&self, params: &Value, at: &str) -> Result<Resolved, String> {
        let mut out = self.defaults();
        let obj = match params {
            Value::Null => return Ok(out),
            Value::Object(o) => o,
            other => return Err(format!("{at}: must be an object, got {other}")),
        };
        for (key, v) in obj {
            let field = format!("{at}.{key}");
            let Some(def) = self.params.iter().find(|p| p.name == key) else {
                let known: Vec<&str> = self.params.iter().map(|p| p.name).collect();
                return Err(format!(
                    "{field}: unknown parameter of `{}` (known: {})",
                    self.name,
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            };
            let val = match def.kind {
                Kind::Int { min, max, .. } => {
                    let Some(i) = v
                        .as_i64()
                        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
                    else {
                        return Err(format!("{field}: must be an integer, got {v}"));
                    };
                    if i < min || i > max {
                        return Err(format!("{field}: {i} is outside [{min}, {max}]"));
                    }
                    Val::Int(i)
                }
                Kind::Float { min, max, .. } => {
                    let Some(f) = v.as_f64() else {
                        return Err(format!("{field}: must be a number, got {v}"));
                    };
                    if !(min..=max).contains(&f) {
                        return Err(format!("{field}: {f} is outside [{min}, {max}]"));
                    }
                    Val::Float(f)
                }
                Kind::Bool { .. } => match v.as_bool() {
                    Some(b) => Val::Bool(b),
                    None => return Err(format!("{field}: must be true or false, got {v}")),
                },
                Kind::Choice { options, .. } => match v.as_str() {
                    Some(s) if options.contains(&s) => Val::Str(s.to_string()),
                    _ => {
                        return Err(format!(
                            "{field}: must be one of {}, got {v}",
                            options.join(", ")
                        ))
                    }
                },
            };
            out.values.insert(key.clone(), val);
        }
        Ok(out)
    }
}

/// A resolved value.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// Integer.
    Int(i64),
    /// Float.
    Float(f64),
    /// Boolean.
    Bool(bool),
    /// String choice.
    Str(String),
}

/// Validated hyperparameters of one block or head, every one present (defaults filled).
/// Blocks read them by name; a name the definition does not have (a typo in the code) or a
/// value of another type is a [`ParamError`], not a zero.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolved {
    component: String,
    values: BTreeMap<String, Val>,
}

/// A block or head asked for a hyperparameter its definition does not have, or read it as the
/// wrong type: names the component, the parameter and the known names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{component}` has no {wanted} parameter `{name}` (known: {known})")]
pub struct ParamError {
    /// The block or head.
    pub component: String,
    /// The name asked for.
    pub name: String,
    /// The type asked for (`integer`, `number`, `boolean`, `choice`).
    pub wanted: &'static str,
    /// Its parameters with their types, comma-separated (`none` when it has none).
    pub known: String,
}

impl From<ParamError> for String {
    fn from(e: ParamError) -> Self {
        e.to_string()
    }
}

impl From<ParamError> for candle_core::Error {
    fn from(e: ParamError) -> Self {
        candle_core::Error::wrap(e)
    }
}

impl Val {
    fn type_name(&self) -> &'static str {
        match self {
            Val::Int(_) => "integer",
            Val::Float(_) => "number",
            Val::Bool(_) => "boolean",
            Val::Str(_) => "choice",
        }
    }
}

impl Resolved {
    /// No parameters, for `component` (a user component's definition holds its own).
    pub fn empty(component: &str) -> Self {
        Self {
            component: component.to_string(),
            values: BTreeMap::new(),
        }
    }

    /// The block or head these parameters belong to.
    pub fn component(&self) -> &str {
        &self.component
    }

    fn missing(&self, name: &str, wanted: &'static str) -> ParamError {
        let known: Vec<String> = self
            .values
            .iter()
            .map(|(k, v)| format!("{k} ({})", v.type_name()))
            .collect();
        ParamError {
            component: self.component.clone(),
            name: name.to_string(),
            wanted,
            known: if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
        }
    }

    /// An integer parameter as usize (a negative value is 0; definitions' bounds exclude it).
    pub fn usize(&self, name: &str) -> Result<usize, ParamError> {
        match self.values.get(name) {
            Some(Val::Int(i)) => Ok((*i).max(0) as usize),
            _ => Err(self.missing(name, "integer")),
        }
    }

    /// A float parameter (integers widen).
    pub fn f64(&self, name: &str) -> Result<f64, ParamError> {
        match self.values.get(name) {
            Some(Val::Float(f)) => Ok(*f),
            Some(Val::Int(i)) => Ok(*i as f64),
            _ => Err(self.missing(name, "number")),
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, name: &str) -> Result<bool, ParamError> {
        match self.values.get(name) {
            Some(Val::Bool(b)) => Ok(*b),
            _ => Err(self.missing(name, "boolean")),
        }
    }

    /// A choice parameter.
    pub fn str(&self, name: &str) -> Result<&str, ParamError> {
        match self.values.get(name) {
            Some(Val::Str(s)) => Ok(s),
            _ => Err(self.missing(name, "choice")),
        }
    }

    /// As a JSON object.
    pub fn to_json(&self) -> Value {
        let m: Map<String, Value> = self
            .values
            .iter()
            .map(|(k, v)| {
                let j = match v {
                    Val::Int(i) => json!(i),
                    Val::Float(f) => json!(f),
                    Val::Bool(b) => json!(b),
                    Val::Str(s) => json!(s),
                };
                (k.clone(), j)
            })
            .collect();
        Value::Object(m)
    }
}

/// Every registered block, in registry order.
pub fn blocks() -> Vec<&'static ComponentInfo> {
    crate::blocks::REGISTRY.iter().map(|e| &e.info).collect()
}

/// Every registered head, in registry order.
pub fn heads() -> Vec<&'static ComponentInfo> {
    crate::heads::REGISTRY.iter().map(|e| &e.info).collect()
}

/// A block's descriptor by name.
pub fn block(name: &str) -> Option<&'static ComponentInfo> {
    blocks().into_iter().find(|b| b.name == name)
}

/// A head's descriptor by name.
pub fn head(name: &str) -> Option<&'static ComponentInfo> {
    heads().into_iter().find(|h| h.name == name)
}

/// Shorthand for an integer parameter definition.
pub const fn int(
    name: &'static str,
    default: i64,
    min: i64,
    max: i64,
    help: &'static str,
) -> ParamDef {
    ParamDef {
        name,
        kind: Kind::Int { default, min, max },
        help,
    }
}

/// Shorthand for a float parameter definition.
pub const fn float(
    name: &'static str,
    default: f64,
    min: f64,
    max: f64,
    help: &'static str,
) -> ParamDef {
    ParamDef {
        name,
        kind: Kind::Float { default, min, max },
        help,
    }
}

/// Shorthand for a choice parameter definition.
pub const fn choice(
    name: &'static str,
    default: &'static str,
    options: &'static [&'static str],
    help: &'static str,
) -> ParamDef {
    ParamDef {
        name,
        kind: Kind::Choice { default, options },
        help,
    }
}

/// Shorthand for a boolean parameter definition.
pub const fn boolean(name: &'static str, default: bool, help: &'static str) -> ParamDef {
    ParamDef {
        name,
        kind: Kind::Bool { default },
        help,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_or_mistyped_parameter_is_an_error_naming_block_parameter_and_known_names() {
        let info = block("transformer").unwrap();
        let p = info
            .resolve(&json!({ "num_layers": 3 }), "blocks[0].params")
            .unwrap();
        assert_eq!(p.component(), "transformer");
        assert_eq!(p.usize("num_layers"), Ok(3));
        // A typo used to read as 0.
        let e = p.usize("num_layer").unwrap_err();
        assert_eq!(
            (e.component.as_str(), e.name.as_str()),
            ("transformer", "num_layer")
        );
        let text = e.to_string();
        assert!(
            text.starts_with("`transformer` has no integer parameter `num_layer` (known: "),
            "{text}"
        );
        assert!(text.contains("num_layers (integer)"), "{text}");
        // The right name read as the wrong type is an error too.
        assert!(p.f64("num_layers").is_ok(), "integers widen to numbers");
        assert!(p.bool("num_layers").is_err());
        assert!(p.str("num_layers").is_err());
        // Through the Result types blocks use: a candle error and a check's String.
        let c: candle_core::Error = e.clone().into();
        assert!(c.to_string().contains("num_layer"), "{c}");
        let s: String = e.into();
        assert!(s.contains("transformer"), "{s}");
        // A component without parameters says so.
        let none = Resolved::default().usize("x").unwrap_err();
        assert!(none.to_string().ends_with("(known: none)"), "{none}");
    }
}
