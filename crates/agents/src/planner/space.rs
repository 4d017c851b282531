//! The search space of the built-in planner: block stacks × heads × d_model × learning rate,
//! derived from the backend's catalog.

use crate::backend::{Catalog, PlannerSpec};
use serde::{Deserialize, Serialize};

/// Values each dimension may take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchSpace {
    /// Backbone stacks (block names in order).
    pub stacks: Vec<Vec<String>>,
    /// Head names.
    pub heads: Vec<String>,
    /// Model widths.
    pub d_models: Vec<u32>,
    /// Learning rates.
    pub lrs: Vec<f64>,
}

/// Fixed parts of every proposed spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecBase {
    /// SN50 asset.
    pub asset: String,
    /// `5m` or `1m`.
    pub timeframe: String,
    /// Epochs of the first successive-halving rung.
    pub epochs: u32,
    /// Training seed.
    pub seed: u64,
}

/// One point of the space.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Index into `stacks`.
    pub stack: usize,
    /// Index into `heads`.
    pub head: usize,
    /// Index into `d_models`.
    pub d_model: usize,
    /// Index into `lrs`.
    pub lr: usize,
}

const NORMALISERS: [&str; 3] = ["revin", "layernorm", "layer_norm"];

impl SearchSpace {
    /// Stacks are every non-normalising block alone and behind RevIN (when the catalog has it),
    /// up to 32; all heads; d_model ∈ {16, 32, 64}; lr ∈ {3e-4, 1e-3, 3e-3}.
    pub fn from_catalog(cat: &Catalog) -> Self {
        let revin = cat
            .blocks
            .iter()
            .find(|b| b.name.eq_ignore_ascii_case("revin"))
            .map(|b| b.name.clone());
        let mut stacks = Vec::new();
        for b in &cat.blocks {
            if NORMALISERS.iter().any(|n| b.name.eq_ignore_ascii_case(n)) {
                continue;
            }
            if let Some(r) = &revin {
                stacks.push(vec![r.clone(), b.name.clone()]);
            }
            stacks.push(vec![b.name.clone()]);
        }
        stacks.truncate(32);
        Self {
            stacks,
            heads: cat.heads.iter().map(|h| h.name.clone()).collect(),
            d_models: vec![16, 32, 64],
            lrs: vec![3e-4, 1e-3, 3e-3],
        }
    }

    /// True when some dimension is empty (nothing can be proposed).
    pub fn is_empty(&self) -> bool {
        self.stacks.is_empty()
            || self.heads.is_empty()
            || self.d_models.is_empty()
            || self.lrs.is_empty()
    }

    /// Number of points.
    pub fn size(&self) -> usize {
        self.stacks.len() * self.heads.len() * self.d_models.len() * self.lrs.len()
    }

    /// The spec of `p`.
    pub fn spec(&self, p: &Point, base: &SpecBase) -> PlannerSpec {
        PlannerSpec {
            asset: Some(base.asset.clone()),
            timeframe: Some(base.timeframe.clone()),
            blocks: self.stacks[p.stack].clone(),
            head: self.heads[p.head].clone(),
            d_model: Some(u64::from(self.d_models[p.d_model])),
            lr: Some(self.lrs[p.lr]),
            epochs: Some(u64::from(base.epochs)),
            seed: Some(base.seed),
            baseline: None,
            clip_norm: None,
            max_windows: None,
            name: None,
        }
    }

    /// The point a spec corresponds to, when its values are in the space.
    pub fn locate(&self, spec: &PlannerSpec) -> Option<Point> {
        let blocks = &spec.blocks;
        let stack = self.stacks.iter().position(|s| s == blocks)?;
        let head = self.heads.iter().position(|h| *h == spec.head)?;
        let dm = spec.d_model?;
        let d_model = self.d_models.iter().position(|d| u64::from(*d) == dm)?;
        let lr_v = spec.lr?;
        let lr = self
            .lrs
            .iter()
            .position(|l| (l - lr_v).abs() <= 1e-12 * l.abs().max(1e-12))?;
        Some(Point {
            stack,
            head,
            d_model,
            lr,
        })
    }
}
