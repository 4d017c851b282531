//! Learning-rate schedule: linear warm-up, then cosine decay to `floor × peak`.

/// The learning rate at optimiser step `step` (0-based) of `total`, after `warmup` warm-up
/// steps, peaking at `peak` and ending at `floor_frac · peak`.
pub fn lr_at(step: usize, total: usize, warmup: usize, peak: f64, floor_frac: f64) -> f64 {
    if warmup > 0 && step < warmup {
        return peak * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).max(1) as f64;
    let progress = ((step.saturating_sub(warmup)) as f64 / span).clamp(0.0, 1.0);
    let floor = peak * floor_frac;
    floor + (peak - floor) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}
