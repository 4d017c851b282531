//! One walk over a definition: checks every shape, counts layers and activation sizes, and
//! builds the layers over a `VarBuilder`. Validation runs it over a counting `VarBuilder`
//! (nothing allocated; the parameter count is exact); building runs it over the real one.

use std::sync::Mutex;

use candle_nn::{Init, VarBuilder};

use super::def::{Combine, Layer};
use super::ops::Node;
use super::{MAX_DILATION, MAX_DIM, MAX_KERNEL, MAX_LAYERS, MAX_NESTING, MAX_TIMES};
use crate::blocks::gru::GruLayer;
use crate::blocks::lstm::LstmLayer;
use crate::nn::attention::MultiHeadAttention;
use crate::nn::{LayerNorm, Linear};

/// (seq, width) of the activations between layers (the batch is left out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Length along time (or whatever a transpose put there).
    pub seq: usize,
    /// Channels.
    pub width: usize,
}

/// What the walk adds up.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Acc {
    /// Layers compiled (repeats counted per copy).
    pub layers: usize,
    /// Activation elements kept for the backward pass, per sample.
    pub act_elems: u64,
    /// Elements of constant (non-trainable) tensors.
    pub const_elems: u64,
}

fn mul(a: usize, b: usize) -> u64 {
    (a as u64).saturating_mul(b as u64)
}

fn dim(
    out: Option<usize>,
    mult: Option<usize>,
    width: usize,
    field: &str,
) -> Result<usize, String> {
    if out.is_some() && mult.is_some() {
        return Err(format!("{field}: give `out` or `mult`, not both"));
    }
    let d = match (out, mult) {
        (Some(o), _) => o,
        (None, Some(m)) => m.saturating_mul(width),
        (None, None) => width,
    };
    if d == 0 || d > MAX_DIM {
        return Err(format!("{field}.out: {d} is outside [1, {MAX_DIM}]"));
    }
    Ok(d)
}

fn tensor_err(field: &str) -> impl Fn(candle_core::Error) -> String + '_ {
    move |e| format!("{field}: {e}")
}

/// Compiles `layers` starting from shape `s` at nesting `depth`; `at` names the list in
/// errors (`layers`, `layers[2].layers`).
pub(crate) fn compile(
    layers: &[Layer],
    s: Shape,
    depth: usize,
    at: &str,
    acc: &mut Acc,
    vb: &VarBuilder,
) -> Result<(Vec<Node>, Shape), String> {
    if depth > MAX_NESTING {
        return Err(format!(
            "{at}: nested {depth} levels deep; at most {MAX_NESTING} are allowed"
        ));
    }
    let mut nodes = Vec::with_capacity(layers.len());
    let mut s = s;
    for (i, layer) in layers.iter().enumerate() {
        let field = format!("{at}[{i}]");
        let (node, out) = compile_one(layer, s, depth, &field, acc, &vb.pp(i.to_string()))?;
        nodes.push(node);
        s = out;
    }
    Ok((nodes, s))
}

