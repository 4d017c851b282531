//! What a script returns, read and checked, and expanded to price paths in Rust: either a
//! compact description (per-step sigma, a shock distribution, optional GARCH feedback inside
//! each path, drift and jumps) or every path's log returns.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rhai::{Dynamic, Map};
use sn50::PathSet;

use super::dist::Dist;
use super::vector::Vector;
use crate::baselines::{paths_from_log_returns, BaseRng};
use crate::{ForecastRequest, ModelError};

/// The keys a description may have (anything else is refused, so a typo is not ignored).
const DESCRIPTION_KEYS: [&str; 5] = ["sigma", "dist", "drift", "garch", "jumps"];

/// A script's answer, checked against the request's shape.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// Per-step shock scale (length `steps`), shape, optional in-path GARCH, drift, jumps.
    Described(Description),
    /// Every path's log returns, path after path (`n_paths × steps`).
    LogReturns(Vec<f64>),
}

#[derive(Debug, Clone)]
pub(crate) struct Description {
    pub sigma: Vec<f64>,
    pub dist: Dist,
    /// Per-step mean log return; `None`: −½·sd² (a martingale price).
    pub drift: Option<Vec<f64>>,
    /// (alpha, beta, h0): unit-variance GARCH(1,1) multiplying sigma inside each path.
    pub garch: Option<(f64, f64, f64)>,
    /// (probability per step, mean, sd) of normal jumps in log price.
    pub jumps: Option<(f64, f64, f64)>,
}

impl Answer {
    /// `"description"` or `"log_returns"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Answer::Described(_) => "description",
            Answer::LogReturns(_) => "log_returns",
        }
    }
}

fn bad(msg: impl Into<String>) -> ModelError {
    ModelError::InvalidConfig(format!("script answer: {}", msg.into()))
}

fn number(d: &Dynamic) -> Option<f64> {
    d.as_float()
        .ok()
        .or_else(|| d.as_int().ok().map(|i| i as f64))
}

/// A per-step series: a number (every step) or a Vector / array of `steps` values.
fn per_step(d: &Dynamic, key: &str, steps: usize) -> Result<Vec<f64>, ModelError> {
    let v: Vec<f64> = if let Some(x) = number(d) {
        vec![x; steps]
    } else if let Some(v) = d.clone().try_cast::<Vector>() {
        v.as_slice().to_vec()
    } else if let Some(a) = d.clone().try_cast::<rhai::Array>() {
        a.iter()
            .map(|x| {
                number(x).ok_or_else(|| bad(format!("{key}: an array element is not a number")))
            })
            .collect::<Result<_, _>>()?
    } else {
        return Err(bad(format!(
            "{key} must be a number or a Vector of `steps` ({steps}) values, got {}",
            d.type_name()
        )));
    };
    if v.len() != steps {
        return Err(bad(format!(
            "{key} has {} values, the forecast has `steps` = {steps}",
            v.len()
        )));
    }
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(bad(format!("{key}[{i}] is {}", v[i])));
    }
    Ok(v)
}

fn field(
    m: &Map,
    map: &str,
    key: &str,
    lo: f64,
    hi: f64,
    default: Option<f64>,
) -> Result<f64, ModelError> {
    let x = match m.get(key) {
        Some(d) => number(d).ok_or_else(|| bad(format!("{map}.{key} must be a number")))?,
        None => default.ok_or_else(|| bad(format!("{map} needs `{key}`")))?,
    };
    if !(x.is_finite() && x >= lo && x <= hi) {
        return Err(bad(format!("{map}.{key} must be in [{lo}, {hi}], got {x}")));
    }
    Ok(x)
}

