//! The floating-point primitives of numpy and pandas that the validator's scores go through,
//! reproduced bit for bit.

use crate::sort::{from_order_key, order_key};

/// numpy's pairwise sum of a contiguous f64 array (`np.sum`), added to the identity `0.0`.
pub fn numpy_sum(v: &[f64]) -> f64 {
    0.0 + pairwise(v)
}

fn pairwise(v: &[f64]) -> f64 {
    let n = v.len();
    if n < 8 {
        let mut res = 0.0;
        for &x in v {
            res += x;
        }
        res
    } else if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&v[..8]);
        let main = n - n % 8;
        let mut i = 8;
        while i < main {
            for j in 0..8 {
                r[j] += v[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &v[main..] {
            res += x;
        }
        res
    } else {
        let mut n2 = n / 2;
        n2 -= n2 % 8;
        pairwise(&v[..n2]) + pairwise(&v[n2..])
    }
}

/// pandas' compensated (Kahan) sum as its cython `group_sum` runs it, in the given order.
pub fn kahan_sum(values: impl IntoIterator<Item = f64>) -> f64 {
    let (mut s, mut c) = (0.0f64, 0.0f64);
    for v in values {
        let y = v - c;
        let t = s + y;
        c = (t - s) - y;
        if c.is_nan() {
            c = 0.0;
        }
        s = t;
    }
    s
}

/// numpy `percentile(x, q)` with the default "linear" method; NaN for an empty slice.
pub fn percentile_linear(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut s = x.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let vi = (n - 1) as f64 * (q / 100.0);
    if vi >= (n - 1) as f64 {
        return s[n - 1];
    }
    if vi < 0.0 {
        return s[0];
    }
    let lo = vi.floor();
    let g = vi - lo;
    let lo = lo as usize;
    let d = s[lo + 1] - s[lo];
    if g >= 0.5 {
        s[lo + 1] - d * (1.0 - g)
    } else {
        s[lo] + d * g
    }
}

/// properscoring's ensemble CRPS (the numba kernel) of `obs` against an ensemble that is already
/// sorted ascending with NaN members, if any, at the end.
pub fn crps_sorted(obs: f64, sorted: &[f64]) -> f64 {
    let n_valid = sorted
        .iter()
        .position(|x| x.is_nan())
        .unwrap_or(sorted.len());
    crps_kernel(obs, &sorted[..n_valid])
}

/// The numba kernel on an ascending ensemble without NaN members (spec §4.4), split at the
/// observation into its two phases; the floating-point operations and their order are the
/// kernel's own.
pub(crate) fn crps_kernel(obs: f64, sorted: &[f64]) -> f64 {
    if obs.is_nan() || sorted.is_empty() {
        // The kernel sets the integral to NaN on a leading NaN (and an empty ensemble is an error).
        return f64::NAN;
    }
    // The kernel adds 1.0 once per member, which is exactly the member count.
    let total_weight = sorted.len() as f64;
    let step = 1.0 / total_weight;
    let mut forecast_cdf = 0.0f64;
    let mut prev = 0.0f64;
    let mut integral = 0.0f64;
    // Members at or below the observation (the observation's CDF is 0 there).
    let below = sorted.iter().take_while(|&&f| f <= obs).count(); // no NaN on either side
    for &f in &sorted[..below] {
        integral += (f - prev) * (forecast_cdf * forecast_cdf);
        forecast_cdf += step;
        prev = f;
    }
    let Some((&f, above)) = sorted[below..].split_first() else {
        return integral + (obs - prev);
    };
    // The first member above the observation: the CDFs cross.
    integral += (obs - prev) * (forecast_cdf * forecast_cdf);
    integral += (f - obs) * ((forecast_cdf - 1.0) * (forecast_cdf - 1.0));
    forecast_cdf += step;
    prev = f;
    // The rest (the observation's CDF is 1).
    for &f in above {
        let d = forecast_cdf - 1.0;
        integral += (f - prev) * (d * d);
        forecast_cdf += step;
        prev = f;
    }
    integral
}

/// Sorts an ensemble the way `np.sort` does for the kernel: ascending, NaN last.
///
/// Sorts order-preserving integer keys of the values (faster than comparing floats); the order
/// among equal values (and of `-0.0` vs `0.0`) does not change the kernel's result.
pub fn sort_nan_last(v: &mut [f64]) {
    let mut keys: Vec<u64> = v
        .iter()
        .filter(|x| !x.is_nan())
        .map(|&x| order_key(x))
        .collect();
    keys.sort_unstable();
    let k = keys.len();
    for (o, &key) in v.iter_mut().zip(&keys) {
        *o = from_order_key(key);
    }
    v[k..].fill(f64::NAN);
}

/// properscoring's `crps_ensemble(obs, forecasts)` for one observation (sorts a copy).
pub fn crps_ensemble(obs: f64, forecasts: &[f64]) -> f64 {
    let mut v = forecasts.to_vec();
    sort_nan_last(&mut v);
    crps_sorted(obs, &v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_matches_numpy_structure() {
        // Small sums are sequential.
        assert_eq!(numpy_sum(&[0.1, 0.2, 0.3]), (0.1 + 0.2) + 0.3);
        // -0.0 + 0.0 identity gives +0.0 as numpy does.
        assert_eq!(numpy_sum(&[-0.0]).to_bits(), 0.0f64.to_bits());
        // 8..=128: eight accumulators.
        let v: Vec<f64> = (0..10).map(|i| 0.1 * i as f64).collect();
        let r: Vec<f64> = (0..8).map(|j| v[j]).collect();
        let want = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7])) + v[8] + v[9];
        assert_eq!(numpy_sum(&v), want);
        assert_eq!(numpy_sum(&[]), 0.0);
    }

    #[test]
    fn percentile_vectors() {
        assert_eq!(percentile_linear(&[1000.0, 1500.0, 2000.0], 90.0), 1900.0);
        assert_eq!(percentile_linear(&[1000.0], 90.0), 1000.0);
        assert_eq!(percentile_linear(&[1.0, 2.0, 3.0, 4.0], 50.0), 2.5);
    }

    #[test]
    fn kahan_compensates() {
        assert_eq!(kahan_sum([0.1; 10]), 1.0);
        assert_eq!(
            [0.1f64; 10].iter().fold(0.0, |a, b| a + b),
            0.9999999999999999
        );
    }

    #[test]
    fn sort_puts_nan_last_and_keeps_values() {
        let mut v = [
            3.5,
            f64::NAN,
            -0.0,
            f64::NEG_INFINITY,
            1e-300,
            -2.0,
            0.0,
            f64::INFINITY,
            -1e-300,
        ];
        sort_nan_last(&mut v);
        let want = [
            f64::NEG_INFINITY,
            -2.0,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            3.5,
            f64::INFINITY,
        ];
        assert_eq!(
            v[..8].iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
        assert!(v[8].is_nan());
    }

    /// The numba kernel as properscoring writes it (one loop, an `obs_cdf` flag), spec §4.4.
    fn numba_kernel(obs: f64, sorted: &[f64]) -> f64 {
        if obs.is_nan() {
            return f64::NAN;
        }
        let mut total_weight = 0.0f64;
        for &f in sorted {
            if f.is_nan() {
                break;
            }
            total_weight += 1.0;
        }
        let (mut obs_cdf, mut forecast_cdf, mut prev, mut integral) = (0.0, 0.0, 0.0, 0.0);
        let mut last = 0.0;
        for (n, &f) in sorted.iter().enumerate() {
            if f.is_nan() {
                if n == 0 {
                    integral = f64::NAN;
                }
                last = prev;
                break;
            }
            if obs_cdf == 0.0 && obs < f {
                integral += (obs - prev) * (forecast_cdf * forecast_cdf);
                integral += (f - obs) * ((forecast_cdf - 1.0) * (forecast_cdf - 1.0));
                obs_cdf = 1.0;
            } else {
                let d: f64 = forecast_cdf - obs_cdf;
                integral += (f - prev) * (d * d);
            }
            forecast_cdf += 1.0 / total_weight;
            prev = f;
            last = f;
        }
        if obs_cdf == 0.0 {
            integral += obs - last;
        }
        integral
    }

    #[test]
    fn two_phase_kernel_is_the_numba_kernel_bit_for_bit() {
        let mut r = 99u64;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        for case in 0..2000 {
            let len = 1 + (next() % 40) as usize;
            let mut v: Vec<f64> = (0..len)
                .map(|_| match next() % 20 {
                    0 => f64::NAN,
                    1 => 0.0,
                    2 => -0.0,
                    3 => 1.5,
                    _ => (next() >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0,
                })
                .collect();
            sort_nan_last(&mut v);
            let obs = match case % 5 {
                0 => 1.5,
                1 => v.first().copied().unwrap_or(0.0),
                2 => v.last().copied().unwrap_or(0.0),
                3 => 100.0,
                _ => (next() >> 11) as f64 / (1u64 << 53) as f64 * 20.0 - 10.0,
            };
            let (a, b) = (crps_sorted(obs, &v), numba_kernel(obs, &v));
            assert!(
                a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                "{obs} {v:?}"
            );
        }
    }

    #[test]
    fn crps_kernel_basics() {
        // A point forecast scores the absolute error.
        assert_eq!(crps_ensemble(3.0, &[1.0]), 2.0);
        assert_eq!(crps_ensemble(1.0, &[3.0]), 2.0);
        // NaN members are ignored; all-NaN and NaN obs give NaN.
        assert_eq!(
            crps_ensemble(2.0, &[f64::NAN, 1.0, 3.0]),
            crps_ensemble(2.0, &[1.0, 3.0])
        );
        assert!(crps_ensemble(2.0, &[f64::NAN]).is_nan());
        assert!(crps_ensemble(f64::NAN, &[1.0]).is_nan());
        // mean|y-x| - 0.5 mean|x-x'| = 1 - 0.5 * 1 = 0.5
        assert_eq!(crps_ensemble(2.0, &[1.0, 3.0]), 0.5);
    }
}
