//! Fused CPU ops (softmax, GELU, layer norm, the LSTM and GRU layers, Mamba's causal
//! convolution and selective scan) equal candle's composed ops / the step-by-step graph in
//! value and in every gradient.

use candle_core::{Device, Module, Tensor, Var};

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

/// A variable of `shape` with normal entries.
fn var(shape: &[usize], mean: f32, sd: f32) -> Var {
    Var::from_tensor(&Tensor::randn(mean, sd, shape, &Device::Cpu).unwrap()).unwrap()
}

/// `x·Wᵀ + b` through `nn::Linear` (itself checked against candle's matmul + broadcast add).
fn dense(x: &Tensor, w: &Var, b: &Var) -> Tensor {
    models::nn::Linear::from_tensors(w.as_tensor().clone(), Some(b.as_tensor().clone()))
        .forward(x)
        .unwrap()
}

/// `ours` equals `theirs`, and so does the gradient of Σ g·output for each of `vars`
/// (g random). A second backward pass through `ours` — where the fused ops have given their
/// kept forward trace away and recompute it — gives the same gradients as the first.
fn same_value_and_gradients(ours: Tensor, theirs: Tensor, vars: &[&Var]) {
    assert_eq!(ours.dims(), theirs.dims());
    let d = max_diff(&ours, &theirs);
    assert!(d < 1e-5, "value differs by {d}");
    let g = Tensor::randn(0f32, 1.0, ours.shape(), ours.device()).unwrap();
    let loss = (ours * &g).unwrap().sum_all().unwrap();
    let g1 = loss.backward().unwrap();
    let again = loss.backward().unwrap();
    for (i, v) in vars.iter().enumerate() {
        let d = max_diff(g1.get(v).unwrap(), again.get(v).unwrap());
        assert!(
            d < 1e-6,
            "second backward pass: gradient of input {i} differs by {d}"
        );
    }
    let g2 = (theirs * &g)
        .unwrap()
        .sum_all()
        .unwrap()
        .backward()
        .unwrap();
    for (i, v) in vars.iter().enumerate() {
        let (a, b) = (g1.get(v).unwrap(), g2.get(v).unwrap());
        assert_eq!(a.dims(), b.dims());
        let d = max_diff(a, b);
        assert!(d < 1e-4, "gradient of input {i} differs by {d}");
    }
}