/// Reads the script's value for a request of `n_paths` paths of `steps` steps.
pub(crate) fn read(out: Dynamic, n_paths: usize, steps: usize) -> Result<Answer, ModelError> {
    let Some(m) = out.clone().try_cast::<Map>() else {
        return Err(bad(format!(
            "the script's last expression must be a map such as `#{{ sigma: s, dist: \
             student_t(5) }}` or `#{{ log_returns: r }}`, got {}",
            out.type_name()
        )));
    };
    if let Some(r) = m.get("log_returns") {
        if m.len() > 1 {
            return Err(bad(
                "`log_returns` comes alone (no sigma/dist/drift with it)",
            ));
        }
        let r = r
            .clone()
            .try_cast::<Vector>()
            .ok_or_else(|| bad("log_returns must be a Vector (path after path)"))?;
        let want = n_paths * steps;
        if r.as_slice().len() != want {
            return Err(bad(format!(
                "log_returns has {} values, want n_paths × steps = {n_paths} × {steps} = {want}",
                r.as_slice().len()
            )));
        }
        if let Some(i) = r.as_slice().iter().position(|x| !x.is_finite()) {
            return Err(bad(format!("log_returns[{i}] is {}", r.as_slice()[i])));
        }
        return Ok(Answer::LogReturns(r.as_slice().to_vec()));
    }
    if let Some(k) = m.keys().find(|k| !DESCRIPTION_KEYS.contains(&k.as_str())) {
        return Err(bad(format!(
            "unknown key `{k}` (a description has {}; or return `#{{ log_returns: r }}`)",
            DESCRIPTION_KEYS.join(", ")
        )));
    }
    let sigma = per_step(
        m.get("sigma")
            .ok_or_else(|| bad("the map needs `sigma` (or `log_returns`)"))?,
        "sigma",
        steps,
    )?;
    if let Some(i) = sigma.iter().position(|s| !(0.0..=1.0).contains(s)) {
        return Err(bad(format!(
            "sigma[{i}] = {} (a per-step log-return sd must be in [0, 1])",
            sigma[i]
        )));
    }
    let dist = match m.get("dist") {
        None => Dist::normal(),
        Some(d) => d.clone().try_cast::<Dist>().ok_or_else(|| {
            bad(format!(
                "dist must be a Dist such as student_t(5), got {}",
                d.type_name()
            ))
        })?,
    };
    let drift = m
        .get("drift")
        .map(|d| per_step(d, "drift", steps))
        .transpose()?;
    let garch = match m.get("garch") {
        None => None,
        Some(g) => {
            let g = g
                .clone()
                .try_cast::<Map>()
                .ok_or_else(|| bad("garch must be a map #{ alpha: a, beta: b, h0: 1.0 }"))?;
            let a = field(&g, "garch", "alpha", 0.0, 1.0, None)?;
            let b = field(&g, "garch", "beta", 0.0, 1.0, None)?;
            if a + b >= 1.0 {
                return Err(bad(format!(
                    "garch: alpha + beta must be below 1, got {}",
                    a + b
                )));
            }
            let h0 = field(&g, "garch", "h0", 0.0, 100.0, Some(1.0))?;
            Some((a, b, h0))
        }
    };
    let jumps = match m.get("jumps") {
        None => None,
        Some(j) => {
            let j = j
                .clone()
                .try_cast::<Map>()
                .ok_or_else(|| bad("jumps must be a map #{ prob: p, mean: m, sd: s }"))?;
            Some((
                field(&j, "jumps", "prob", 0.0, 1.0, None)?,
                field(&j, "jumps", "mean", -1.0, 1.0, Some(0.0))?,
                field(&j, "jumps", "sd", 0.0, 1.0, None)?,
            ))
        }
    };
    Ok(Answer::Described(Description {
        sigma,
        dist,
        drift,
        garch,
        jumps,
    }))
}

/// The price paths of an answer (every path starts at the request's price).
pub(crate) fn expand(
    answer: &Answer,
    req: &ForecastRequest<'_>,
    seed: u64,
) -> Result<PathSet, ModelError> {
    let steps = req.n_points() - 1;
    match answer {
        Answer::LogReturns(r) => paths_from_log_returns(req, |i, out| {
            out.copy_from_slice(&r[i * steps..(i + 1) * steps]);
        }),
        Answer::Described(d) => {
            let mut g = BaseRng::seed_from_u64(seed);
            paths_from_log_returns(req, |_, out| {
                let mut h = d.garch.map_or(1.0, |(_, _, h0)| h0);
                for (k, o) in out.iter_mut().enumerate() {
                    let z = d.dist.sample(&mut g);
                    let sd = d.sigma[k] * h.sqrt();
                    let mut r = match &d.drift {
                        Some(m) => m[k],
                        None => -0.5 * sd * sd,
                    } + sd * z;
                    if let Some((a, b, _)) = d.garch {
                        let y2 = h * z * z;
                        h = ((1.0 - a - b) + a * y2 + b * h).min(1e4);
                    }
                    if let Some((p, m, s)) = d.jumps {
                        if rand::RngExt::random::<f64>(&mut g) < p {
                            let n: f64 = StandardNormal.sample(&mut g);
                            r += m + s * n;
                        }
                    }
                    *o = r;
                }
            })
        }
    }
}
