//! Declarative blocks and heads (`models::graph`) and the WaveNet block: every layer kind
//! compiles, keeps the declared shapes and trains every parameter; a spec naming user
//! components trains and samples like one of built-ins; the size caps refuse before
//! allocating; deep nesting is refused.

use candle_core::Device;
use models::blocks::BuildCtx;
use models::components::{validate, ComponentKind};
use models::graph::{self, Definition};
use models::heads::Noise;
use models::neural::NeuralModel;
use models::nn::ParamStore;
use models::spec::{ComponentSpec, ModelSpec, Timeframe};
use models::split::Span;
use models::train;
use serde_json::json;

use super::neural_support::{gbm_candles, tiny_spec};

/// A block using every layer kind, at width 8.
fn every_layer() -> serde_json::Value {
    json!({"kind": "block", "summary": "every layer kind", "layers": [
        {"op": "residual", "layers": [
            {"op": "conv1d", "kernel": 3, "dilation": 2, "mult": 2},
            {"op": "gate", "kind": "tanh_sigmoid"}]},
        {"op": "skip", "layers": [
            {"op": "linear"}, {"op": "act", "fn": "gelu"}, {"op": "linear", "bias": false}]},
        {"op": "parallel", "combine": "sum", "branches": [
            [{"op": "attention", "heads": 2}],
            [{"op": "lstm", "out": 6}, {"op": "linear", "out": 8}],
            [{"op": "gru"}],
            [{"op": "fft"}, {"op": "pool", "kind": "mean"}, {"op": "linear"}]]},
        {"op": "parallel", "combine": "concat", "branches": [
            [{"op": "linear", "out": 4}, {"op": "act", "fn": "relu"}],
            [{"op": "pool", "kind": "max"}, {"op": "linear", "out": 2}],
            [{"op": "pool", "kind": "last"}, {"op": "linear", "out": 2}, {"op": "act", "fn": "sigmoid"}]]},
        {"op": "parallel", "combine": "mul", "branches": [
            [{"op": "act", "fn": "tanh"}], [{"op": "linear"}]]},
        {"op": "transpose"}, {"op": "linear"}, {"op": "transpose"},
        {"op": "reshape", "seq": 8}, {"op": "linear"}, {"op": "reshape", "seq": 16},
        {"op": "norm"},
        {"op": "repeat", "times": 2, "layers": [
            {"op": "linear", "mult": 2}, {"op": "gate", "kind": "glu"}, {"op": "act", "fn": "silu"}]}
    ]})
}

#[test]
fn every_layer_kind_keeps_the_declared_shape_and_trains_every_parameter() {
    let dev = Device::Cpu;
    let ctx = BuildCtx {
        d_model: 8,
        seq_len: 16,
    };
    let Definition::Block(def) = graph::from_value(&every_layer()).unwrap() else {
        panic!("a block")
    };
    let size = graph::check_block(&def, ctx).unwrap();
    let store = ParamStore::new(3, dev.clone());
    let b = graph::build_block(&def, ctx, store.vb()).unwrap();
    // The counted size is the built size, exactly.
    assert_eq!(size.params as usize, store.n_params());
    let x = Noise::new(1, &dev).normal(&[2, 16, 8]).unwrap();
    let y = b.forward(&x).unwrap();
    assert_eq!(y.dims(), &[2, 16, 8]);
    let w = Noise::new(2, &dev).normal(&[2, 16, 8]).unwrap();
    let grads = (y * w).unwrap().sum_all().unwrap().backward().unwrap();
    for (name, v) in store.named_vars() {
        let g = grads
            .get(&v)
            .unwrap_or_else(|| panic!("no gradient for {name}"));
        let n: f32 = g.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
        assert!(n.is_finite() && n > 0.0, "zero gradient for {name}");
    }
}

