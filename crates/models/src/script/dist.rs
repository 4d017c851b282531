//! Innovation distributions for scripts: each base shape has mean 0 and variance 1, so a
//! script's `sigma` sets the scale and the distribution only the shape.

use std::sync::Arc;

use rand::RngExt;
use rand_distr::{Distribution, Exp1, StandardNormal, StudentT};

use super::sandbox::err;
use super::vector::Res;
use crate::baselines::BaseRng;

/// A distribution of standardised shocks, optionally scaled and shifted (for mixture parts).
#[derive(Debug, Clone)]
pub struct Dist {
    shape: Shape,
    /// Multiplies a draw of the shape.
    scale: f64,
    /// Added after scaling.
    shift: f64,
}

#[derive(Debug, Clone)]
enum Shape {
    Normal,
    StudentT {
        nu: f64,
        t: StudentT<f64>,
        k: f64,
    },
    JohnsonSu {
        gamma: f64,
        delta: f64,
        lambda: f64,
        xi: f64,
    },
    Laplace,
    Mixture(Arc<Mixture>),
}

#[derive(Debug)]
struct Mixture {
    parts: Vec<Dist>,
    /// Cumulative weights, summing to 1.
    cum: Vec<f64>,
    mean: f64,
    sd: f64,
}

impl Dist {
    fn of(shape: Shape) -> Self {
        Self {
            shape,
            scale: 1.0,
            shift: 0.0,
        }
    }

    /// Standard normal.
    pub fn normal() -> Self {
        Self::of(Shape::Normal)
    }

    /// Student-t with `nu` > 2 degrees of freedom, scaled to variance 1.
    pub fn student_t(nu: f64) -> Res<Self> {
        if !(nu.is_finite() && nu > 2.0 && nu <= 1e6) {
            return Err(err(format!(
                "student_t(nu): nu must be in (2, 1e6] for a finite variance, got {nu}"
            )));
        }
        let t = StudentT::new(nu).map_err(|e| err(format!("student_t({nu}): {e}")))?;
        Ok(Self::of(Shape::StudentT {
            nu,
            t,
            k: ((nu - 2.0) / nu).sqrt(),
        }))
    }

    /// Johnson SU: `sinh((Z − gamma) / delta)` with Z standard normal, shifted and scaled to
    /// mean 0 and variance 1. `delta` > 0 sets the tails (smaller is heavier), `gamma` the
    /// skew (positive gives a left skew).
    pub fn johnson_su(gamma: f64, delta: f64) -> Res<Self> {
        if !(gamma.is_finite() && gamma.abs() <= 20.0) {
            return Err(err(format!(
                "johnson_su(gamma, delta): gamma must be finite and within ±20, got {gamma}"
            )));
        }
        if !(delta.is_finite() && (0.1..=100.0).contains(&delta)) {
            return Err(err(format!(
                "johnson_su(gamma, delta): delta must be in [0.1, 100], got {delta}"
            )));
        }
        // Moments of sinh((Z − γ)/δ): mean −e^{1/(2δ²)} sinh(γ/δ),
        // variance ½(e^{1/δ²} − 1)(e^{1/δ²} cosh(2γ/δ) + 1).
        let w = (1.0 / (delta * delta)).exp();
        let mean = -w.sqrt() * (gamma / delta).sinh();
        let var = 0.5 * (w - 1.0) * (w * (2.0 * gamma / delta).cosh() + 1.0);
        if !(var.is_finite() && var > 0.0) {
            return Err(err(format!(
                "johnson_su({gamma}, {delta}): the variance is not finite"
            )));
        }
        let lambda = 1.0 / var.sqrt();
        Ok(Self::of(Shape::JohnsonSu {
            gamma,
            delta,
            lambda,
            xi: -mean * lambda,
        }))
    }

    /// Laplace (double exponential), variance 1.
    pub fn laplace() -> Self {
        Self::of(Shape::Laplace)
    }

