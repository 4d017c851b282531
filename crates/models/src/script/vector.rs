//! `Vector`, the scripts' array of floats: shared on copy, every new one charged to the run's
//! memory cap, element-wise arithmetic done in Rust.

use std::sync::Arc;

use rhai::{Dynamic, EvalAltResult, INT};

use super::sandbox::{alloc, err, work};

/// Result of a library function.
pub(crate) type Res<T> = Result<T, Box<EvalAltResult>>;

/// An immutable-by-default vector of floats (copy-on-write on index assignment).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Vector(pub(crate) Arc<Vec<f64>>);

impl Vector {
    /// A new vector, charged to the memory cap.
    pub(crate) fn new(v: Vec<f64>) -> Res<Self> {
        alloc(v.len())?;
        Ok(Self(Arc::new(v)))
    }

    /// A vector of the run's inputs (not charged: the runner made it).
    pub(crate) fn input(v: Vec<f64>) -> Self {
        Self(Arc::new(v))
    }

    /// Allocates `n` floats from `f(i)` after charging them.
    pub(crate) fn build(n: usize, f: impl FnMut(usize) -> f64) -> Res<Self> {
        alloc(n)?;
        Ok(Self(Arc::new((0..n).map(f).collect())))
    }

    /// The floats.
    pub fn as_slice(&self) -> &[f64] {
        &self.0
    }

    /// Element-wise `f(x)`.
    pub(crate) fn map(&self, f: impl Fn(f64) -> f64) -> Res<Self> {
        alloc(self.0.len())?;
        Ok(Self(Arc::new(self.0.iter().map(|&x| f(x)).collect())))
    }

    /// Element-wise `f(a, b)` of two vectors of one length.
    pub(crate) fn zip(&self, o: &Self, op: &str, f: impl Fn(f64, f64) -> f64) -> Res<Self> {
        if self.0.len() != o.0.len() {
            return Err(err(format!(
                "{op}: vectors of different lengths ({} and {})",
                self.0.len(),
                o.0.len()
            )));
        }
        alloc(self.0.len())?;
        Ok(Self(Arc::new(
            self.0
                .iter()
                .zip(o.0.iter())
                .map(|(&a, &b)| f(a, b))
                .collect(),
        )))
    }
}

/// A number from a script value: a float or an integer.
pub(crate) fn num(d: &Dynamic, what: &str) -> Res<f64> {
    if let Some(f) = d.clone().try_cast::<f64>() {
        return Ok(f);
    }
    if let Some(i) = d.clone().try_cast::<INT>() {
        return Ok(i as f64);
    }
    Err(err(format!(
        "{what}: expected a number, got {}",
        d.type_name()
    )))
}

/// A count (non-negative integer) from a script value.
pub(crate) fn count(d: &Dynamic, what: &str) -> Res<usize> {
    let x = num(d, what)?;
    if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) {
        return Err(err(format!("{what}: expected a whole number ≥ 0, got {x}")));
    }
    Ok(x as usize)
}

/// A vector from a script value: a `Vector`, a number (length 1) or an array of numbers.
pub(crate) fn vector_of(d: &Dynamic, what: &str) -> Res<Vector> {
    if let Some(v) = d.clone().try_cast::<Vector>() {
        return Ok(v);
    }
    if let Some(a) = d.clone().try_cast::<rhai::Array>() {
        work(a.len())?;
        let v = a
            .iter()
            .enumerate()
            .map(|(i, x)| num(x, &format!("{what}[{i}]")))
            .collect::<Res<Vec<f64>>>()?;
        return Vector::new(v);
    }
    Vector::new(vec![num(d, what)?])
}

/// Registers `Vector`, its operators, indexing and iteration.
pub(crate) fn register(e: &mut rhai::Engine) {
    e.register_type_with_name::<Vector>("Vector");
    macro_rules! binop {
        ($op:literal, $f:expr) => {{
            let f: fn(f64, f64) -> f64 = $f;
            e.register_fn($op, move |a: &mut Vector, b: Vector| a.zip(&b, $op, f));
            e.register_fn($op, move |a: &mut Vector, b: f64| a.map(|x| f(x, b)));
            e.register_fn($op, move |a: &mut Vector, b: INT| a.map(|x| f(x, b as f64)));
            e.register_fn($op, move |a: f64, b: Vector| b.map(|x| f(a, x)));
            e.register_fn($op, move |a: INT, b: Vector| b.map(|x| f(a as f64, x)));
        }};
    }
    binop!("+", |a, b| a + b);
    binop!("-", |a, b| a - b);
    binop!("*", |a, b| a * b);
    binop!("/", |a, b| a / b);
    binop!("**", f64::powf);
    binop!("min", f64::min);
    binop!("max", f64::max);
    e.register_fn("-", |a: &mut Vector| a.map(|x| -x));
    e.register_fn("len", |v: &mut Vector| v.0.len() as INT);
    e.register_get("len", |v: &mut Vector| v.0.len() as INT);
    e.register_indexer_get(|v: &mut Vector, i: INT| -> Res<f64> {
        let n = v.0.len() as INT;
        let j = if i < 0 { i + n } else { i };
        if !(0..n).contains(&j) {
            return Err(err(format!("index {i} out of range for a Vector of {n}")));
        }
        Ok(v.0[j as usize])
    });
    e.register_indexer_set(|v: &mut Vector, i: INT, x: Dynamic| -> Res<()> {
        let n = v.0.len() as INT;
        let j = if i < 0 { i + n } else { i };
        if !(0..n).contains(&j) {
            return Err(err(format!("index {i} out of range for a Vector of {n}")));
        }
        let x = num(&x, "vector element")?;
        if Arc::strong_count(&v.0) > 1 {
            alloc(v.0.len())?; // copy on write
        }
        Arc::make_mut(&mut v.0)[j as usize] = x;
        Ok(())
    });
    e.register_iterator_result::<Vector, f64>();
    e.register_fn("to_string", |v: &mut Vector| describe(v));
    e.register_fn("to_debug", |v: &mut Vector| describe(v));
    e.register_fn("to_array", |v: &mut Vector| -> Res<rhai::Array> {
        work(v.0.len())?;
        Ok(v.0.iter().map(|&x| Dynamic::from_float(x)).collect())
    });
}

fn describe(v: &Vector) -> String {
    let n = v.0.len();
    let shown: Vec<String> = v.0.iter().take(6).map(|x| format!("{x:.6}")).collect();
    format!(
        "Vector(len {n}: [{}{}])",
        shown.join(", "),
        if n > 6 { ", …" } else { "" }
    )
}

impl IntoIterator for Vector {
    type Item = Result<f64, Box<EvalAltResult>>;
    type IntoIter = std::vec::IntoIter<Result<f64, Box<EvalAltResult>>>;

    fn into_iter(self) -> Self::IntoIter {
        // Iterating is charged like any other pass over the data.
        match work(self.0.len()) {
            Ok(()) => self
                .0
                .iter()
                .map(|&x| Ok(x))
                .collect::<Vec<_>>()
                .into_iter(),
            Err(e) => vec![Err(e)].into_iter(),
        }
    }
}
