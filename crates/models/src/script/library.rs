//! The numeric library scripts call, registered into the engine: constructors, element-wise
//! maths, reductions, slicing, financial measures, distributions and seeded sampling. Every
//! function that makes a vector charges the memory cap; every pass charges the CPU cap.
//! docs/scripts.md is the reference for script authors; keep it in step.

use rhai::{Array, Dynamic, Engine, Map};

use super::dist::Dist;
use super::finance;
use super::sandbox::{err, with_rng, work};
use super::vector::{count, num, Res, Vector};
use rand_distr::{Distribution, StandardNormal};

fn need(v: &Vector, n: usize, what: &str) -> Res<()> {
    if v.0.len() < n {
        return Err(err(format!(
            "{what} needs at least {n} values, the Vector has {}",
            v.0.len()
        )));
    }
    Ok(())
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len().max(1) as f64
}

fn var(x: &[f64]) -> f64 {
    let m = mean(x);
    x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.len().max(1) as f64
}

/// Standardised central moment `k` (3: skewness, 4: kurtosis, not excess).
fn moment(x: &[f64], k: i32) -> f64 {
    let m = mean(x);
    let s = var(x).sqrt();
    if s <= 0.0 {
        return 0.0;
    }
    x.iter().map(|v| ((v - m) / s).powi(k)).sum::<f64>() / x.len().max(1) as f64
}

fn window(d: &Dynamic, what: &str) -> Res<usize> {
    let w = count(d, what)?;
    if w == 0 {
        return Err(err(format!("{what}: the window must be at least 1")));
    }
    Ok(w)
}

fn rate(d: &Dynamic, what: &str) -> Res<f64> {
    let x = num(d, what)?;
    if !(0.0..=1.0).contains(&x) {
        return Err(err(format!("{what}: must be in [0, 1], got {x}")));
    }
    Ok(x)
}

fn draws(
    n: &Dynamic,
    what: &str,
    f: impl Fn(&mut crate::baselines::BaseRng) -> f64,
) -> Res<Vector> {
    let n = count(n, what)?;
    super::sandbox::alloc(n)?;
    let v = with_rng(|g| (0..n).map(|_| f(g)).collect());
    Ok(Vector(std::sync::Arc::new(v)))
}

