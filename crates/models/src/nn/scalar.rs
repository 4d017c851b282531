//! Scalar activations for the fused CPU ops: `tanh` through one `exp` (libm's `tanhf` goes
//! through `expm1f` and was a third of an LSTM training step) and `sigmoid`.

/// tanh(u) to within a few f32 ulps: a series near 0, 1 − 2/(e^{2|u|} + 1) elsewhere, ±1 far out.
pub fn tanh(u: f32) -> f32 {
    let a = u.abs();
    if a < 0.0625 {
        let u2 = u * u;
        return u * (1.0 - u2 / 3.0 + 2.0 * u2 * u2 / 15.0);
    }
    if a > 9.0 {
        return u.signum();
    }
    (1.0 - 2.0 / ((2.0 * a).exp() + 1.0)).copysign(u)
}

/// 1 / (1 + e^{−x}).
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

#[cfg(test)]
mod tests {
    #[test]
    fn tanh_is_close_to_std_everywhere() {
        let mut worst = 0f32;
        for k in -200_000..=200_000 {
            let u = k as f32 * 1e-4;
            worst = worst.max((super::tanh(u) - u.tanh()).abs());
        }
        assert!(worst < 3e-7, "worst abs error {worst}");
        assert_eq!(super::tanh(0.0), 0.0);
        assert_eq!(super::tanh(50.0), 1.0);
        assert_eq!(super::tanh(-50.0), -1.0);
    }
}
