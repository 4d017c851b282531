//! Loss: the differentiable sn50 CRPS equals the brute-force definition.

use candle_core::{Device, Tensor, Var};
use models::loss::{self, Interval, IntervalKind};

fn brute_crps(xs: &[f64], y: f64) -> f64 {
    let n = xs.len() as f64;
    let t1 = xs.iter().map(|x| (x - y).abs()).sum::<f64>() / n;
    let t2 = xs
        .iter()
        .flat_map(|a| xs.iter().map(move |b| (a - b).abs()))
        .sum::<f64>()
        / (2.0 * n * n);
    t1 - t2
}

#[test]
fn ensemble_crps_matches_the_definition() {
    let dev = Device::Cpu;
    let xs = [3.0f32, -1.0, 0.5, 7.0, 2.0];
    let x = Tensor::new(&xs, &dev).unwrap().reshape((1, 1, 5)).unwrap();
    let y = Tensor::new(&[[1.5f32]], &dev).unwrap();
    let c: Vec<f32> = loss::crps_ensemble(&x, &y)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let want = brute_crps(&xs.map(|v| v as f64), 1.5);
    assert!((c[0] as f64 - want).abs() < 1e-5, "{} vs {want}", c[0]);
}

#[test]
fn path_crps_scores_intervals_like_sn50() {
    let dev = Device::Cpu;
    // two paths of 5 points (H = 4) and a realised path
    let p = [
        [1.0f64, 1.01, 1.0, 0.99, 1.02],
        [1.0, 0.98, 0.985, 1.0, 1.01],
    ];
    let real = [1.0f64, 1.005, 1.0, 1.0, 1.015];
    let ivs = [
        Interval {
            name: "1",
            steps: 1,
            kind: IntervalKind::Change,
        },
        Interval {
            name: "2",
            steps: 2,
            kind: IntervalKind::Change,
        },
        Interval {
            name: "g",
            steps: 2,
            kind: IntervalKind::Gap,
        },
        Interval {
            name: "abs",
            steps: 4,
            kind: IntervalKind::Abs,
        },
    ];
    let mut want = 0.0;
    for iv in &ivs {
        let cols: Vec<usize> = (0..=4).step_by(iv.steps).collect();
        let k = if iv.kind == IntervalKind::Gap {
            1
        } else {
            cols.len() - 1
        };
        for j in 0..k {
            let (a, b) = (cols[j], cols[j + 1]);
            let f = |q: &[f64]| match iv.kind {
                IntervalKind::Abs => q[b] / real[4] * 1e4,
                _ => (q[b] - q[a]) / q[a] * 1e4,
            };
            let xs: Vec<f64> = p.iter().map(|q| f(q)).collect();
            want += brute_crps(&xs, f(&real));
        }
    }
    let flat: Vec<f32> = p.iter().flatten().map(|&v| v as f32).collect();
    let paths = Var::from_tensor(&Tensor::from_vec(flat, (1, 2, 5), &dev).unwrap()).unwrap();
    let r = Tensor::from_vec(real.map(|v| v as f32).to_vec(), (1, 5), &dev).unwrap();
    let total: Vec<f32> = loss::path_crps_total(paths.as_tensor(), &r, &ivs)
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(
        (total[0] as f64 - want).abs() < 1e-2 * want.max(1.0),
        "{} vs {want}",
        total[0]
    );
    let l = loss::path_crps(paths.as_tensor(), &r, &ivs).unwrap();
    let g = l.backward().unwrap();
    assert!(g.get(&paths).is_some());
    assert_eq!(loss::n_terms(loss::LOW_INTERVALS, 288), 288 + 48 + 8 + 1);
    assert_eq!(
        loss::n_terms(loss::HIGH_INTERVALS, 60),
        60 + 30 + 12 + 4 + 2 + 1 + 12
    );
}

#[test]
fn gaussian_crps_matches_known_values() {
    let dev = Device::Cpu;
    let mu = Tensor::new(&[0f32], &dev).unwrap();
    let s = Tensor::new(&[1f32], &dev).unwrap();
    let y = Tensor::new(&[0f32], &dev).unwrap();
    let c: Vec<f32> = loss::gaussian_crps_elem(&mu, &s, &y)
        .unwrap()
        .to_vec1()
        .unwrap();
    // CRPS(N(0,1), 0) = 2φ(0) − 1/√π = 0.2336949...
    assert!((c[0] - 0.233_695).abs() < 1e-5, "{}", c[0]);
}

#[test]
fn linear_cumsum_matches_candle_and_has_the_right_gradient() {
    let dev = Device::Cpu;
    let x = Var::from_tensor(&Tensor::new(&[[1f32, 2.0, 3.0], [0.5, -1.0, 4.0]], &dev).unwrap())
        .unwrap();
    let c = models::nn::cumsum::cumsum_last(x.as_tensor()).unwrap();
    assert_eq!(
        c.to_vec2::<f32>().unwrap(),
        x.as_tensor().cumsum(1).unwrap().to_vec2::<f32>().unwrap()
    );
    let w = Tensor::new(&[[1f32, 10.0, 100.0], [2.0, 0.0, 1.0]], &dev).unwrap();
    let g = (c * w).unwrap().sum_all().unwrap().backward().unwrap();
    // d/dx_j Σ_i w_i·cumsum_i = Σ_{i≥j} w_i
    let gx = g.get(&x).unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(gx, vec![vec![111.0, 110.0, 100.0], vec![3.0, 1.0, 1.0]]);
}
