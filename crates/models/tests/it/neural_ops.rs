//! Fused CPU ops (softmax, GELU, layer norm, the LSTM and GRU recurrences, Mamba's scan) equal candle's composed ops in value and gradient.

use candle_core::{Device, Tensor, Var};

/// Largest absolute difference between two tensors of one shape.
fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Value and gradient of `f` at `x`, against candle's composed op `reference`.
fn same_value_and_gradient(
    f: fn(&Tensor) -> candle_core::Result<Tensor>,
    reference: fn(&Tensor) -> candle_core::Result<Tensor>,
    shape: &[usize],
) {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&(Tensor::randn(0f32, 3.0, shape, &dev).unwrap())).unwrap();
    let w = Tensor::randn(0f32, 1.0, shape, &dev).unwrap();
    let ours = f(x.as_tensor()).unwrap();
    let theirs = reference(x.as_tensor()).unwrap();
    assert!(
        max_diff(&ours, &theirs) < 1e-5,
        "value {}",
        max_diff(&ours, &theirs)
    );
    let g1 = (ours * &w).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (theirs * &w)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    let (g1, g2) = (g1.get(&x).unwrap(), g2.get(&x).unwrap());
    assert!(max_diff(g1, g2) < 1e-4, "gradient {}", max_diff(g1, g2));
}

