//! The floating-point environment of the threads that train and sample: flush-to-zero (FTZ)
//! and denormals-are-zero (DAZ).
//!
//! Why: recurrent backward passes (LSTM / GRU back-propagation through time multiplies the
//! gradient by gate derivatives below one, step after step) decay into denormal floats
//! (|x| < 1.2e-38 in f32). On Intel CPUs every operation on a denormal takes a microcode
//! assist of ~100 cycles: a 2-layer LSTM training step was measured ~15× slower on a Xeon
//! (891 ms as shipped, 61 ms with FTZ + DAZ; issue 22). With FTZ + DAZ the CPU reads and writes
//! them as zero, as PyTorch does under `torch.set_flush_denormal(True)`; values that small
//! carry nothing for training or sampling.
//!
//! The setting lives in a per-thread register (MXCSR on x86_64, FPCR on aarch64; a no-op
//! elsewhere). [`flush_denormals`] is the one place that sets it. It is applied
//! - to every rayon worker, for the life of the process (the global pool's start handler,
//!   [`install`]; the fused ops' parallel loops and `gemm` run there, nothing else does);
//! - to the thread that trains or samples, for the length of the call: `train::fit` and
//!   `NeuralModel::sample_window` (so every forecast) run inside [`with_flushed_denormals`],
//!   on whichever thread calls them (the CLI's main thread, a tokio blocking thread, a test);
//! - tokio runtimes that only train or sample may pass [`flush_denormals`] to their builder's
//!   `on_thread_start`; the miner's and bridge's runtimes do not, because they format answers
//!   and score.
//!
//! Why not every thread: sn50 is not bit-exact under DAZ everywhere. Its golden vectors were
//! run with FTZ + DAZ set for the whole process (2026-12-06, AMD EPYC Zen 4): every CRPS, grid
//! and property test gave the same bits, but Python-`repr` formatting of the denormal 5e-324
//! printed "0.0"; and the validators' reward softmax `exp(βx − max)` underflows into denormals
//! for score gaps beyond ~708/|β|. Threads that answer, score or compute rewards therefore keep
//! IEEE denormals, and [`with_ieee_denormals`] restores them inside a flushed scope.

use std::sync::Once;

/// The per-thread control register's value.
#[cfg(target_arch = "x86_64")]
type Reg = u32;
/// MXCSR bits: flush-to-zero (15) and denormals-are-zero (6).
#[cfg(target_arch = "x86_64")]
const FLUSH: Reg = (1 << 15) | (1 << 6);

#[cfg(target_arch = "x86_64")]
fn read() -> Reg {
    #[allow(deprecated)]
    // SAFETY: reading MXCSR has no side effects; SSE is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_getcsr()
    }
}

#[cfg(target_arch = "x86_64")]
fn write(v: Reg) {
    #[allow(deprecated)]
    // SAFETY: callers change only the FTZ / DAZ bits of a value read from MXCSR, so rounding
    // and exception masks stay as the thread had them.
    unsafe {
        std::arch::x86_64::_mm_setcsr(v)
    }
}

#[cfg(target_arch = "aarch64")]
type Reg = u64;
/// FPCR bit 24: flush-to-zero (inputs and results) on aarch64.
#[cfg(target_arch = "aarch64")]
const FLUSH: Reg = 1 << 24;

#[cfg(target_arch = "aarch64")]
fn read() -> Reg {
    let v: Reg;
    // SAFETY: reading FPCR has no side effects.
    unsafe { std::arch::asm!("mrs {}, fpcr", out(reg) v, options(nomem, nostack)) };
    v
}

#[cfg(target_arch = "aarch64")]
fn write(v: Reg) {
    // SAFETY: callers change only the FZ bit of a value read from FPCR.
    unsafe { std::arch::asm!("msr fpcr, {}", in(reg) v, options(nomem, nostack)) };
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
type Reg = u32;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
const FLUSH: Reg = 0;
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn read() -> Reg {
    0
}
#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn write(_: Reg) {}

/// Whether this target can flush denormals ([`flush_denormals`] is a no-op elsewhere).
pub const SUPPORTED: bool = FLUSH != 0;

/// Sets flush-to-zero and denormals-are-zero on the calling thread (see the module docs for
/// why). Fits tokio's `on_thread_start` and rayon's `start_handler` as is.
pub fn flush_denormals() {
    write(read() | FLUSH);
}

/// Whether the calling thread flushes denormals (always false where unsupported).
pub fn denormals_flushed() -> bool {
    SUPPORTED && read() & FLUSH == FLUSH
}

/// Restores a saved register value when dropped.
struct Restore(Reg);

impl Drop for Restore {
    fn drop(&mut self) {
        write(self.0);
    }
}

/// Runs `f` with IEEE denormals (FTZ and DAZ off) on the calling thread and restores the
/// thread's setting afterwards, also when `f` panics: for arithmetic that must match the
/// validators bit for bit (sn50 scoring and rewards).
pub fn with_ieee_denormals<R>(f: impl FnOnce() -> R) -> R {
    let saved = read();
    write(saved & !FLUSH);
    let _restore = Restore(saved);
    // Opaque to the optimiser, so `f`'s arithmetic is not moved across the register writes.
    std::hint::black_box(f)()
}

/// Flushes denormals in every rayon worker: builds the global rayon pool (`RAYON_NUM_THREADS`
/// is honoured as by default) with [`flush_denormals`] as its start handler, once per process;
/// if the global pool already exists, every worker is set through a broadcast instead. Called
/// by [`with_flushed_denormals`]; binaries and benches may call it early.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let built = rayon::ThreadPoolBuilder::new()
            .start_handler(|_| flush_denormals())
            .build_global();
        if built.is_err() {
            rayon::broadcast(|_| flush_denormals());
        }
    });
}

/// Runs `f` with denormals flushed on the calling thread (and, through [`install`], in every
/// rayon worker), then restores the calling thread's setting, also when `f` panics: the scope
/// of training and sampling.
pub fn with_flushed_denormals<R>(f: impl FnOnce() -> R) -> R {
    install();
    let saved = read();
    write(saved | FLUSH);
    let _restore = Restore(saved);
    std::hint::black_box(f)()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ieee_scope_restores_the_thread_setting() {
        std::thread::spawn(|| {
            let tiny = std::hint::black_box(1e-40f32);
            flush_denormals();
            assert_eq!(denormals_flushed(), SUPPORTED);
            let inside = with_ieee_denormals(|| {
                assert!(!denormals_flushed());
                std::hint::black_box(tiny) * std::hint::black_box(1.0f32)
            });
            assert_eq!(inside, 1e-40);
            assert_eq!(denormals_flushed(), SUPPORTED);
        })
        .join()
        .unwrap();
    }
}