#[test]
fn fused_softmax_and_gelu_match_candles_composed_ops() {
    let x = var(&[3, 5, 17], 0.0, 3.0);
    same_value_and_gradients(
        models::nn::softmax::softmax_last(&x).unwrap(),
        candle_nn::ops::softmax(&x, candle_core::D::Minus1).unwrap(),
        &[&x],
    );
    let x = var(&[4, 33], 0.0, 3.0);
    same_value_and_gradients(
        models::nn::gelu::gelu(&x).unwrap(),
        x.gelu().unwrap(),
        &[&x],
    );
    // Rows of extreme logits stay finite and sum to 1.
    let x = Tensor::new(&[[1e4f32, -1e4, 0.0], [88.0, 89.0, 90.0]], &Device::Cpu).unwrap();
    let y = models::nn::softmax::softmax_last(&x).unwrap();
    for row in y.to_vec2::<f32>().unwrap() {
        assert!(row.iter().all(|v| v.is_finite()));
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}

#[test]
fn fused_linear_and_attention_match_candles_composed_ops() {
    let (x, w, b) = (
        var(&[3, 7, 16], 0.0, 1.0),
        var(&[5, 16], 0.0, 0.5),
        var(&[5], 0.0, 0.5),
    );
    let composed = x
        .reshape((21, 16))
        .unwrap()
        .matmul(&w.t().unwrap())
        .unwrap()
        .broadcast_add(&b)
        .unwrap()
        .reshape((3, 7, 5))
        .unwrap();
    same_value_and_gradients(
        models::nn::linear_op::linear(&x, &w, &b).unwrap(),
        composed,
        &[&x, &w, &b],
    );
    let (w1, b1) = (var(&[9, 16], 0.0, 0.5), var(&[9], 0.0, 0.5));
    let (w2, b2) = (var(&[4, 9], 0.0, 0.5), var(&[4], 0.0, 0.5));
    let composed = dense(&dense(&x, &w1, &b1).gelu().unwrap(), &w2, &b2);
    same_value_and_gradients(
        models::nn::mlp_op::gelu_mlp(&x, &w1, &b1, &w2, &b2).unwrap(),
        composed,
        &[&x, &w1, &b1, &w2, &b2],
    );
    for (b, t, heads) in [(2, 9, 3), (1, 1, 1), (3, 4, 2)] {
        let qkv = var(&[b, t, 3 * 6], 0.0, 1.0);
        same_value_and_gradients(
            models::nn::sdpa::sdpa(&qkv, heads).unwrap(),
            models::nn::attention::attention_graph(&qkv, heads).unwrap(),
            &[&qkv],
        );
    }
    // No steps: an empty output, no panic.
    let empty = Tensor::zeros((2, 0, 18), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert_eq!(
        models::nn::sdpa::sdpa(&empty, 3).unwrap().dims(),
        &[2, 0, 6]
    );
    let no_width = Tensor::zeros((2, 4, 0), candle_core::DType::F32, &Device::Cpu).unwrap();
    assert_eq!(
        models::nn::sdpa::sdpa(&no_width, 3).unwrap().dims(),
        &[2, 4, 0]
    );
}

#[test]
fn fused_encoder_halves_match_the_separate_ops_in_value_and_every_gradient() {
    use models::nn::{encoder_op, layernorm::layer_norm, linear_op::linear, sdpa::sdpa};
    let (d, hid) = (8, 12);
    let (lnw, lnb) = (var(&[d], 1.0, 0.3), var(&[d], 0.0, 0.3));
    for (b, t, heads) in [(2, 5, 2), (1, 1, 1), (3, 4, 4)] {
        let x = var(&[b, t, d], 0.5, 1.5);
        let (wq, bq) = (var(&[3 * d, d], 0.0, 0.5), var(&[3 * d], 0.0, 0.5));
        let (wo, bo) = (var(&[d, d], 0.0, 0.5), var(&[d], 0.0, 0.5));
        let composed = {
            let h = layer_norm(&x, &lnw, &lnb, 1e-5).unwrap();
            let y = sdpa(&linear(&h, &wq, &bq).unwrap(), heads).unwrap();
            (x.as_tensor() + linear(&y, &wo, &bo).unwrap()).unwrap()
        };
        same_value_and_gradients(
            encoder_op::attention_half(&x, (&lnw, &lnb), (&wq, &bq), (&wo, &bo), heads).unwrap(),
            composed,
            &[&x, &lnw, &lnb, &wq, &bq, &wo, &bo],
        );
        let (w1, b1) = (var(&[hid, d], 0.0, 0.5), var(&[hid], 0.0, 0.5));
        let (w2, b2) = (var(&[d, hid], 0.0, 0.5), var(&[d], 0.0, 0.5));
        let composed = {
            let h = layer_norm(&x, &lnw, &lnb, 1e-5).unwrap();
            let z = dense(&h, &w1, &b1).gelu().unwrap();
            (x.as_tensor() + dense(&z, &w2, &b2)).unwrap()
        };
        same_value_and_gradients(
            encoder_op::ffn_half(&x, (&lnw, &lnb), (&w1, &b1), (&w2, &b2)).unwrap(),
            composed,
            &[&x, &lnw, &lnb, &w1, &b1, &w2, &b2],
        );
    }
    // Shapes that do not fit are errors, not panics: heads not dividing d, a 2-D input to
    // attention, a weight of the wrong width.
    let x = var(&[2, 3, d], 0.0, 1.0);
    let (wq, bq) = (var(&[3 * d, d], 0.0, 0.5), var(&[3 * d], 0.0, 0.5));
    let (wo, bo) = (var(&[d, d], 0.0, 0.5), var(&[d], 0.0, 0.5));
    assert!(encoder_op::attention_half(&x, (&lnw, &lnb), (&wq, &bq), (&wo, &bo), 3).is_err());
    let flat = x.flatten_to(1).unwrap();
    assert!(encoder_op::attention_half(&flat, (&lnw, &lnb), (&wq, &bq), (&wo, &bo), 2).is_err());
    let (w1, b1) = (var(&[5, d + 1], 0.0, 0.5), var(&[5], 0.0, 0.5));
    let (w2, b2) = (var(&[d, 5], 0.0, 0.5), var(&[d], 0.0, 0.5));
    assert!(encoder_op::ffn_half(&x, (&lnw, &lnb), (&w1, &b1), (&w2, &b2)).is_err());
}

#[test]
fn fused_layer_norm_matches_layer_norm_slow_in_value_and_every_gradient() {
    let (x, w, b) = (
        var(&[3, 7, 16], 1.0, 2.0),
        var(&[16], 1.0, 2.0),
        var(&[16], 0.0, 2.0),
    );
    same_value_and_gradients(
        models::nn::layernorm::layer_norm(&x, &w, &b, 1e-5).unwrap(),
        candle_nn::ops::layer_norm_slow(&x, &w, &b, 1e-5).unwrap(),
        &[&x, &w, &b],
    );
}

#[test]
fn fused_lstm_layer_matches_the_step_by_step_graph_in_value_and_gradients() {
    let (i, h) = (4, 5);
    let (w_ih, b_ih) = (var(&[4 * h, i], 0.0, 0.5), var(&[4 * h], 0.0, 0.5));
    let w_hh = var(&[4 * h, h], 0.0, 0.5);
    // One step and one sequence are edge cases of the strided products.
    for (b, t) in [(3, 9), (1, 1), (2, 1), (1, 3)] {
        let x = var(&[b, t, i], 0.0, 1.0);
        same_value_and_gradients(
            models::nn::lstm_scan::lstm_layer(&x, &w_ih, &b_ih, &w_hh).unwrap(),
            models::blocks::lstm::lstm_graph(&dense(&x, &w_ih, &b_ih), &w_hh).unwrap(),
            &[&x, &w_ih, &b_ih, &w_hh],
        );
    }
}

#[test]
fn fused_gru_layer_matches_the_step_by_step_graph_in_value_and_gradients() {
    let (i, h) = (4, 5);
    let (w_ih, b_ih) = (var(&[3 * h, i], 0.0, 0.5), var(&[3 * h], 0.0, 0.5));
    let (w_hh, b_hh) = (var(&[3 * h, h], 0.0, 0.5), var(&[3 * h], 0.0, 0.5));
    // One step and one sequence are edge cases of the strided products.
    for (b, t) in [(3, 9), (1, 1), (2, 1), (1, 3)] {
        let x = var(&[b, t, i], 0.0, 1.0);
        same_value_and_gradients(
            models::nn::gru_scan::gru_layer(&x, &w_ih, &b_ih, &w_hh, &b_hh).unwrap(),
            models::blocks::gru::gru_graph(&dense(&x, &w_ih, &b_ih), &w_hh, &b_hh).unwrap(),
            &[&x, &w_ih, &b_ih, &w_hh, &b_hh],
        );
    }
}

#[test]
fn fused_selective_scan_matches_the_step_by_step_graph_in_value_and_gradients() {
    let positive =
        |shape: &[usize]| Var::from_tensor(&var(shape, 0.0, 1.0).abs().unwrap()).unwrap();
    // One step, one sequence, a state wider than a vector (N = 11) and the specialised
    // N = 16 are edge cases.
    for (b, t, d, n) in [
        (2, 7, 3, 4),
        (1, 1, 2, 3),
        (3, 1, 2, 5),
        (1, 5, 3, 11),
        (2, 4, 3, 16),
    ] {
        let dt = positive(&[b, t, d]);
        let a = Var::from_tensor(&positive(&[d, n]).neg().unwrap()).unwrap();
        let x = var(&[b, t, d], 0.0, 1.0);
        let (bm, cm) = (var(&[b, t, n], 0.0, 1.0), var(&[b, t, n], 0.0, 1.0));
        same_value_and_gradients(
            models::nn::selective_scan::selective_scan(&dt, &x, &bm, &cm, &a).unwrap(),
            models::blocks::mamba::scan_graph(&dt, &x, &bm, &cm, &a).unwrap(),
            &[&dt, &x, &bm, &cm, &a],
        );
        // Mamba's call: step sizes softplus(u), skip d_skip·x and gate silu(z) inside the op.
        let (u, z, d_skip) = (
            var(&[b, t, d], -1.0, 2.0),
            var(&[b, t, d], 0.0, 1.0),
            var(&[d], 0.0, 1.0),
        );
        let graph = {
            let sp = models::nn::layers::softplus(&u).unwrap();
            let y = models::blocks::mamba::scan_graph(&sp, &x, &bm, &cm, &a).unwrap();
            let y = (y + x.broadcast_mul(&d_skip).unwrap()).unwrap();
            (y * models::nn::layers::silu(&z).unwrap()).unwrap()
        };
        same_value_and_gradients(
            models::nn::selective_scan::mamba_scan(&u, &x, &z, &bm, &cm, &a, &d_skip).unwrap(),
            graph,
            &[&u, &x, &z, &bm, &cm, &a, &d_skip],
        );
    }
}

#[test]
fn fused_causal_conv_matches_the_grouped_conv1d_in_value_and_gradients() {
    // A narrow of a wider tensor (as Mamba passes it), one step, one sequence, kernels
    // longer than the sequence.
    for (b, t, c, k) in [(2, 7, 3, 4), (1, 1, 2, 3), (3, 2, 9, 4), (1, 5, 4, 1)] {
        let wide = var(&[b, t, 2 * c], 0.0, 1.0);
        let x = wide.narrow(2, 0, c).unwrap();
        let (w, bias) = (var(&[c, 1, k], 0.0, 0.5), var(&[c], 0.0, 0.5));
        same_value_and_gradients(
            models::nn::causal_conv::causal_conv_silu(&x, &w, &bias).unwrap(),
            models::blocks::mamba::conv_graph(&x, &w, &bias).unwrap(),
            &[&wide, &w, &bias],
        );
    }
    // A broadcast input (row stride 0) is copied first.
    let (w, bias) = (var(&[3, 1, 2], 0.0, 0.5), var(&[3], 0.0, 0.5));
    let one = var(&[1, 1, 3], 0.0, 1.0);
    let x = one.broadcast_as((2, 1, 3)).unwrap();
    same_value_and_gradients(
        models::nn::causal_conv::causal_conv_silu(&x, &w, &bias).unwrap(),
        models::blocks::mamba::conv_graph(&x, &w, &bias).unwrap(),
        &[&one, &w, &bias],
    );
}

/// candle's channel-first `Conv1d` on (B, T, C), left zero padding, one sequence at a time:
/// the reference for `nn::conv_taps::causal_conv1d`. candle 0.11's `Conv1d` backward pass is
/// wrong for batches of more than one sequence (its input and kernel gradients are not the
/// derivatives of its output: `tap_convolutions_match_finite_differences`), right for one.
fn conv1d_reference(x: &Tensor, w: &Tensor, b: &Tensor, dilation: usize) -> Tensor {
    let k = w.dim(2).unwrap();
    let conv = candle_nn::Conv1d::new(
        w.clone(),
        Some(b.clone()),
        candle_nn::Conv1dConfig {
            dilation,
            ..Default::default()
        },
    );
    let outs: Vec<Tensor> = (0..x.dim(0).unwrap())
        .map(|i| {
            let xc = x
                .narrow(0, i, 1)
                .unwrap()
                .transpose(1, 2)
                .unwrap()
                .contiguous()
                .unwrap()
                .pad_with_zeros(2, (k - 1) * dilation, 0)
                .unwrap();
            conv.forward(&xc).unwrap().transpose(1, 2).unwrap()
        })
        .collect();
    Tensor::cat(&outs, 0).unwrap()
}

/// candle's `Conv2d` with kernels 1, 3, … ("same" padding) averaged, on (B, H, W, C), one
/// sample at a time (as `conv1d_reference`): the reference for `mean_same_conv2d`.
fn inception_reference(x: &Tensor, ws: &[Tensor], bs: &[Tensor]) -> Tensor {
    let outs: Vec<Tensor> = (0..x.dim(0).unwrap())
        .map(|s| {
            let xc = x
                .narrow(0, s, 1)
                .unwrap()
                .permute((0, 3, 1, 2))
                .unwrap()
                .contiguous()
                .unwrap();
            let each: Vec<Tensor> = (0..ws.len())
                .map(|i| {
                    let cfg = candle_nn::Conv2dConfig {
                        padding: i,
                        ..Default::default()
                    };
                    candle_nn::Conv2d::new(ws[i].clone(), Some(bs[i].clone()), cfg)
                        .forward(&xc)
                        .unwrap()
                })
                .collect();
            Tensor::stack(&each, 0)
                .unwrap()
                .mean(0)
                .unwrap()
                .permute((0, 2, 3, 1))
                .unwrap()
        })
        .collect();
    Tensor::cat(&outs, 0).unwrap()
}

#[test]
fn fused_tanh_gate_matches_the_composed_ops_in_value_and_gradients() {
    for shape in [vec![2, 5, 8], vec![3, 2], vec![1, 1, 34]] {
        let y = var(&shape, 0.0, 2.0);
        same_value_and_gradients(
            models::nn::tanh_gate::tanh_gate(&y).unwrap(),
            models::nn::tanh_gate::tanh_gate_graph(&y).unwrap(),
            &[&y],
        );
    }
    assert!(models::nn::tanh_gate::tanh_gate(&var(&[2, 3], 0.0, 1.0)).is_err());
}

#[test]
fn fused_tap_convolution_matches_the_composed_graph_in_value_and_gradients() {
    // Offsets inside, at and past the edges (a tap entirely outside reads zeros); the shifted
    // copies built all at once, one tap at a time and in uneven groups.
    let offsets = [(0, 0), (-1, 1), (1, -2), (0, -7), (3, 0), (-1, -1)];
    for (b, h, w, c, o) in [(2, 3, 4, 3, 5), (1, 1, 9, 2, 3), (3, 2, 2, 1, 2)] {
        let x = var(&[b, h, w, c], 0.0, 1.0);
        let wt = var(&[o, offsets.len() * c], 0.0, 0.5);
        let bias = var(&[o], 0.0, 0.5);
        for group in [6, 1, 4] {
            same_value_and_gradients(
                models::nn::conv_taps::tap_conv_in_groups(&x, &offsets, &wt, &bias, group).unwrap(),
                models::nn::conv_taps::folded_tap_conv_graph(
                    &x.reshape((b, h * w, c)).unwrap(),
                    models::nn::conv_taps::Fold::grid(h, w),
                    &offsets,
                    &wt,
                    &bias,
                    6,
                )
                .unwrap()
                .reshape((b, h, w, o))
                .unwrap(),
                &[&x, &wt, &bias],
            );
        }
    }
    // A series folded into a grid it does not fill (zero after its end), the output the
    // grid's first positions — fewer than the series, as many, or the whole grid.
    use models::nn::conv_taps::{folded_tap_conv, folded_tap_conv_graph, Fold};
    let offsets3 = [(-1, -1), (-1, 0), (0, 1), (1, 1), (0, 0), (1, -1)];
    for (b, len, (h, w), out_len, c) in [
        (2, 7, (3, 3), 9, 2),
        (3, 9, (3, 4), 7, 3),
        (1, 5, (5, 1), 5, 2),
    ] {
        let x = var(&[b, len, c], 0.0, 1.0);
        let wt = var(&[4, offsets3.len() * c], 0.0, 0.5);
        let bias = var(&[4], 0.0, 0.5);
        let fold = Fold {
            h,
            w,
            in_len: len,
            out_len,
        };
        for group in [6, 4] {
            same_value_and_gradients(
                folded_tap_conv(&x, fold, &offsets3, &wt, &bias, group).unwrap(),
                folded_tap_conv_graph(&x, fold, &offsets3, &wt, &bias, 6).unwrap(),
                &[&x, &wt, &bias],
            );
        }
    }
    // A series longer than its grid is an error, not a panic.
    let (x, wt, bias) = (
        var(&[1, 10, 2], 0.0, 1.0),
        var(&[4, 12], 0.0, 0.5),
        var(&[4], 0.0, 0.5),
    );
    assert!(folded_tap_conv(&x, Fold::grid(3, 3), &offsets3, &wt, &bias, 6).is_err());
    // Mismatched weights are errors, not panics.
    let x = var(&[1, 2, 2, 3], 0.0, 1.0);
    let (wt, bias) = (var(&[2, 5], 0.0, 0.5), var(&[2], 0.0, 0.5));
    assert!(models::nn::conv_taps::tap_conv_in_groups(&x, &offsets, &wt, &bias, 6).is_err());
}

#[test]
fn tap_convolutions_match_candles_conv1d_and_conv2d_in_value_and_gradients() {
    // Causal dilated Conv1d: kernels 1..3, dilations reaching past the sequence's start.
    for (b, t, c, o, k, dil) in [(2, 9, 3, 5, 3, 2), (1, 4, 2, 4, 2, 4), (3, 6, 4, 2, 1, 1)] {
        let x = var(&[b, t, c], 0.0, 1.0);
        let (w, bias) = (var(&[o, c, k], 0.0, 0.5), var(&[o], 0.0, 0.5));
        same_value_and_gradients(
            models::nn::conv_taps::causal_conv1d(&x, &w, &bias, dil).unwrap(),
            conv1d_reference(&x, &w, &bias, dil),
            &[&x, &w, &bias],
        );
    }
    // The mean of "same" Conv2d with kernels 1, 3, 5 (TimesNet's Inception) on (B, H, W, C).
    for (b, h, wd, c, o, n) in [(2, 3, 5, 3, 4, 2), (1, 2, 1, 2, 3, 3), (2, 4, 4, 2, 2, 1)] {
        let x = var(&[b, h, wd, c], 0.0, 1.0);
        let ws: Vec<Var> = (0..n)
            .map(|i| var(&[o, c, 2 * i + 1, 2 * i + 1], 0.0, 0.5))
            .collect();
        let bs: Vec<Var> = (0..n).map(|_| var(&[o], 0.0, 0.5)).collect();
        let wt: Vec<Tensor> = ws.iter().map(|w| w.as_tensor().clone()).collect();
        let bt: Vec<Tensor> = bs.iter().map(|b| b.as_tensor().clone()).collect();
        let mut vars: Vec<&Var> = vec![&x];
        vars.extend(ws.iter());
        vars.extend(bs.iter());
        same_value_and_gradients(
            models::nn::conv_taps::mean_same_conv2d(&x, &wt, &bt).unwrap(),
            inception_reference(&x, &wt, &bt),
            &vars,
        );
    }
    // Mismatched shapes and even kernels are errors, not panics.
    let x = var(&[1, 4, 3], 0.0, 1.0);
    let (w, bias) = (var(&[2, 5, 3], 0.0, 0.5), var(&[2], 0.0, 0.5));
    assert!(models::nn::conv_taps::causal_conv1d(&x, &w, &bias, 1).is_err());
    let x4 = var(&[1, 2, 2, 3], 0.0, 1.0);
    let even = var(&[2, 3, 2, 2], 0.0, 0.5);
    let (ws, bs) = ([even.as_tensor().clone()], [bias.as_tensor().clone()]);
    assert!(models::nn::conv_taps::mean_same_conv2d(&x4, &ws, &bs).is_err());
}

/// Largest relative difference between the gradient `loss` gives `v` (of `shape`) and
/// central differences of `loss`.
pub(crate) fn finite_difference_error(loss: &dyn Fn(&Tensor) -> Tensor, v: &Var) -> f32 {
    let g = loss(v.as_tensor()).backward().unwrap();
    let g = g
        .get(v)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    let base = v.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let at = |i: usize, d: f32| {
        let mut p = base.clone();
        p[i] += d;
        let t = Tensor::from_vec(p, v.shape(), &Device::Cpu).unwrap();
        loss(&t).to_scalar::<f32>().unwrap()
    };
    (0..base.len())
        .map(|i| {
            let numeric = (at(i, 1e-2) - at(i, -1e-2)) / 2e-2;
            (numeric - g[i]).abs() / numeric.abs().max(1.0)
        })
        .fold(0.0, f32::max)
}

/// The tap convolutions' gradients are the derivatives of their outputs at batch 2 — where
/// candle 0.11's `Conv1d` gradients are not (the TCN and WaveNet blocks trained on them
/// before `nn::conv_taps`): checked against central differences for both.
#[test]
fn tap_convolutions_match_finite_differences() {
    let x = var(&[2, 9, 3], 0.0, 1.0);
    let w = var(&[5, 3, 3], 0.0, 0.5);
    let b = var(&[5], 0.0, 0.5);
    let ours = |x: &Tensor, w: &Tensor| {
        let y = models::nn::conv_taps::causal_conv1d(x, w, b.as_tensor(), 2).unwrap();
        y.sqr().unwrap().sum_all().unwrap()
    };
    let dx = finite_difference_error(&|t| ours(t, w.as_tensor()), &x);
    let dw = finite_difference_error(&|t| ours(x.as_tensor(), t), &w);
    assert!(dx < 0.01 && dw < 0.01, "x {dx}, w {dw}");
    let ws = [var(&[4, 3, 1, 1], 0.0, 0.5), var(&[4, 3, 3, 3], 0.0, 0.5)];
    let bs = [var(&[4], 0.0, 0.5), var(&[4], 0.0, 0.5)];
    let img = var(&[2, 3, 4, 3], 0.0, 1.0);
    let bt = [bs[0].as_tensor().clone(), bs[1].as_tensor().clone()];
    let inception = |x: &Tensor, w3: &Tensor| {
        let wt = [ws[0].as_tensor().clone(), w3.clone()];
        let y = models::nn::conv_taps::mean_same_conv2d(x, &wt, &bt).unwrap();
        y.sqr().unwrap().sum_all().unwrap()
    };
    let dx = finite_difference_error(&|t| inception(t, ws[1].as_tensor()), &img);
    let dw = finite_difference_error(&|t| inception(img.as_tensor(), t), &ws[1]);
    assert!(dx < 0.01 && dw < 0.01, "x {dx}, w {dw}");
    // candle's batched Conv1d (undilated, no padding) for comparison.
    let xc = var(&[2, 3, 9], 0.0, 1.0);
    let candle = |x: &Tensor, w: &Tensor| {
        let conv = candle_nn::Conv1d::new(w.clone(), None, Default::default());
        conv.forward(x).unwrap().sqr().unwrap().sum_all().unwrap()
    };
    let cw = finite_difference_error(&|t| candle(xc.as_tensor(), t), &w);
    eprintln!("candle Conv1d at batch 2: kernel gradient off by {cw} (relative)");
}

/// The TimesNet block's input gradient — through the folded convolutions and through the
/// softmax of the chosen amplitudes (the aggregation weights, the only part of the spectrum
/// that carries gradients) — is the derivative of its output: central differences on a
/// series with two clear periods (so that a step of 1e-2 never changes which are chosen).
#[test]
fn timesnet_input_gradient_matches_finite_differences() {
    use models::blocks::{self, BuildCtx};
    let dev = Device::Cpu;
    let (b, t, d) = (2, 16, 4);
    let info = models::registry::block("timesnet").unwrap();
    let p = info
        .resolve(&serde_json::json!({"top_k": 2}), "params")
        .unwrap();
    let store = models::nn::ParamStore::new(3, dev.clone());
    let block = blocks::build(
        "timesnet",
        &p,
        BuildCtx {
            d_model: d,
            seq_len: t,
        },
        store.vb(),
    )
    .unwrap();
    let noise = models::heads::Noise::new(1, &dev)
        .normal(&[b, t, d])
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    // Periods 8 (f = 2) and 4 (f = 4), amplitudes well above the noise's and close to each
    // other (so that the softmax weights are far from 0 and 1 and their gradient counts).
    let x: Vec<f32> = (0..b * t * d)
        .map(|i| {
            let (s, ti, c) = (i / (t * d), (i / d) % t, i % d);
            let a = std::f32::consts::TAU * ti as f32 / t as f32;
            0.5 * (2.0 * a).sin() + 0.45 * (4.0 * a + c as f32).cos() + 0.1 * noise[s][ti][c]
        })
        .collect();
    let x = Var::from_tensor(&Tensor::from_vec(x, (b, t, d), &dev).unwrap()).unwrap();
    let g = models::heads::Noise::new(2, &dev)
        .normal(&[b, t, d])
        .unwrap();
    let loss = |x: &Tensor| (block.forward(x).unwrap() * &g).unwrap().sum_all().unwrap();
    let err = finite_difference_error(&loss, &x);
    assert!(err < 0.01, "input gradient off by {err} (relative)");
}

#[test]
fn fused_scaled_add_matches_the_composed_ops_in_value_and_gradients() {
    for (shape, k, i) in [
        (vec![3, 5, 4], 2, 1),
        (vec![2, 7], 3, 0),
        (vec![1, 2, 3, 2], 1, 0),
    ] {
        let acc = var(&shape, 0.0, 1.0);
        let y = var(&shape, 0.0, 1.0);
        let w = var(&[shape[0], k], 0.0, 1.0);
        same_value_and_gradients(
            models::nn::scaled_add::scaled_add(&acc, &y, &w, i).unwrap(),
            models::nn::scaled_add::scaled_add_graph(&acc, &y, &w, i).unwrap(),
            &[&acc, &y, &w],
        );
    }
    // A column past the weights, or shapes that differ, are errors, not panics.
    let (a, w) = (var(&[2, 3], 0.0, 1.0), var(&[2, 2], 0.0, 1.0));
    assert!(models::nn::scaled_add::scaled_add(&a, &a, &w, 2).is_err());
    assert!(models::nn::scaled_add::scaled_add(&a, &var(&[2, 4], 0.0, 1.0), &w, 0).is_err());
}
