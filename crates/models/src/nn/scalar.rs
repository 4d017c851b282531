//! Scalar activations for the fused CPU ops, branch-free so that loops over them vectorise:
//! `exp` (Cephes' polynomial with the exponent set by bits: libm's `expf` is a call per
//! element and was a tenth of an LSTM training step), `tanh` through one `exp` (libm's
//! `tanhf` goes through `expm1f`), and `sigmoid`.

/// e^x to about 2 f32 ulps for x in [−87, 88]; inputs outside are clamped there (so e^x is
/// never 0 or ∞: about 1.6e−38 and 1.7e38), NaN stays NaN.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Round to nearest by the 1.5·2²³ trick (no `round` call, so it vectorises).
    const SHIFT: f32 = 12_582_912.0;
    let x = x.clamp(-87.0, 88.0);
    let shifted = x * LOG2E + SHIFT;
    let n = shifted - SHIFT;
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // 2ⁿ for n in [−126, 127]: n is the low mantissa bits of `shifted` (integer arithmetic
    // only — a float-to-int cast is scalar with its saturation checks). NaN inputs give
    // garbage bits here, but `e` is NaN then.
    let n_bits = shifted.to_bits().wrapping_sub(SHIFT.to_bits());
    let scale = f32::from_bits(n_bits.wrapping_add(127) << 23);
    e * scale
}

/// tanh(u) = 1 − 2/(e^{2u} + 1), to within 3e−7 absolute.
#[inline(always)]
pub fn tanh(u: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * u) + 1.0)
}

/// 1 / (1 + e^{−x}).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[cfg(test)]
mod tests {
    #[test]
    fn exp_is_within_a_few_ulps_of_std() {
        let mut worst = 0f32;
        for k in -870_000..=880_000 {
            let x = k as f32 * 1e-4;
            let (ours, std) = (super::exp(x), x.exp());
            worst = worst.max(((ours - std) / std).abs());
        }
        assert!(worst < 3e-7, "worst relative error {worst}");
        assert_eq!(super::exp(0.0), 1.0);
        assert!(super::exp(-1e4) > 0.0 && super::exp(1e4).is_finite());
        assert!(super::exp(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_and_sigmoid_are_close_to_std_everywhere() {
        let mut worst = 0f32;
        for k in -200_000..=200_000 {
            let u = k as f32 * 1e-4;
            worst = worst.max((super::tanh(u) - u.tanh()).abs());
            let s = 1.0 / (1.0 + (-u).exp());
            worst = worst.max((super::sigmoid(u) - s).abs());
        }
        assert!(worst < 3e-7, "worst abs error {worst}");
        assert_eq!(super::tanh(0.0), 0.0);
        assert_eq!(super::tanh(50.0), 1.0);
        assert_eq!(super::tanh(-50.0), -1.0);
        assert_eq!(super::sigmoid(0.0), 0.5);
    }
}
