//! `simd_fn!`: a function whose body is compiled twice — for the baseline target and for
//! AVX2 — and which runs the AVX2 build where the CPU has it (checked once, cached by std).
//! The fused ops' elementwise loops are written to vectorise; with AVX2 they run 8 lanes
//! wide instead of SSE2's 4. The body must not return a value.

macro_rules! simd_fn {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$m])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    body($($arg),*)
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2.
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
