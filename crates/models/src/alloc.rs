//! Process-wide allocator tuning for tensor work on CPU.
//!
//! candle allocates a fresh buffer for every op's output. With glibc's defaults, buffers over
//! the mmap threshold (at most 32 MiB; attention scores at batch 32 × seq 256 are larger) are
//! mapped and unmapped on every op, so the kernel zeroes fresh pages again and again: a third
//! of a Transformer training step went to page faults. Keeping freed memory in the heap halves
//! the step time (see docs/models-neural.md). Call once, early, from a binary or a bench.

/// Serves every allocation from the heap and keeps freed memory for reuse (glibc on Linux; a
/// no-op elsewhere). Peak memory stays reserved by the process until it exits.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes glibc malloc parameters; the values are in range.
    unsafe {
        libc::mallopt(libc::M_MMAP_MAX, 0);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
