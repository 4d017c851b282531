//! Model specs as JSON: blocks with parameters, a head with parameters, d_model, input
//! features, timeframe and training settings. [`ModelSpec::validate`] names the wrong field.
//!
//! ```
//! let spec = models::spec::ModelSpec::from_json(r#"{
//!     "timeframe": "5m", "blocks": [{"name": "lstm"}], "head": {"name": "gbm"}
//! }"#).unwrap();
//! assert_eq!(spec.d_model, 32);
//! let err = models::spec::ModelSpec::from_json(r#"{
//!     "timeframe": "5m", "blocks": [{"name": "lstm", "params": {"num_layers": 0}}],
//!     "head": {"name": "gbm"}
//! }"#).unwrap_err();
//! assert!(err.to_string().contains("blocks[0].params.num_layers"));
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::blocks::BuildCtx;
use crate::features::Feature;
use crate::graph::{BlockDef, Definition, HeadDef};
use crate::registry::Resolved;
use crate::ModelError;

/// Prompt timeframe (`5m` / `1m`): the one type, owned by `sn50`.
pub use sn50::Timeframe;

/// A block or head by registry name with its hyperparameters (missing ones take defaults).
/// In JSON either `{"name": "lstm", "params": {...}}` or the bare name `"lstm"`.
///
/// A user component (a declarative block or head stored in the research registry) carries
/// its definition: the research layer resolves the name and embeds the definition and its
/// hash, so a recorded spec replays without the registry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComponentSpec {
    /// Registry name.
    pub name: String,
    /// Hyperparameters (a JSON object; `null` or absent = defaults).
    pub params: Value,
    /// A user component's definition ([`crate::graph::Definition`] as JSON).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub definition: Option<Value>,
    /// SHA-256 (hex) of the stored definition text the definition came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// The object form of a [`ComponentSpec`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentFields {
    name: String,
    #[serde(default)]
    params: Value,
    #[serde(default)]
    definition: Option<Value>,
    #[serde(default)]
    hash: Option<String>,
}

impl<'de> Deserialize<'de> for ComponentSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Value::deserialize(d)? {
            Value::String(name) => Ok(Self::named(&name)),
            v @ Value::Object(_) => serde_json::from_value::<ComponentFields>(v)
                .map(|c| Self {
                    name: c.name,
                    params: c.params,
                    definition: c.definition,
                    hash: c.hash,
                })
                .map_err(D::Error::custom),
            _ => Err(D::Error::custom(
                "a component is a name (\"lstm\") or {\"name\": \"lstm\", \"params\": {...}}",
            )),
        }
    }
}

impl ComponentSpec {
    /// A component with default hyperparameters.
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_string(),
            params: Value::Null,
            definition: None,
            hash: None,
        }
    }

    /// A built-in component with hyperparameters.
    pub fn with_params(name: &str, params: Value) -> Self {
        Self {
            params,
            ..Self::named(name)
        }
    }

    /// Whether it carries a user component's definition.
    pub fn is_user(&self) -> bool {
        self.definition.is_some()
    }
}

/// The training objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// The sn50 CRPS over the prompt's intervals, in basis points, on sampled paths.
    PathCrps,
    /// Closed-form Gaussian CRPS of per-step returns in basis points (Gaussian heads only).
    GaussianCrps,
}

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSpec {
    /// Maximum passes over the training windows.
    pub epochs: usize,
    /// Windows per optimiser step.
    pub batch_size: usize,
    /// Peak learning rate (AdamW).
    pub lr: f64,
    /// AdamW decoupled weight decay.
    pub weight_decay: f64,
    /// Fraction of all steps spent in linear warm-up before cosine decay.
    pub warmup_frac: f64,
    /// Global gradient-norm clip (0 = off).
    pub clip_norm: f64,
    /// Epochs without validation improvement before stopping (0 = never stop early).
    pub patience: usize,
    /// Paths sampled per window in training (the loss's ensemble size).
    pub n_paths: usize,
    /// Objective.
    pub loss: LossKind,
    /// Seed of weights, batch order and noise.
    pub seed: u64,
    /// Steps between consecutive training windows.
    pub stride: usize,
    /// Cap on training windows (0 = all; the most recent are kept).
    pub max_windows: usize,
}