#[test]
fn fused_softmax_and_gelu_match_candles_composed_ops() {
    same_value_and_gradient(
        models::nn::softmax::softmax_last,
        |x| candle_nn::ops::softmax(x, candle_core::D::Minus1),
        &[3, 5, 17],
    );
    same_value_and_gradient(models::nn::gelu::gelu, |x| x.gelu(), &[4, 33]);
    // Rows of -inf-free extreme logits stay finite and sum to 1.
    let x = Tensor::new(&[[1e4f32, -1e4, 0.0], [88.0, 89.0, 90.0]], &Device::Cpu).unwrap();
    let y = models::nn::softmax::softmax_last(&x).unwrap();
    for row in y.to_vec2::<f32>().unwrap() {
        assert!(row.iter().all(|v| v.is_finite()));
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}

#[test]
fn fused_layer_norm_matches_layer_norm_slow_in_value_and_every_gradient() {
    let dev = Device::Cpu;
    let var = |shape: &[usize], mean: f32| {
        Var::from_tensor(&Tensor::randn(mean, 2.0, shape, &dev).unwrap()).unwrap()
    };
    let (x, w, b) = (var(&[3, 7, 16], 1.0), var(&[16], 1.0), var(&[16], 0.0));
    let g = Tensor::randn(0f32, 1.0, &[3, 7, 16], &dev).unwrap();
    let ours = models::nn::layernorm::layer_norm(x.as_tensor(), &w, &b, 1e-5).unwrap();
    let theirs = candle_nn::ops::layer_norm_slow(x.as_tensor(), &w, &b, 1e-5).unwrap();
    assert!(max_diff(&ours, &theirs) < 1e-5);
    let g1 = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (theirs * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for v in [&x, &w, &b] {
        let (a, c) = (g1.get(v).unwrap(), g2.get(v).unwrap());
        assert_eq!(a.dims(), c.dims());
        assert!(
            max_diff(a, c) < 1e-4,
            "gradient differs by {}",
            max_diff(a, c)
        );
    }
}

#[test]
fn fused_lstm_scan_matches_the_step_by_step_graph_in_value_and_gradients() {
    let dev = Device::Cpu;
    let (b, t, h) = (3, 9, 5);
    let xp = Var::from_tensor(&Tensor::randn(0f32, 1.0, &[b, t, 4 * h], &dev).unwrap()).unwrap();
    let w = Var::from_tensor(&Tensor::randn(0f32, 0.5, &[4 * h, h], &dev).unwrap()).unwrap();
    let g = Tensor::randn(0f32, 1.0, &[b, t, h], &dev).unwrap();
    let ours = models::nn::lstm_scan::lstm_scan(&xp, &w).unwrap();
    let theirs = models::blocks::lstm::lstm_graph(&xp, &w).unwrap();
    assert_eq!(ours.dims(), &[b, t, h]);
    assert!(max_diff(&ours, &theirs) < 1e-5);
    let g1 = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (theirs * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for v in [&xp, &w] {
        let (a, c) = (g1.get(v).unwrap(), g2.get(v).unwrap());
        assert_eq!(a.dims(), c.dims());
        assert!(
            max_diff(a, c) < 1e-4,
            "gradient differs by {}",
            max_diff(a, c)
        );
    }
}

#[test]
fn fused_gru_scan_matches_the_step_by_step_graph_in_value_and_gradients() {
    let dev = Device::Cpu;
    let (b, t, h) = (3, 9, 5);
    let var = |shape: &[usize], sd: f32| {
        Var::from_tensor(&Tensor::randn(0f32, sd, shape, &dev).unwrap()).unwrap()
    };
    let (xp, w, bias) = (
        var(&[b, t, 3 * h], 1.0),
        var(&[3 * h, h], 0.5),
        var(&[3 * h], 0.5),
    );
    let g = Tensor::randn(0f32, 1.0, &[b, t, h], &dev).unwrap();
    let ours = models::nn::gru_scan::gru_scan(&xp, &w, &bias).unwrap();
    let theirs = models::blocks::gru::gru_graph(&xp, &w, &bias).unwrap();
    assert_eq!(ours.dims(), &[b, t, h]);
    assert!(max_diff(&ours, &theirs) < 1e-5);
    let g1 = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (theirs * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for v in [&xp, &w, &bias] {
        let (a, c) = (g1.get(v).unwrap(), g2.get(v).unwrap());
        assert_eq!(a.dims(), c.dims());
        assert!(
            max_diff(a, c) < 1e-4,
            "gradient differs by {}",
            max_diff(a, c)
        );
    }
}

#[test]
fn fused_selective_scan_matches_the_step_by_step_graph_in_value_and_gradients() {
    let dev = Device::Cpu;
    let (b, t, d, n) = (2, 7, 3, 4);
    let var = |shape: &[usize], mean: f32, sd: f32| {
        Var::from_tensor(&Tensor::randn(mean, sd, shape, &dev).unwrap()).unwrap()
    };
    let dt = Var::from_tensor(&var(&[b, t, d], 0.0, 1.0).as_tensor().abs().unwrap()).unwrap();
    let x = var(&[b, t, d], 0.0, 1.0);
    let (bm, cm) = (var(&[b, t, n], 0.0, 1.0), var(&[b, t, n], 0.0, 1.0));
    let a = Var::from_tensor(
        &var(&[d, n], 0.0, 1.0)
            .as_tensor()
            .abs()
            .unwrap()
            .neg()
            .unwrap(),
    )
    .unwrap();
    let g = Tensor::randn(0f32, 1.0, &[b, t, d], &dev).unwrap();
    let ours = models::nn::selective_scan::selective_scan(&dt, &x, &bm, &cm, &a).unwrap();
    let theirs = models::blocks::mamba::scan_graph(&dt, &x, &bm, &cm, &a).unwrap();
    assert_eq!(ours.dims(), &[b, t, d]);
    assert!(max_diff(&ours, &theirs) < 1e-5);
    let g1 = (ours * &g).unwrap().sum_all().unwrap().backward().unwrap();
    let g2 = (theirs * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for v in [&dt, &x, &bm, &cm, &a] {
        let (p, q) = (g1.get(v).unwrap(), g2.get(v).unwrap());
        assert_eq!(p.dims(), q.dims());
        assert!(
            max_diff(p, q) < 1e-4,
            "gradient differs by {}",
            max_diff(p, q)
        );
    }
}