fn compile_one(
    layer: &Layer,
    s: Shape,
    depth: usize,
    field: &str,
    acc: &mut Acc,
    vb: &VarBuilder,
) -> Result<(Node, Shape), String> {
    acc.layers += 1;
    if acc.layers > MAX_LAYERS {
        return Err(format!(
            "{field}: more than {MAX_LAYERS} layers in one component (repeats count per copy)"
        ));
    }
    let te = tensor_err(field);
    let (node, out) = match layer {
        Layer::Linear { out, mult, bias } => {
            let o = dim(*out, *mult, s.width, field)?;
            let l = if *bias {
                Linear::new(s.width, o, vb.clone())
            } else {
                Linear::no_bias(s.width, o, vb.clone())
            }
            .map_err(&te)?;
            (
                Node::Linear(l),
                Shape {
                    seq: s.seq,
                    width: o,
                },
            )
        }
        Layer::Conv1d {
            out,
            mult,
            kernel,
            dilation,
        } => {
            let o = dim(*out, *mult, s.width, field)?;
            if !(1..=MAX_KERNEL).contains(kernel) {
                return Err(format!(
                    "{field}.kernel: {kernel} is outside [1, {MAX_KERNEL}]"
                ));
            }
            if !(1..=MAX_DILATION).contains(dilation) {
                return Err(format!(
                    "{field}.dilation: {dilation} is outside [1, {MAX_DILATION}]"
                ));
            }
            let bound = 1.0 / ((s.width * kernel) as f64).sqrt();
            let init = Init::Uniform {
                lo: -bound,
                up: bound,
            };
            let w = vb
                .get_with_hints((o, s.width, *kernel), "weight", init)
                .map_err(&te)?;
            let b = vb.get_with_hints(o, "bias", init).map_err(&te)?;
            acc.act_elems = acc.act_elems.saturating_add(mul(s.seq, s.width * kernel));
            (
                Node::Conv {
                    w,
                    bias: b,
                    dilation: *dilation,
                },
                Shape {
                    seq: s.seq,
                    width: o,
                },
            )
        }
        Layer::Attention { heads } => {
            if *heads == 0 || !s.width.is_multiple_of(*heads) {
                return Err(format!(
                    "{field}.heads: the width {} is not divisible by {heads}",
                    s.width
                ));
            }
            let a = MultiHeadAttention::new(s.width, *heads, vb.clone()).map_err(&te)?;
            acc.act_elems = acc
                .act_elems
                .saturating_add(mul(*heads, s.seq).saturating_mul(s.seq as u64))
                .saturating_add(mul(3 * s.seq, s.width));
            (Node::Attention(a), s)
        }
        Layer::Lstm { out, mult } => {
            let o = dim(*out, *mult, s.width, field)?;
            let l = LstmLayer::new(s.width, o, vb.clone()).map_err(&te)?;
            acc.act_elems = acc.act_elems.saturating_add(mul(8 * s.seq, o));
            (
                Node::Lstm(l),
                Shape {
                    seq: s.seq,
                    width: o,
                },
            )
        }
        Layer::Gru { out, mult } => {
            let o = dim(*out, *mult, s.width, field)?;
            let l = GruLayer::new(s.width, o, vb.clone()).map_err(&te)?;
            acc.act_elems = acc.act_elems.saturating_add(mul(6 * s.seq, o));
            (
                Node::Gru(l),
                Shape {
                    seq: s.seq,
                    width: o,
                },
            )
        }
        Layer::Norm {} => (
            Node::Norm(LayerNorm::new(s.width, vb.clone()).map_err(&te)?),
            s,
        ),
        Layer::Act { func } => (Node::Act(*func), s),
        Layer::Gate { kind } => {
            if s.width < 2 || !s.width.is_multiple_of(2) {
                return Err(format!(
                    "{field}: gating splits the width in halves; {} is not even",
                    s.width
                ));
            }
            (
                Node::Gate(*kind),
                Shape {
                    seq: s.seq,
                    width: s.width / 2,
                },
            )
        }
        Layer::Residual { layers } => {
            let at = format!("{field}.layers");
            let (inner, o) = compile(layers, s, depth + 1, &at, acc, &vb.pp("residual"))?;
            if o != s {
                return Err(format!(
                    "{at}: a residual's layers must keep the shape (seq {}, width {}), they leave (seq {}, width {})",
                    s.seq, s.width, o.seq, o.width
                ));
            }
            (Node::Residual(inner), s)
        }
        Layer::Skip { layers } => {
            let at = format!("{field}.layers");
            let mut inner = Vec::with_capacity(layers.len());
            let mut shapes = Vec::with_capacity(layers.len());
            let mut h = s;
            for (i, l) in layers.iter().enumerate() {
                let f = format!("{at}[{i}]");
                if depth + 1 > MAX_NESTING {
                    return Err(format!(
                        "{at}: nested {} levels deep; at most {MAX_NESTING} are allowed",
                        depth + 1
                    ));
                }
                let (n, o) = compile_one(l, h, depth + 1, &f, acc, &vb.pp(format!("skip.{i}")))?;
                inner.push(n);
                shapes.push(o);
                h = o;
            }
            if let Some(bad) = shapes.iter().position(|o| *o != h) {
                return Err(format!(
                    "{at}[{bad}]: every layer of a skip must leave the shape of the last (seq {}, width {})",
                    h.seq, h.width
                ));
            }
            (Node::Skip(inner), h)
        }
        Layer::Parallel { branches, combine } => {
            if branches.is_empty() {
                return Err(format!("{field}.branches: at least one branch is needed"));
            }
            let mut nodes = Vec::with_capacity(branches.len());
            let mut outs = Vec::with_capacity(branches.len());
            for (i, b) in branches.iter().enumerate() {
                let at = format!("{field}.branches[{i}]");
                let (n, o) = compile(b, s, depth + 1, &at, acc, &vb.pp(format!("branch.{i}")))?;
                nodes.push(n);
                outs.push(o);
            }
            let seq = outs.iter().map(|o| o.seq).max().unwrap_or(s.seq);
            if let Some(i) = outs.iter().position(|o| o.seq != seq && o.seq != 1) {
                return Err(format!(
                    "{field}.branches[{i}]: leaves seq {}, the others {seq} (a branch may leave seq 1, which broadcasts)",
                    outs[i].seq
                ));
            }
            let width = match combine {
                Combine::Concat => outs.iter().map(|o| o.width).sum(),
                Combine::Sum | Combine::Mul => {
                    let w = outs[0].width;
                    if let Some(i) = outs.iter().position(|o| o.width != w) {
                        return Err(format!(
                            "{field}.branches[{i}]: leaves width {}, branch 0 {w} ({combine:?} needs equal widths)",
                            outs[i].width
                        ));
                    }
                    w
                }
            };
            if width > MAX_DIM {
                return Err(format!("{field}: width {width} is over {MAX_DIM}"));
            }
            let o = Shape { seq, width };
            acc.act_elems = acc
                .act_elems
                .saturating_add(mul(o.seq, o.width).saturating_mul(branches.len() as u64));
            (Node::Parallel(nodes, *combine), o)
        }
        Layer::Repeat { times, layers } => {
            if !(1..=MAX_TIMES).contains(times) {
                return Err(format!(
                    "{field}.times: {times} is outside [1, {MAX_TIMES}]"
                ));
            }
            let at = format!("{field}.layers");
            let mut copies = Vec::with_capacity(*times);
            let mut h = s;
            for k in 0..*times {
                let (n, o) = compile(layers, h, depth + 1, &at, acc, &vb.pp(format!("r{k}")))?;
                if *times > 1 && o != s {
                    return Err(format!(
                        "{at}: repeated layers must keep the shape (seq {}, width {}), they leave (seq {}, width {})",
                        s.seq, s.width, o.seq, o.width
                    ));
                }
                copies.push(Node::Seq(n));
                h = o;
            }
            (Node::Seq(copies), h)
        }
        Layer::Fft {} => {
            let f = s.seq / 2 + 1;
            acc.const_elems = acc.const_elems.saturating_add(2 * mul(f, s.seq));
            acc.act_elems = acc.act_elems.saturating_add(3 * mul(f, s.width));
            (
                Node::Fft(Mutex::new(None)),
                Shape {
                    seq: f,
                    width: s.width,
                },
            )
        }
        Layer::Pool { kind } => (
            Node::Pool(*kind),
            Shape {
                seq: 1,
                width: s.width,
            },
        ),
        Layer::Transpose {} => (
            Node::Transpose,
            Shape {
                seq: s.width,
                width: s.seq,
            },
        ),
        Layer::Reshape { seq } => {
            let n = mul(s.seq, s.width);
            if *seq == 0 || !n.is_multiple_of(*seq as u64) {
                return Err(format!(
                    "{field}.seq: {seq} does not divide seq × width = {} × {} = {n}",
                    s.seq, s.width
                ));
            }
            let width = (n / *seq as u64) as usize;
            if width > MAX_DIM || *seq > MAX_DIM {
                return Err(format!("{field}: ({seq}, {width}) is over {MAX_DIM}"));
            }
            (Node::Reshape(*seq), Shape { seq: *seq, width })
        }
    };
    acc.act_elems = acc.act_elems.saturating_add(mul(out.seq, out.width));
    Ok((node, out))
}