impl Default for TrainSpec {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 32,
            lr: 1e-3,
            weight_decay: 1e-4,
            warmup_frac: 0.05,
            clip_norm: 1.0,
            patience: 3,
            n_paths: 64,
            loss: LossKind::PathCrps,
            seed: 0,
            stride: 12,
            max_windows: 0,
        }
    }
}

fn default_d_model() -> usize {
    32
}
fn default_seq_len() -> usize {
    64
}
fn default_features() -> Vec<String> {
    crate::features::DEFAULT_FEATURES
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// A whole model: features → input projection → blocks → head → paths, plus training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Optional display name; defaults to `block+block+head`.
    #[serde(default)]
    pub name: Option<String>,
    /// `5m` (LOW, 289 points) or `1m` (HIGH, 61 points).
    pub timeframe: Timeframe,
    /// Channel width of the backbone.
    #[serde(default = "default_d_model")]
    pub d_model: usize,
    /// Input window length in steps.
    #[serde(default = "default_seq_len")]
    pub seq_len: usize,
    /// Input features (see [`crate::features`]).
    #[serde(default = "default_features")]
    pub features: Vec<String>,
    /// Backbone blocks, applied in order.
    pub blocks: Vec<ComponentSpec>,
    /// The head.
    pub head: ComponentSpec,
    /// Training settings.
    #[serde(default)]
    pub training: TrainSpec,
}

/// A validated spec: resolved hyperparameters and parsed features.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Each block's name and resolved hyperparameters.
    pub blocks: Vec<(String, Resolved)>,
    /// The head's name and resolved hyperparameters.
    pub head: (String, Resolved),
    /// Parsed features.
    pub features: Vec<Feature>,
    /// The definitions of user blocks (by block index; `None` for built-ins).
    block_defs: Vec<Option<BlockDef>>,
    /// The definition of a user head.
    head_def: Option<HeadDef>,
}

impl Checked {
    /// Builds block `i` (a built-in by name, or a user block from its definition).
    pub fn build_block(
        &self,
        i: usize,
        ctx: BuildCtx,
        vb: candle_nn::VarBuilder,
    ) -> candle_core::Result<Box<dyn crate::blocks::Block>> {
        let (name, p) = &self.blocks[i];
        match self.block_defs.get(i).and_then(Option::as_ref) {
            Some(def) => crate::graph::build_block(def, ctx, vb),
            None => crate::blocks::build(name, p, ctx, vb),
        }
    }

    /// Builds the head (a built-in by name, or a user head from its definition).
    pub fn build_head(
        &self,
        ctx: crate::heads::HeadCtx,
        vb: candle_nn::VarBuilder,
    ) -> candle_core::Result<Box<dyn crate::heads::Head>> {
        let (name, p) = &self.head;
        match &self.head_def {
            Some(def) => crate::graph::build_head(def, ctx, vb),
            None => crate::heads::build(name, p, ctx, vb),
        }
    }
}

fn user_params_empty(c: &ComponentSpec, at: &str) -> Result<(), ModelError> {
    let empty = match &c.params {
        Value::Null => true,
        Value::Object(o) => o.is_empty(),
        _ => false,
    };
    if crate::components::is_builtin(&c.name) {
        return Err(bad(
            &format!("{at}.definition"),
            format!(
                "`{}` is a built-in; only a user component has a definition",
                c.name
            ),
        ));
    }
    if empty {
        Ok(())
    } else {
        Err(bad(
            &format!("{at}.params"),
            format!(
                "`{}` is a user component: its definition holds its settings; params must be empty",
                c.name
            ),
        ))
    }
}

