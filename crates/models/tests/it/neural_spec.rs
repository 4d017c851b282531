//! Model spec JSON: defaults, round trip, and errors that name the field.

use models::spec::{LossKind, ModelSpec, Timeframe};

fn err(json: &str) -> String {
    ModelSpec::from_json(json).unwrap_err().to_string()
}

#[test]
fn parses_with_defaults_and_round_trips() {
    let s = ModelSpec::from_json(
        r#"{"timeframe": "1m", "d_model": 16,
            "blocks": [{"name": "transformer", "params": {"n_heads": 2}}, {"name": "lstm"}],
            "head": {"name": "mixture", "params": {"components": 2}},
            "training": {"epochs": 3, "loss": "path_crps"}}"#,
    )
    .unwrap();
    assert_eq!(s.timeframe, Timeframe::High1m);
    assert_eq!(s.horizon(), 60);
    assert_eq!(s.seq_len, 64);
    assert_eq!(s.training.epochs, 3);
    assert_eq!(s.training.batch_size, 32);
    assert_eq!(s.training.loss, LossKind::PathCrps);
    assert_eq!(s.display_name(), "transformer+lstm+mixture");
    let back = ModelSpec::from_json(&s.to_json()).unwrap();
    assert_eq!(back, s);
    let checked = s.validate().unwrap();
    assert_eq!(checked.blocks[0].1.usize("n_heads"), Ok(2));
    assert_eq!(checked.blocks[0].1.usize("num_layers"), Ok(2));
    assert_eq!(checked.head.1.usize("components"), Ok(2));
}

#[test]
fn errors_name_the_field_and_why() {
    let base = |blocks: &str, head: &str, extra: &str| {
        format!(r#"{{"timeframe": "5m", "blocks": {blocks}, "head": {head}{extra}}}"#)
    };
    let e = err(&base(r#"[{"name": "lsmt"}]"#, r#"{"name": "gbm"}"#, ""));
    assert!(e.contains("blocks[0].name: unknown block `lsmt`"), "{e}");
    let e = err(&base(
        r#"[{"name": "mlp"}, {"name": "transformer", "params": {"n_heads": 5}}]"#,
        r#"{"name": "gbm"}"#,
        "",
    ));
    assert!(
        e.contains("blocks[1].params: n_heads: 5 does not divide d_model 32"),
        "{e}"
    );
    let e = err(&base(
        r#"[{"name": "mlp"}]"#,
        r#"{"name": "mixture", "params": {"df": 1.0}}"#,
        "",
    ));
    assert!(e.contains("head.params.df: 1 is outside [2.1, 100]"), "{e}");
    let e = err(&base(
        r#"[{"name": "mlp"}]"#,
        r#"{"name": "flow"}"#,
        r#", "training": {"loss": "gaussian_crps"}"#,
    ));
    assert!(
        e.contains("training.loss: gaussian_crps needs a head with Gaussian marginals"),
        "{e}"
    );
    let e = err(&base("[]", r#"{"name": "gbm"}"#, ""));
    assert!(e.contains("blocks: at least one block"), "{e}");
    let e = err(&base(
        r#"[{"name": "mlp"}]"#,
        r#"{"name": "gbm"}"#,
        r#", "features": ["log_return", "rv_1"]"#,
    ));
    assert!(e.contains("features[1]: unknown feature `rv_1`"), "{e}");
    let e = err(&base(
        r#"[{"name": "mlp"}]"#,
        r#"{"name": "gbm"}"#,
        r#", "d_modle": 8"#,
    ));
    assert!(e.contains("unknown field `d_modle`"), "{e}");
    let e = err(r#"{"timeframe": "15m", "blocks": [{"name": "mlp"}], "head": {"name": "gbm"}}"#);
    assert!(
        e.contains(r#"unknown timeframe "15m"; valid: 5m, 1m"#),
        "{e}"
    );
    let e = err(&base(
        r#"[{"name": "mlp"}]"#,
        r#"{"name": "gbm"}"#,
        r#", "training": {"lr": 0}"#,
    ));
    assert!(e.contains("training.lr: must be in (0, 1]"), "{e}");
}