/// Registers the library.
pub(crate) fn register(e: &mut Engine) {
    super::vector::register(e);
    e.register_type_with_name::<Dist>("Dist");

    // Constructors.
    e.register_fn("zeros", |n: Dynamic| {
        Vector::build(count(&n, "zeros(n)")?, |_| 0.0)
    });
    e.register_fn("ones", |n: Dynamic| {
        Vector::build(count(&n, "ones(n)")?, |_| 1.0)
    });
    e.register_fn("full", |n: Dynamic, x: Dynamic| {
        let x = num(&x, "full(n, x)")?;
        Vector::build(count(&n, "full(n, x)")?, |_| x)
    });
    e.register_fn("arange", |n: Dynamic| {
        Vector::build(count(&n, "arange(n)")?, |i| i as f64)
    });
    e.register_fn("linspace", |a: Dynamic, b: Dynamic, n: Dynamic| {
        let (a, b) = (num(&a, "linspace(a, b, n)")?, num(&b, "linspace(a, b, n)")?);
        let n = count(&n, "linspace(a, b, n)")?;
        let d = if n > 1 { (b - a) / (n - 1) as f64 } else { 0.0 };
        Vector::build(n, |i| a + d * i as f64)
    });
    e.register_fn("vector", |a: Dynamic| {
        super::vector::vector_of(&a, "vector(x)")
    });

    // Element-wise maths.
    macro_rules! unary {
        ($name:literal, $f:expr) => {{
            let f: fn(f64) -> f64 = $f;
            e.register_fn($name, move |v: &mut Vector| v.map(f));
        }};
    }
    unary!("sqrt", f64::sqrt);
    unary!("exp", f64::exp);
    unary!("ln", f64::ln);
    unary!("abs", f64::abs);
    unary!("square", |x| x * x);
    unary!("sign", |x| if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    });
    e.register_fn("clip", |v: &mut Vector, lo: Dynamic, hi: Dynamic| {
        let (lo, hi) = (num(&lo, "clip(v, lo, hi)")?, num(&hi, "clip(v, lo, hi)")?);
        if lo.is_nan() || hi.is_nan() || lo > hi {
            return Err(err(format!(
                "clip(v, lo, hi): needs lo ≤ hi, got {lo} and {hi}"
            )));
        }
        v.map(|x| x.clamp(lo, hi))
    });

    // Reductions (NaN-free input assumed; they see every value).
    macro_rules! reduce {
        ($name:literal, $f:expr) => {{
            let f: fn(&[f64]) -> f64 = $f;
            e.register_fn($name, move |v: &mut Vector| -> Res<f64> {
                work(v.0.len())?;
                Ok(f(&v.0))
            });
        }};
    }
    reduce!("sum", |x| x.iter().sum());
    reduce!("mean", mean);
    reduce!("var", var);
    reduce!("std", |x| var(x).sqrt());
    reduce!("rms", |x| (x.iter().map(|v| v * v).sum::<f64>()
        / x.len().max(1) as f64)
        .sqrt());
    reduce!("min", |x| x.iter().copied().fold(f64::INFINITY, f64::min));
    reduce!("max", |x| x
        .iter()
        .copied()
        .fold(f64::NEG_INFINITY, f64::max));
    reduce!("median", |x| finance::quantile(x, 0.5));
    reduce!("skewness", |x| moment(x, 3));
    reduce!("kurtosis", |x| moment(x, 4) - 3.0);
    reduce!("bipower_var", finance::bipower_var);
    e.register_fn("quantile", |v: &mut Vector, q: Dynamic| -> Res<f64> {
        let q = rate(&q, "quantile(v, q)")?;
        work(v.0.len().saturating_mul(8))?;
        Ok(finance::quantile(&v.0, q))
    });
    e.register_fn("first", |v: &mut Vector| -> Res<f64> {
        need(v, 1, "first(v)")?;
        Ok(v.0[0])
    });
    e.register_fn("last", |v: &mut Vector| -> Res<f64> {
        need(v, 1, "last(v)")?;
        Ok(v.0[v.0.len() - 1])
    });

    // Slicing and shaping.
    e.register_fn("tail", |v: &mut Vector, n: Dynamic| {
        let n = count(&n, "tail(v, n)")?.min(v.0.len());
        Vector::new(v.0[v.0.len() - n..].to_vec())
    });
    e.register_fn("head", |v: &mut Vector, n: Dynamic| {
        let n = count(&n, "head(v, n)")?.min(v.0.len());
        Vector::new(v.0[..n].to_vec())
    });
    e.register_fn("slice", |v: &mut Vector, a: Dynamic, b: Dynamic| {
        let a = count(&a, "slice(v, start, end)")?.min(v.0.len());
        let b = count(&b, "slice(v, start, end)")?.clamp(a, v.0.len());
        Vector::new(v.0[a..b].to_vec())
    });
    e.register_fn("concat", |a: &mut Vector, b: Vector| {
        Vector::build(a.0.len() + b.0.len(), |i| {
            if i < a.0.len() {
                a.0[i]
            } else {
                b.0[i - a.0.len()]
            }
        })
    });
    e.register_fn("tile", |v: &mut Vector, k: Dynamic| {
        let k = count(&k, "tile(v, k)")?;
        let n = v.0.len();
        Vector::build(n.saturating_mul(k), |i| v.0[i % n])
    });
    e.register_fn("repeat_each", |v: &mut Vector, k: Dynamic| {
        let k = count(&k, "repeat_each(v, k)")?.max(1);
        Vector::build(v.0.len().saturating_mul(k), |i| v.0[i / k])
    });
    e.register_fn("diff", |v: &mut Vector| {
        Vector::build(v.0.len().saturating_sub(1), |i| v.0[i + 1] - v.0[i])
    });
    e.register_fn("cumsum", |v: &mut Vector| {
        let mut acc = 0.0;
        Vector::new(
            v.0.iter()
                .map(|x| {
                    acc += x;
                    acc
                })
                .collect(),
        )
    });
    e.register_fn("sorted", |v: &mut Vector| {
        work(v.0.len().saturating_mul(8))?;
        let mut s = v.0.to_vec();
        s.sort_by(f64::total_cmp);
        Vector::new(s)
    });

    // Financial measures.
    e.register_fn("log_returns", |p: &mut Vector| {
        Vector::new(finance::log_returns(&p.0))
    });
    e.register_fn("ewma_var", |r: &mut Vector, lambda: Dynamic| {
        let l = rate(&lambda, "ewma_var(r, lambda)")?;
        Vector::new(finance::ewma_var(&r.0, l))
    });
    e.register_fn(
        "garch_var",
        |r: &mut Vector, omega: Dynamic, alpha: Dynamic, beta: Dynamic| {
            let w = num(&omega, "garch_var(r, omega, alpha, beta)")?;
            let a = rate(&alpha, "garch_var alpha")?;
            let b = rate(&beta, "garch_var beta")?;
            if !(w >= 0.0 && a + b < 1.0) {
                return Err(err(format!(
                    "garch_var: needs omega ≥ 0 and alpha + beta < 1, got {w}, {a}, {b}"
                )));
            }
            Vector::new(finance::garch_var(&r.0, w, a, b))
        },
    );
    e.register_fn("garch_fit", |r: &mut Vector| -> Res<Map> {
        need(r, 100, "garch_fit(r)")?;
        // Nelder–Mead: up to ~400 likelihood passes.
        work(r.0.len().min(4000).saturating_mul(400))?;
        let x = &r.0[r.0.len().saturating_sub(4000)..];
        let f = finance::garch_fit(x)
            .ok_or_else(|| err("garch_fit: the returns have zero variance"))?;
        let s2 = f.scale * f.scale;
        let mut m = Map::new();
        m.insert("omega".into(), Dynamic::from_float(f.omega * s2));
        m.insert("alpha".into(), Dynamic::from_float(f.alpha));
        m.insert("beta".into(), Dynamic::from_float(f.beta));
        m.insert("nu".into(), Dynamic::from_float(f.nu));
        m.insert("next_var".into(), Dynamic::from_float(f.h_next * s2));
        m.insert("long_run_var".into(), Dynamic::from_float(s2));
        m.insert("loglik".into(), Dynamic::from_float(f.mean_loglik));
        Ok(m)
    });
    e.register_fn("realized_var", |r: &mut Vector, w: Dynamic| {
        let w = window(&w, "realized_var(r, window)")?;
        Vector::new(finance::rolling_sum_sq(&r.0, w))
    });
    e.register_fn("rolling_mean", |r: &mut Vector, w: Dynamic| {
        let w = window(&w, "rolling_mean(v, window)")?;
        Vector::new(finance::rolling_mean(&r.0, w))
    });
    e.register_fn("parkinson_var", |h: &mut Vector, l: Vector| {
        if h.0.len() != l.0.len() {
            return Err(err(
                "parkinson_var(high, low): vectors of different lengths",
            ));
        }
        Vector::new(finance::parkinson_var(&h.0, &l.0))
    });
    e.register_fn("intraday_scale", |r: &mut Vector, t: Vector, at: Vector| {
        if r.0.len() != t.0.len() {
            return Err(err(
                "intraday_scale(returns, return_times, at): returns and times differ in length",
            ));
        }
        work(r.0.len())?;
        Vector::new(finance::intraday_scale(&r.0, &t.0, &at.0))
    });

    // Distributions.
    e.register_fn("normal", Dist::normal);
    e.register_fn("laplace", Dist::laplace);
    e.register_fn("student_t", |nu: Dynamic| {
        Dist::student_t(num(&nu, "student_t(nu)")?)
    });
    e.register_fn("johnson_su", |g: Dynamic, d: Dynamic| {
        Dist::johnson_su(num(&g, "johnson_su gamma")?, num(&d, "johnson_su delta")?)
    });
    e.register_fn("mixture", |parts: Array, weights: Dynamic| {
        let parts = parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                p.try_cast::<Dist>().ok_or_else(|| {
                    err(format!("mixture(parts, weights): parts[{i}] is not a Dist"))
                })
            })
            .collect::<Res<Vec<Dist>>>()?;
        let w = super::vector::vector_of(&weights, "mixture weights")?;
        Dist::mixture(parts, w.0.to_vec())
    });
    e.register_fn("scaled", |d: &mut Dist, k: Dynamic| {
        d.scaled(num(&k, "scaled(k)")?)
    });
    e.register_fn("shifted", |d: &mut Dist, m: Dynamic| {
        d.shifted(num(&m, "shifted(m)")?)
    });
    e.register_fn("to_string", |d: &mut Dist| d.describe());
    e.register_fn("to_debug", |d: &mut Dist| d.describe());
    e.register_fn("fit_student_t", |z: &mut Vector| {
        need(z, 20, "fit_student_t(z)")?;
        work(z.0.len())?;
        // Method of moments: excess kurtosis 6 / (nu − 4).
        let k = (moment(&z.0, 4) - 3.0).max(0.06);
        Dist::student_t((4.0 + 6.0 / k).clamp(2.5, 100.0))
    });

    // Seeded sampling (the runner seeds the generator from the request).
    e.register_fn("randn", |n: Dynamic| {
        draws(&n, "randn(n)", |g| StandardNormal.sample(g))
    });
    e.register_fn("uniform", |n: Dynamic| {
        draws(&n, "uniform(n)", rand::RngExt::random::<f64>)
    });
    e.register_fn("sample", |d: &mut Dist, n: Dynamic| {
        let d = d.clone();
        draws(&n, "sample(dist, n)", move |g| d.sample(g))
    });
}