/// A checked head: (name, params), a user head's definition, the built-in family it samples with.
type HeadCheck = ((String, Resolved), Option<HeadDef>, String);

/// The message of an error without its kind prefix (to nest it under a field).
fn inner(e: ModelError) -> String {
    match e {
        ModelError::InvalidConfig(s) => s,
        e => e.to_string(),
    }
}

fn bad(field: &str, why: impl std::fmt::Display) -> ModelError {
    ModelError::InvalidConfig(format!("{field}: {why}"))
}

impl ModelSpec {
    /// A spec with default settings for the given blocks and head.
    pub fn new(timeframe: Timeframe, blocks: &[&str], head: &str) -> Self {
        Self {
            name: None,
            timeframe,
            d_model: default_d_model(),
            seq_len: default_seq_len(),
            features: default_features(),
            blocks: blocks.iter().map(|b| ComponentSpec::named(b)).collect(),
            head: ComponentSpec::named(head),
            training: TrainSpec::default(),
        }
    }

    /// Parses and validates JSON.
    pub fn from_json(s: &str) -> Result<Self, ModelError> {
        let spec: Self = serde_json::from_str(s).map_err(|e| bad("spec", e))?;
        spec.validate()?;
        Ok(spec)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// `name`, or `blocks+…+head`.
    pub fn display_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let mut parts: Vec<&str> = self.blocks.iter().map(|b| b.name.as_str()).collect();
            parts.push(&self.head.name);
            parts.join("+")
        })
    }

    /// Steps per horizon.
    pub fn horizon(&self) -> usize {
        self.timeframe.horizon()
    }

    /// Checks every field; errors name the field (`blocks[1].params.n_heads: …`) and why.
    pub fn validate(&self) -> Result<Checked, ModelError> {
        if !(1..=4096).contains(&self.d_model) {
            return Err(bad(
                "d_model",
                format!("{} is outside [1, 4096]", self.d_model),
            ));
        }
        if !(8..=4096).contains(&self.seq_len) {
            return Err(bad(
                "seq_len",
                format!("{} is outside [8, 4096]", self.seq_len),
            ));
        }
        if self.features.is_empty() {
            return Err(bad("features", "at least one feature is needed"));
        }
        let mut features = Vec::new();
        for (i, f) in self.features.iter().enumerate() {
            match Feature::parse(f) {
                Some(x) => features.push(x),
                None => {
                    return Err(bad(
                        &format!("features[{i}]"),
                        format!(
                            "unknown feature `{f}` (known: {})",
                            crate::features::FEATURE_HELP
                        ),
                    ))
                }
            }
        }
        if self.blocks.is_empty() {
            return Err(bad("blocks", "at least one block is needed"));
        }
        let ctx = BuildCtx {
            d_model: self.d_model,
            seq_len: self.seq_len,
        };
        let mut blocks = Vec::new();
        let mut block_defs = Vec::new();
        for (i, b) in self.blocks.iter().enumerate() {
            let at = format!("blocks[{i}]");
            if let Some(v) = &b.definition {
                user_params_empty(b, &at)?;
                let field = format!("{at}.definition");
                let def = crate::graph::from_value(v).map_err(|e| bad(&field, inner(e)))?;
                let Definition::Block(bd) = def else {
                    return Err(bad(&field, format!("`{}` is a head, not a block", b.name)));
                };
                crate::graph::check_block(&bd, ctx).map_err(|e| bad(&field, inner(e)))?;
                blocks.push((b.name.clone(), Resolved::empty(&b.name)));
                block_defs.push(Some(bd));
                continue;
            }
            let Some(entry) = crate::blocks::entry(&b.name) else {
                let known: Vec<&str> = crate::blocks::REGISTRY
                    .iter()
                    .map(|e| e.info.name)
                    .collect();
                return Err(bad(
                    &format!("{at}.name"),
                    format!(
                        "unknown block `{}` (known: {}; a user component's name resolves through the registry)",
                        b.name,
                        known.join(", ")
                    ),
                ));
            };
            let r = entry
                .info
                .resolve(&b.params, &format!("{at}.params"))
                .map_err(ModelError::InvalidConfig)?;
            (entry.check)(&r, ctx).map_err(|e| bad(&format!("{at}.params"), e))?;
            blocks.push((b.name.clone(), r));
            block_defs.push(None);
        }
        let (head, head_def, family) = self.check_head()?;
        let t = &self.training;
        let checks: [(&str, bool, &str); 9] = [
            (
                "training.epochs",
                t.epochs <= 100_000,
                "must be at most 100000",
            ),
            (
                "training.batch_size",
                (1..=4096).contains(&t.batch_size),
                "must be in [1, 4096]",
            ),
            (
                "training.lr",
                t.lr > 0.0 && t.lr <= 1.0,
                "must be in (0, 1]",
            ),
            (
                "training.weight_decay",
                (0.0..=1.0).contains(&t.weight_decay),
                "must be in [0, 1]",
            ),
            (
                "training.warmup_frac",
                (0.0..1.0).contains(&t.warmup_frac),
                "must be in [0, 1)",
            ),
            (
                "training.clip_norm",
                t.clip_norm >= 0.0 && t.clip_norm.is_finite(),
                "must be ≥ 0",
            ),
            (
                "training.n_paths",
                (2..=10_000).contains(&t.n_paths),
                "must be in [2, 10000]",
            ),
            (
                "training.stride",
                (1..=100_000).contains(&t.stride),
                "must be in [1, 100000]",
            ),
            (
                "training.max_windows",
                t.max_windows <= 10_000_000,
                "must be at most 10000000",
            ),
        ];
        for (field, ok, why) in checks {
            if !ok {
                return Err(bad(field, why));
            }
        }
        if t.loss == LossKind::GaussianCrps && !matches!(family.as_str(), "gbm" | "sde" | "copula")
        {
            return Err(bad(
                "training.loss",
                format!(
                    "gaussian_crps needs a head with Gaussian marginals (gbm, sde, copula), not `{}`",
                    self.head.name
                ),
            ));
        }
        Ok(Checked {
            blocks,
            head,
            features,
            block_defs,
            head_def,
        })
    }

    /// The head resolved: (name, params), its definition when it is a user head, and the
    /// built-in family it samples with.
    fn check_head(&self) -> Result<HeadCheck, ModelError> {
        let hc = &self.head;
        if let Some(v) = &hc.definition {
            user_params_empty(hc, "head")?;
            let field = "head.definition";
            let def = crate::graph::from_value(v).map_err(|e| bad(field, inner(e)))?;
            let Definition::Head(hd) = def else {
                return Err(bad(field, format!("`{}` is a block, not a head", hc.name)));
            };
            let family = hd.family.clone();
            let ctx = crate::heads::HeadCtx {
                d_model: self.d_model,
                horizon: self.horizon(),
            };
            crate::graph::check_head(&hd, ctx).map_err(|e| bad(field, inner(e)))?;
            return Ok((
                (hc.name.clone(), Resolved::empty(&hc.name)),
                Some(hd),
                family,
            ));
        }
        let Some(h) = crate::heads::entry(&hc.name) else {
            let known: Vec<&str> = crate::heads::REGISTRY.iter().map(|e| e.info.name).collect();
            return Err(bad(
                "head.name",
                format!(
                    "unknown head `{}` (known: {}; a user component's name resolves through the registry)",
                    hc.name,
                    known.join(", ")
                ),
            ));
        };
        let hr = h
            .info
            .resolve(&hc.params, "head.params")
            .map_err(ModelError::InvalidConfig)?;
        Ok(((hc.name.clone(), hr), None, hc.name.clone()))
    }
}
