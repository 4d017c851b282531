//! `simd_fn!`: a function whose body is compiled three times — for the baseline target, for
//! AVX2 and for AVX-512 — and which runs the widest build the CPU has (decided once per process,
//! capped by [`CAP_VAR`]). The fused ops' elementwise loops are written to vectorise; with AVX2 they run 8 lanes
//! wide instead of SSE2's 4, with AVX-512 16. The builds compute the same values (no fast-math,
//! no FMA contraction: LLVM only widens the loops; `tests` checks it). The body must not
//! return a value.

/// Instruction-set levels of the `simd_fn!` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The baseline target (SSE2 on x86_64).
    Scalar,
    /// AVX2.
    Avx2,
    /// AVX-512 (F, BW, DQ, VL).
    Avx512,
}

/// The widest level this CPU runs.
pub fn detected() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl")
        {
            return Level::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Scalar
}

#[cfg(test)]
thread_local! {
    /// Tests cap the level on their own thread to compare the builds.
    pub static CAP: std::cell::Cell<Level> = const { std::cell::Cell::new(Level::Avx512) };
}

/// The environment variable that caps the level (`sse2`, `avx2` or `avx512`): for benchmarks
/// that emulate a narrower CPU on a wider one ("AVX-512 disabled on a Zen 4"). The builds
/// compute the same values, so only speed changes.
pub const CAP_VAR: &str = "SYNTH_CITY_SIMD_MAX";

/// The level a [`CAP_VAR`] value names (case-insensitive), if any.
pub fn parse_cap(v: &str) -> Option<Level> {
    match v.trim().to_ascii_lowercase().as_str() {
        "sse2" | "scalar" | "baseline" => Some(Level::Scalar),
        "avx2" => Some(Level::Avx2),
        "avx512" | "avx-512" => Some(Level::Avx512),
        _ => None,
    }
}

/// The cap [`CAP_VAR`] sets: unset means none, an unknown value is logged and ignored.
fn env_cap() -> Level {
    match std::env::var(CAP_VAR) {
        Ok(v) => parse_cap(&v).unwrap_or_else(|| {
            tracing::warn!("{CAP_VAR}={v:?} is not sse2, avx2 or avx512; not capping");
            Level::Avx512
        }),
        Err(_) => Level::Avx512,
    }
}

/// The detected level capped by [`CAP_VAR`], decided once per process.
fn process_level() -> Level {
    static LEVEL: std::sync::OnceLock<Level> = std::sync::OnceLock::new();
    *LEVEL.get_or_init(|| detected().min(env_cap()))
}

/// The level `simd_fn!` runs at on this thread: the detected one, capped by [`CAP_VAR`] (and
/// in tests by the thread's cap).
#[inline]
pub fn level() -> Level {
    #[cfg(test)]
    return process_level().min(CAP.with(|c| c.get()));
    #[cfg(not(test))]
    process_level()
}

macro_rules! simd_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
                unsafe fn avx512($($arg: $ty),*) {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                match $crate::nn::simd::level() {
                    // SAFETY: the CPU supports AVX-512 F/BW/DQ/VL.
                    $crate::nn::simd::Level::Avx512 => return unsafe { avx512($($arg),*) },
                    // SAFETY: the CPU supports AVX2.
                    $crate::nn::simd::Level::Avx2 => return unsafe { avx2($($arg),*) },
                    $crate::nn::simd::Level::Scalar => {}
                }
            }
            body($($arg),*)
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` once per level up to the detected one, on this thread.
    fn at_each_level<T>(mut f: impl FnMut() -> T) -> Vec<(Level, T)> {
        let levels = [Level::Scalar, Level::Avx2, Level::Avx512];
        let out = levels
            .into_iter()
            .filter(|&l| l <= detected())
            .map(|l| {
                CAP.with(|c| c.set(l));
                (l, f())
            })
            .collect();
        CAP.with(|c| c.set(Level::Avx512));
        out
    }

    /// Values with every sign, tiny and large magnitudes, and a length that leaves remainders
    /// after 16-, 8- and 4-wide chunks.
    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 * 0.731 + seed;
                t.sin() * (1.0 + 9.0 * (t * 0.37).cos().abs()) * if i % 7 == 0 { 1e-3 } else { 1.0 }
            })
            .collect()
    }

    #[test]
    fn the_cap_variable_names_each_level_and_nothing_else() {
        assert_eq!(parse_cap("avx2"), Some(Level::Avx2));
        assert_eq!(parse_cap(" AVX512 "), Some(Level::Avx512));
        assert_eq!(parse_cap("sse2"), Some(Level::Scalar));
        assert_eq!(parse_cap("avx3"), None);
        assert_eq!(parse_cap(""), None);
    }

    #[test]
    fn every_build_gives_the_scalar_results() {
        let levels = at_each_level(|| ());
        eprintln!(
            "simd levels tested: {:?}",
            levels.iter().map(|l| l.0).collect::<Vec<_>>()
        );
        let x = values(1000 + 13, 0.3);
        let g = values(1000 + 13, 1.7);
        let runs = at_each_level(|| {
            let mut gelu = x.clone();
            super::super::gelu::gelu_in_place(&mut gelu);
            let mut slope = g.clone();
            super::super::gelu::gelu_grad_in_place(&mut slope, &x);
            let mut soft = x.clone();
            super::super::softmax::softmax_in_place(&mut soft, 0.25);
            let ln = super::super::layernorm::test_rows(&x, &g, 29);
            let (mut both, mut slope2) = (x.clone(), vec![0f32; x.len()]);
            super::super::gelu::gelu_and_slope(&mut both, &mut slope2);
            let mut prod = g.clone();
            super::super::gelu::mul_in_place(&mut prod, &x);
            let (mut rows, mut inv) = (x.clone(), vec![0f32; x.len() / 29]);
            super::super::softmax::exp_rows(&mut rows, 29, 0.25, &mut inv);
            [gelu, slope, soft, ln, both, slope2, prod, rows, inv]
        });
        let (_, want) = &runs[0];
        for (level, got) in &runs[1..] {
            for (k, (w, g)) in want.iter().zip(got).enumerate() {
                let same = w.iter().zip(g).all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(
                    same,
                    "{level:?} differs from the scalar build in output {k}"
                );
            }
        }
    }
}
