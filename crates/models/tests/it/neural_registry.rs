//! Registry conformance: every block preserves shape and passes a gradient to every
//! parameter; every head yields valid 1000×289 and 1000×61 paths and trains all its parameters.

use candle_core::{Device, Tensor};
use models::blocks::{self, BuildCtx};
use models::heads::{self, HeadCtx, Noise};
use models::loss;
use models::nn::ParamStore;
use models::registry;
use models::spec::Timeframe;
use models::{ForecastRequest, Forecaster};

use super::neural_support::{gbm_candles, tiny_spec};

fn grads_reach_all(store: &ParamStore, loss: &Tensor, what: &str) {
    let grads = loss.backward().unwrap();
    let vars = store.named_vars();
    assert!(!vars.is_empty(), "{what} has no parameters");
    for (name, v) in vars {
        let g = grads
            .get(&v)
            .unwrap_or_else(|| panic!("{what}: no gradient for {name}"));
        let norm: f32 = g.abs().unwrap().sum_all().unwrap().to_scalar().unwrap();
        assert!(
            norm.is_finite() && norm > 0.0,
            "{what}: zero gradient for {name}"
        );
    }
}

#[test]
fn every_block_preserves_shape_and_trains_every_parameter() {
    let dev = Device::Cpu;
    let ctx = BuildCtx {
        d_model: 8,
        seq_len: 16,
    };
    for info in registry::blocks() {
        let store = ParamStore::new(3, dev.clone());
        let p = info.defaults();
        let b = blocks::build(info.name, &p, ctx, store.vb()).unwrap();
        let x = Noise::new(1, &dev).normal(&[2, 16, 8]).unwrap();
        let y = b.forward(&x).unwrap();
        assert_eq!(
            y.dims(),
            &[2, 16, 8],
            "block {} changed the shape",
            info.name
        );
        let w = Noise::new(2, &dev).normal(&[2, 16, 8]).unwrap();
        let l = (y * w).unwrap().sum_all().unwrap();
        grads_reach_all(&store, &l, info.name);
    }
}

#[test]
fn every_head_trains_every_parameter_through_the_path_crps() {
    let dev = Device::Cpu;
    for tf in [Timeframe::Low5m, Timeframe::High1m] {
        let h = tf.horizon();
        for info in registry::heads() {
            let store = ParamStore::new(5, dev.clone());
            let head = heads::build(
                info.name,
                &info.defaults(),
                HeadCtx {
                    d_model: 8,
                    horizon: h,
                },
                store.vb(),
            )
            .unwrap();
            let state = Noise::new(1, &dev).normal(&[2, 8]).unwrap();
            let scale = Tensor::new(&[[0.002f32], [0.001]], &dev).unwrap();
            let inc = head
                .increments(&state, &scale, h, 64, &mut Noise::new(9, &dev))
                .unwrap();
            assert_eq!(inc.dims(), &[2, 64, h]);
            let f = models::sampler::factors(&inc).unwrap();
            let r = (Noise::new(4, &dev).normal(&[2, h]).unwrap() * 0.002).unwrap();
            let l =
                loss::path_crps(&f, &loss::real_factors(&r).unwrap(), loss::intervals(tf)).unwrap();
            grads_reach_all(&store, &l, info.name);
        }
    }
}

#[test]
fn every_head_yields_valid_sn50_paths_for_low_and_high() {
    for tf in [Timeframe::Low5m, Timeframe::High1m] {
        let res = tf.step_secs();
        let hist = gbm_candles(200, res, 0.002, 1);
        for info in registry::heads() {
            let model =
                models::neural::NeuralModel::new(tiny_spec(tf, &["mlp"], info.name)).unwrap();
            let start_price = 67_123.45;
            let start_time = hist.ts.last().unwrap() + res as i64;
            let req = ForecastRequest {
                asset: "BTC",
                history: &hist,
                start_price,
                start_time,
                time_increment: res,
                time_length: tf.horizon() as u32 * res,
                num_simulations: 1000,
                seed: 11,
                context: Default::default(),
            };
            let paths = model.forecast(&req).unwrap();
            assert_eq!(paths.n_paths(), 1000, "{}", info.name);
            assert_eq!(paths.n_points(), tf.horizon() + 1, "{}", info.name);
            for p in paths.paths() {
                assert_eq!(
                    p[0], start_price,
                    "{}: first point is not the start price",
                    info.name
                );
                assert!(
                    p.iter().all(|x| x.is_finite() && *x > 0.0),
                    "{}: invalid price",
                    info.name
                );
            }
            // Formatted as the miner sends them, the validator accepts them.
            let out = sn50::format_paths(&paths, start_time, res as i64).unwrap();
            let json = serde_json::to_value(&out).unwrap();
            let expected = sn50::Expected {
                start_unix: start_time,
                time_increment: res as i64,
                time_length: (tf.horizon() as u32 * res) as i64,
                num_simulations: 1000,
            };
            sn50::validate_response(Some(&json), &expected, Some(1.0))
                .unwrap_or_else(|e| panic!("{}: sn50 rejects the paths: {e}", info.name));
            // Same seed, same paths.
            assert_eq!(model.forecast(&req).unwrap(), paths, "{}", info.name);
        }
    }
}

#[test]
fn descriptors_have_schemas_and_validate_parameters() {
    assert!(registry::blocks().len() >= 12);
    assert!(registry::heads().len() >= 8);
    for info in registry::blocks().into_iter().chain(registry::heads()) {
        let s = info.schema();
        assert_eq!(s["type"], "object");
        assert_eq!(s["additionalProperties"], false);
        for p in info.params {
            assert!(
                s["properties"][p.name]["default"] != serde_json::Value::Null,
                "{}.{}",
                info.name,
                p.name
            );
        }
        assert_eq!(
            info.resolve(&serde_json::Value::Null, "x").unwrap(),
            info.defaults()
        );
        let err = info
            .resolve(&serde_json::json!({"nope": 1}), "blocks[0].params")
            .unwrap_err();
        assert!(
            err.starts_with("blocks[0].params.nope: unknown parameter"),
            "{err}"
        );
    }
    let lstm = registry::block("lstm").unwrap();
    let err = lstm
        .resolve(&serde_json::json!({"num_layers": 99}), "p")
        .unwrap_err();
    assert_eq!(err, "p.num_layers: 99 is outside [1, 8]");
    let err = lstm
        .resolve(&serde_json::json!({"num_layers": "two"}), "p")
        .unwrap_err();
    assert!(err.contains("must be an integer"), "{err}");
}