    /// A mixture of `parts` with `weights` (normalised), shifted and scaled as a whole to mean
    /// 0 and variance 1: give parts different `scaled(k)` for fat tails, `shifted(m)` for skew.
    pub fn mixture(parts: Vec<Dist>, weights: Vec<f64>) -> Res<Self> {
        if parts.is_empty() || parts.len() != weights.len() || parts.len() > 16 {
            return Err(err(format!(
                "mixture(parts, weights): 1 to 16 parts and one weight each, got {} parts and \
                 {} weights",
                parts.len(),
                weights.len()
            )));
        }
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return Err(err("mixture: weights must be finite and ≥ 0"));
        }
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            return Err(err("mixture: the weights sum to 0"));
        }
        let mut cum = Vec::with_capacity(weights.len());
        let mut acc = 0.0;
        let (mut m, mut m2) = (0.0, 0.0);
        for (p, w) in parts.iter().zip(&weights) {
            let w = w / total;
            acc += w;
            cum.push(acc);
            let (pm, pv) = p.moments();
            m += w * pm;
            m2 += w * (pv + pm * pm);
        }
        let var = m2 - m * m;
        if !(var.is_finite() && var > 0.0) {
            return Err(err("mixture: the variance is zero or not finite"));
        }
        Ok(Self::of(Shape::Mixture(Arc::new(Mixture {
            parts,
            cum,
            mean: m,
            sd: var.sqrt(),
        }))))
    }

    /// This distribution times `k`.
    pub fn scaled(&self, k: f64) -> Res<Self> {
        if !(k.is_finite() && k > 0.0) {
            return Err(err(format!("scaled(k): k must be positive, got {k}")));
        }
        Ok(Self {
            scale: self.scale * k,
            shift: self.shift * k,
            ..self.clone()
        })
    }

    /// This distribution plus `m`.
    pub fn shifted(&self, m: f64) -> Res<Self> {
        if !m.is_finite() {
            return Err(err(format!("shifted(m): m must be finite, got {m}")));
        }
        Ok(Self {
            shift: self.shift + m,
            ..self.clone()
        })
    }

    /// Mean and variance.
    pub fn moments(&self) -> (f64, f64) {
        (self.shift, self.scale * self.scale)
    }

    /// A short description (`student_t(5)`, `mixture(2 parts)×1.5`).
    pub fn describe(&self) -> String {
        let base = match &self.shape {
            Shape::Normal => "normal()".to_string(),
            Shape::StudentT { nu, .. } => format!("student_t({nu})"),
            Shape::JohnsonSu { gamma, delta, .. } => format!("johnson_su({gamma}, {delta})"),
            Shape::Laplace => "laplace()".to_string(),
            Shape::Mixture(m) => format!(
                "mixture([{}])",
                m.parts
                    .iter()
                    .map(Dist::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let mut s = base;
        if self.scale != 1.0 {
            s = format!("{s}.scaled({})", self.scale);
        }
        if self.shift != 0.0 {
            s = format!("{s}.shifted({})", self.shift);
        }
        s
    }

    /// One draw.
    #[inline]
    pub fn sample(&self, g: &mut BaseRng) -> f64 {
        let base = match &self.shape {
            Shape::Normal => StandardNormal.sample(g),
            Shape::StudentT { t, k, .. } => k * t.sample(g),
            Shape::JohnsonSu {
                gamma,
                delta,
                lambda,
                xi,
            } => {
                let z: f64 = StandardNormal.sample(g);
                xi + lambda * ((z - gamma) / delta).sinh()
            }
            Shape::Laplace => {
                let e: f64 = Exp1.sample(g);
                let sign = if g.random::<bool>() { 1.0 } else { -1.0 };
                sign * e * std::f64::consts::FRAC_1_SQRT_2
            }
            Shape::Mixture(m) => {
                let u: f64 = g.random();
                let i = m.cum.partition_point(|c| *c < u).min(m.parts.len() - 1);
                (m.parts[i].sample(g) - m.mean) / m.sd
            }
        };
        self.shift + self.scale * base
    }
}
