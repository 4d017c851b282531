//! User components (blocks, heads, scripts) checked before they are stored or used: a block
//! or head is a declarative definition ([`crate::graph`]), a script a sandboxed model source
//! (`crate::script`). Nothing is built or run here beyond the checks.
//!
//! ```
//! use models::components::{validate, ComponentKind};
//! let s = validate(ComponentKind::Head, r#"{"kind": "head", "family": "student_t",
//!     "layers": [{"op": "linear", "mult": 2}, {"op": "gate", "kind": "glu"}]}"#).unwrap();
//! assert_eq!(s.family.as_deref(), Some("student_t"));
//! assert!(validate(ComponentKind::Block, "{\"kind\": \"head\", \"family\": \"gbm\"}").is_err());
//! ```

use serde::Serialize;

use crate::blocks::BuildCtx;
use crate::graph::{self, Definition, Size};
pub use crate::registry::ComponentKind;
use crate::ModelError;

/// The model a stored block or head is checked in: the spec defaults (d_model 32, seq_len 64)
/// and the 5m horizon (288). A spec using it with other sizes checks it again with those.
pub const REFERENCE_CTX: BuildCtx = BuildCtx {
    d_model: 32,
    seq_len: 64,
};
/// Horizon of the reference check (5m prompts).
pub const REFERENCE_HORIZON: usize = 288;

/// What a valid component is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentSummary {
    /// Block, head or script.
    pub kind: ComponentKind,
    /// Its one-line summary (from the definition).
    pub summary: String,
    /// A head's built-in family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// Size in the reference model (blocks and heads).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<Size>,
}

/// Whether `name` is a built-in block, head or baseline (user components may not take it).
pub fn is_builtin(name: &str) -> bool {
    crate::blocks::entry(name).is_some()
        || crate::heads::entry(name).is_some()
        || crate::baselines::BASELINE_NAMES.contains(&name)
}

/// Checks a component's text as `kind`: a block or head definition (JSON or TOML, its
/// `kind` field must agree) at [`REFERENCE_CTX`], or a script's source.
pub fn validate(kind: ComponentKind, definition: &str) -> Result<ComponentSummary, ModelError> {
    if kind == ComponentKind::Script {
        return check_script(definition);
    }
    let def = graph::parse(definition)?;
    let (summary, family) = match (&def, kind) {
        (Definition::Block(b), ComponentKind::Block) => (b.summary.clone(), None),
        (Definition::Head(h), ComponentKind::Head) => (h.summary.clone(), Some(h.family.clone())),
        (Definition::Block(_), _) => {
            return Err(ModelError::InvalidConfig(format!(
                "kind: the definition is a block, not a {}",
                kind.as_str()
            )))
        }
        (Definition::Head(_), _) => {
            return Err(ModelError::InvalidConfig(format!(
                "kind: the definition is a head, not a {}",
                kind.as_str()
            )))
        }
    };
    let size = graph::check(&def, REFERENCE_CTX, REFERENCE_HORIZON)?;
    Ok(ComponentSummary {
        kind,
        summary,
        family,
        size: Some(size),
    })
}

/// A script is checked by the script sandbox ([`crate::script::check`]: compile, limits, dry
/// runs on a LOW and a HIGH prompt).
fn check_script(source: &str) -> Result<ComponentSummary, ModelError> {
    let info = crate::script::check(source)?;
    Ok(ComponentSummary {
        kind: ComponentKind::Script,
        summary: format!(
            "script answering {} ({} bytes, {} functions)",
            info.answer,
            info.bytes,
            info.functions.len()
        ),
        family: None,
        size: None,
    })
}