#[test]
fn shape_errors_name_the_layer_and_why() {
    let cases = [
        (
            json!([{"op": "gate", "kind": "glu"}, {"op": "gate", "kind": "glu"}, {"op": "gate", "kind": "glu"}, {"op": "gate", "kind": "glu"}]),
            "layers[3]",
        ),
        (
            json!([{"op": "residual", "layers": [{"op": "linear", "out": 4}]}]),
            "layers[0].layers",
        ),
        (json!([{"op": "attention", "heads": 3}]), "layers[0].heads"),
        (json!([{"op": "linear", "out": 4}]), "(seq 16, width 4)"),
        (json!([{"op": "reshape", "seq": 7}]), "layers[0].seq"),
        (json!([{"op": "conv1d", "kernel": 0}]), "layers[0].kernel"),
        (json!([{"op": "linear", "out": 4, "mult": 2}]), "not both"),
        (
            json!([{"op": "parallel", "combine": "sum", "branches": [[{"op": "linear", "out": 4}], [{"op": "linear"}]]}]),
            "branches[1]",
        ),
    ];
    let ctx = BuildCtx {
        d_model: 8,
        seq_len: 16,
    };
    for (layers, want) in cases {
        let v = json!({"kind": "block", "layers": layers});
        let Definition::Block(def) = graph::from_value(&v).unwrap() else {
            panic!()
        };
        let e = graph::check_block(&def, ctx).unwrap_err().to_string();
        assert!(e.contains(want), "{layers}: {e}");
    }
    // Unknown ops and fields are errors, not ignored.
    assert!(graph::from_value(&json!({"kind": "block", "layers": [{"op": "exec"}]})).is_err());
    assert!(
        graph::from_value(&json!({"kind": "block", "layers": [{"op": "linear", "x": 1}]})).is_err()
    );
    assert!(graph::from_value(&json!({"kind": "block", "layers": [], "x": 1})).is_err());
    assert!(
        graph::from_value(&json!({"kind": "block", "layers": [{"op": "norm", "x": 1}]})).is_err()
    );
}

#[test]
fn toml_and_json_definitions_are_the_same_definition() {
    let toml = r#"
kind = "head"
family = "student_t"
summary = "trunk then Student-t"

[[layers]]
op = "linear"
mult = 2

[[layers]]
op = "gate"
kind = "glu"
"#;
    let json = r#"{"kind": "head", "family": "student_t", "summary": "trunk then Student-t",
        "layers": [{"op": "linear", "mult": 2}, {"op": "gate", "kind": "glu"}]}"#;
    assert_eq!(graph::parse(toml).unwrap(), graph::parse(json).unwrap());
    let s = validate(ComponentKind::Head, toml).unwrap();
    assert_eq!(s.family.as_deref(), Some("student_t"));
}

#[test]
fn a_block_of_a_trillion_parameters_is_refused_before_anything_is_allocated() {
    let text = r#"{"kind": "block", "layers": [
        {"op": "linear", "out": 1000000}, {"op": "linear", "out": 1000000},
        {"op": "linear", "out": 32}]}"#;
    let e = validate(ComponentKind::Block, text)
        .unwrap_err()
        .to_string();
    assert!(e.contains("parameters"), "{e}");
    assert!(e.contains("1000066000032"), "{e}");
    // Inside a spec: refused at validation, and building it fails the same way instead of
    // asking for 4 TB.
    let mut spec = ModelSpec::new(Timeframe::Low5m, &["mlp"], "gbm");
    spec.blocks = vec![user("huge", text)];
    let e = spec.validate().unwrap_err().to_string();
    assert!(
        e.contains("blocks[0].definition") && e.contains("parameters"),
        "{e}"
    );
    assert!(NeuralModel::new(spec.clone()).is_err());
    assert!(models::estimate::estimate(&spec).is_err());
    // A memory-heavy block (few parameters, huge activations) is refused too.
    let wide = r#"{"kind": "block", "layers": [{"op": "transpose"}, {"op": "attention", "heads": 64}, {"op": "transpose"}]}"#;
    let mut s2 = ModelSpec::new(Timeframe::Low5m, &["mlp"], "gbm");
    s2.d_model = 4096;
    s2.blocks = vec![user("wide", wide)];
    let e = s2.validate().unwrap_err().to_string();
    assert!(e.contains("MiB"), "{e}");
}

#[test]
fn deep_nesting_is_refused() {
    // Structurally: nine residuals deep.
    let mut layer = json!({"op": "norm"});
    for _ in 0..9 {
        layer = json!({"op": "residual", "layers": [layer]});
    }
    let text = json!({"kind": "block", "layers": [layer]}).to_string();
    let e = validate(ComponentKind::Block, &text)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nested"), "{e}");
    // Eight is fine.
    let mut layer = json!({"op": "norm"});
    for _ in 0..8 {
        layer = json!({"op": "residual", "layers": [layer]});
    }
    validate(
        ComponentKind::Block,
        &json!({"kind": "block", "layers": [layer]}).to_string(),
    )
    .unwrap();
    // Textually: a hundred thousand brackets are refused before any parser recurses.
    let deep = format!(
        "{{\"kind\": \"block\", \"layers\": {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(validate(ComponentKind::Block, &deep).is_err());
    let deep_toml = format!(
        "kind = \"block\"\nlayers = {}{}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let e = validate(ComponentKind::Block, &deep_toml)
        .unwrap_err()
        .to_string();
    assert!(e.contains("nested") || e.contains("bytes"), "{e}");
    // Repeats multiply layers: capped.
    let many = json!({"kind": "block", "layers": [{"op": "repeat", "times": 64, "layers": [
        {"op": "repeat", "times": 64, "layers": [{"op": "norm"}]}]}]});
    let e = validate(ComponentKind::Block, &many.to_string())
        .unwrap_err()
        .to_string();
    assert!(e.contains("layers"), "{e}");
}

fn user(name: &str, text: &str) -> ComponentSpec {
    ComponentSpec {
        definition: Some(graph::to_json(text).unwrap()),
        hash: Some("test".into()),
        ..ComponentSpec::named(name)
    }
}

fn all_span() -> Span {
    Span {
        from: i64::MIN / 4,
        to: i64::MAX / 4,
    }
}

/// Trains `spec` briefly on synthetic 1 m GBM, checks weights moved and paths are valid.
fn trains_and_samples(spec: ModelSpec) {
    let c = gbm_candles(4_000, 60, 0.002, 5);
    let mut model = NeuralModel::new(spec).unwrap();
    let before: Vec<f32> = model
        .store()
        .named_vars()
        .into_iter()
        .flat_map(|(_, v)| v.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect();
    let s = models::features::Series::new(&c);
    let windows = train::windows_in_span(&model, &s, all_span());
    let (tr, va) = windows.split_at(windows.len() * 4 / 5);
    let rep = train::fit(&mut model, tr, va, &mut |_| {}).unwrap();
    assert!(rep.best_val_loss.is_finite(), "{rep:?}");
    let after: Vec<f32> = model
        .store()
        .named_vars()
        .into_iter()
        .flat_map(|(_, v)| v.flatten_all().unwrap().to_vec1::<f32>().unwrap())
        .collect();
    assert!(
        before.iter().zip(&after).any(|(a, b)| a != b),
        "no weight moved"
    );
    let paths = model.sample_window(&va[0], 100.0, 32, 9).unwrap();
    assert!(paths.as_flat().iter().all(|p| p.is_finite() && *p > 0.0));
}

const GATED_CONV: &str = r#"{"kind": "block", "summary": "two gated dilated convolutions with skips",
  "layers": [{"op": "skip", "layers": [
    {"op": "residual", "layers": [{"op": "conv1d", "kernel": 2, "dilation": 1, "mult": 2}, {"op": "gate", "kind": "tanh_sigmoid"}]},
    {"op": "residual", "layers": [{"op": "conv1d", "kernel": 2, "dilation": 2, "mult": 2}, {"op": "gate", "kind": "tanh_sigmoid"}]}]},
  {"op": "norm"}]}"#;

const T_TRUNK: &str = r#"{"kind": "head", "family": "student_t",
  "layers": [{"op": "linear", "mult": 2}, {"op": "gate", "kind": "glu"}, {"op": "norm"}]}"#;

#[test]
fn a_spec_of_user_components_trains_samples_and_round_trips_with_its_definitions() {
    let mut spec = tiny_spec(Timeframe::High1m, &["mlp"], "gbm");
    spec.blocks = vec![user("gated_conv", GATED_CONV), ComponentSpec::named("mlp")];
    spec.head = user("t_trunk", T_TRUNK);
    spec.training.epochs = 1;
    spec.training.max_windows = 64;
    spec.training.stride = 30;
    // The recorded spec carries the definitions: parsing its JSON gives the same spec.
    let back = ModelSpec::from_json(&spec.to_json()).unwrap();
    assert_eq!(back, spec);
    assert!(spec.to_json().contains("tanh_sigmoid"));
    assert_eq!(spec.display_name(), "gated_conv+mlp+t_trunk");
    trains_and_samples(spec.clone());
    // A user component may not take params, nor a built-in name a definition.
    let mut bad = spec.clone();
    bad.blocks[0].params = json!({"num_layers": 2});
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("blocks[0].params"));
    let mut bad = spec.clone();
    bad.blocks[0].name = "lstm".into();
    assert!(bad.validate().unwrap_err().to_string().contains("built-in"));
    // A head definition where a block goes is refused.
    let mut bad = spec;
    bad.blocks[0] = user("t_trunk", T_TRUNK);
    assert!(bad
        .validate()
        .unwrap_err()
        .to_string()
        .contains("not a block"));
}

#[test]
fn a_gaussian_user_head_trains_with_the_closed_form_loss() {
    let mut spec = tiny_spec(Timeframe::High1m, &["mlp"], "gbm");
    spec.head = user(
        "gbm_trunk",
        r#"{"kind": "head", "family": "gbm", "layers": [{"op": "linear"}, {"op": "act", "fn": "tanh"}]}"#,
    );
    spec.training.loss = models::spec::LossKind::GaussianCrps;
    spec.training.epochs = 1;
    spec.training.max_windows = 64;
    trains_and_samples(spec);
}

#[test]
fn wavenet_trains_and_samples() {
    let mut spec = tiny_spec(Timeframe::High1m, &["wavenet"], "gbm");
    spec.blocks[0].params = json!({"num_layers": 3, "cycles": 2});
    spec.training.epochs = 1;
    spec.training.max_windows = 64;
    trains_and_samples(spec);
}

#[test]
fn the_shipped_example_blocks_and_heads_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/components");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let ext = p.extension().and_then(|x| x.to_str()).unwrap_or("");
        if !matches!(ext, "json" | "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        let kind = match graph::parse(&text).unwrap() {
            Definition::Block(_) => ComponentKind::Block,
            Definition::Head(_) => ComponentKind::Head,
        };
        validate(kind, &text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        n += 1;
    }
    assert!(n >= 2, "{n} examples");
}

/// A user `conv1d` layer's gradients are the derivatives of its output at batch 2, where
/// candle's batched `Conv1d` kernel gradient is not (`nn::conv_taps`, tests in neural_ops).
#[test]
fn a_user_conv1d_layer_has_the_true_gradients_at_batch_two() {
    use candle_core::{Tensor, Var};
    let ctx = BuildCtx {
        d_model: 3,
        seq_len: 9,
    };
    let v = json!({"kind": "block", "layers": [{"op": "conv1d", "kernel": 3, "dilation": 2}]});
    let Definition::Block(def) = graph::from_value(&v).unwrap() else {
        panic!("a block")
    };
    let store = ParamStore::new(5, Device::Cpu);
    let b = graph::build_block(&def, ctx, store.vb()).unwrap();
    let x = Var::from_tensor(&Noise::new(1, &Device::Cpu).normal(&[2, 9, 3]).unwrap()).unwrap();
    let loss = |t: &Tensor| b.forward(t).unwrap().sqr().unwrap().sum_all().unwrap();
    let err = super::neural_ops::finite_difference_error(&loss, &x);
    assert!(err < 0.01, "input gradient off by {err} (relative)");
    // Every parameter, by central differences of the loss with the parameter moved in place.
    let l = || loss(x.as_tensor()).to_scalar::<f32>().unwrap();
    let grads = loss(x.as_tensor()).backward().unwrap();
    for (name, p) in store.named_vars() {
        let g = grads.get(&p).unwrap().flatten_all().unwrap();
        let g = g.to_vec1::<f32>().unwrap();
        let base = p.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let mut worst = 0f32;
        for (i, gi) in g.iter().enumerate() {
            let at = |d: f32| {
                let mut q = base.clone();
                q[i] += d;
                p.set(&Tensor::from_vec(q, p.shape(), &Device::Cpu).unwrap())
                    .unwrap();
                l()
            };
            let numeric = (at(1e-2) - at(-1e-2)) / 2e-2;
            worst = worst.max((numeric - gi).abs() / numeric.abs().max(1.0));
        }
        p.set(&Tensor::from_vec(base, p.shape(), &Device::Cpu).unwrap())
            .unwrap();
        assert!(worst < 0.01, "{name}: gradient off by {worst} (relative)");
    }
}
