//! Sorting one ensemble (one column of a miner's paths) for the CRPS kernel, fast, with buffers
//! reused from column to column.
//!
//! The kernel only needs the values in ascending order with NaN dropped; the order among equal
//! values (and of `-0.0` vs `0.0`) does not change its result (spec §4.5 rule 3).
//!
//! Method: each value is mapped to a 22-bit bucket by a monotone function of its value
//! (`round((x - min) * scale)`), the values are radix-sorted by bucket (two stable passes of 11
//! bits), and the rare runs of values sharing a bucket are then sorted exactly. Buckets spread
//! by value keep every radix digit busy, unlike the sign and exponent bits of the floats
//! themselves. Small, huge or non-finite ensembles use a comparison sort.

/// Bits per radix pass; two passes cover the bucket number.
const DIGIT_BITS: u32 = 11;
const DIGITS: usize = 1 << DIGIT_BITS;
const BUCKET_BITS: u32 = 2 * DIGIT_BITS;
/// Bits of a sort key below the bucket number: the value's index in the ensemble.
const INDEX_BITS: u32 = 16;
/// Ensembles smaller than this are sorted by comparison (the radix passes' fixed cost is larger).
const RADIX_MIN: usize = 256;

/// Reusable buffers that sort ensembles without allocating.
#[derive(Debug, Default)]
pub struct EnsembleSorter {
    values: Vec<f64>,
    keys: Vec<u64>,
    tmp: Vec<u64>,
    sorted: Vec<f64>,
}

impl EnsembleSorter {
    /// Buffers for ensembles of up to `capacity` members (they grow if a larger one comes).
    pub fn new(capacity: usize) -> Self {
        Self {
            values: Vec::with_capacity(capacity),
            keys: Vec::with_capacity(capacity),
            tmp: Vec::with_capacity(capacity),
            sorted: Vec::with_capacity(capacity),
        }
    }

    /// Sorts `values` ascending and returns them without their NaNs.
    pub fn sort(&mut self, values: impl ExactSizeIterator<Item = f64>) -> &[f64] {
        // Written by index with the NaNs skipped branch-free, min and max kept in registers.
        self.values.resize(values.len(), 0.0);
        let (mut lo, mut hi, mut n) = (f64::INFINITY, f64::NEG_INFINITY, 0);
        for (x, _) in values.zip(0..self.values.len()) {
            self.values[n] = x;
            n += usize::from(!x.is_nan());
            lo = if x < lo { x } else { lo };
            hi = if x > hi { x } else { hi };
        }
        self.values.truncate(n);
        // The largest bucket is 2^22 - 2, so rounding can never carry past the bucket bits.
        let scale = ((1u64 << BUCKET_BITS) - 2) as f64 / (hi - lo);
        let usable_scale = scale.is_finite() && scale > 0.0;
        if (RADIX_MIN..1 << INDEX_BITS).contains(&n) && usable_scale {
            self.bucket_sort(lo, scale);
        } else {
            self.comparison_sort();
        }
        &self.sorted
    }

    /// Sorts `values` into `sorted` through order-preserving integer keys.
    fn comparison_sort(&mut self) {
        self.keys.clear();
        self.keys.extend(self.values.iter().map(|&x| order_key(x)));
        self.keys.sort_unstable();
        self.sorted.clear();
        self.sorted
            .extend(self.keys.iter().map(|&k| from_order_key(k)));
    }

    /// Sorts `values` (all finite, `(max - lo) * scale < 2^22 - 1`) into `sorted`.
    fn bucket_sort(&mut self, lo: f64, scale: f64) {
        // Adding 2^52 rounds a value in [0, 2^52) to an integer held in the low mantissa bits.
        const ROUND: f64 = 4_503_599_627_370_496.0;
        const BUCKET_MASK: u64 = (1 << BUCKET_BITS) - 1;
        const DIGIT_MASK: u64 = DIGITS as u64 - 1;
        let n = self.values.len();
        // Counts fit in u16: there are fewer than 2^16 values.
        let mut hist = [[0u16; DIGITS]; 2];
        self.keys.clear();
        for (i, &x) in self.values.iter().enumerate() {
            let bucket = ((x - lo) * scale + ROUND).to_bits() & BUCKET_MASK;
            let (d0, d1) = (
                (bucket & DIGIT_MASK) as usize,
                (bucket >> DIGIT_BITS) as usize,
            );
            hist[0][d0] = hist[0][d0].wrapping_add(1);
            hist[1][d1] = hist[1][d1].wrapping_add(1);
            self.keys.push(bucket << INDEX_BITS | i as u64);
        }
        // Two stable passes, low digit then high digit: keys end up in `keys`, by bucket.
        self.tmp.resize(n, 0);
        for (pass, h) in hist.iter_mut().enumerate() {
            let mut sum = 0u16;
            for c in h.iter_mut() {
                (*c, sum) = (sum, sum.wrapping_add(*c));
            }
            let shift = INDEX_BITS + DIGIT_BITS * pass as u32;
            let (src, dst) = if pass == 0 {
                (&self.keys, &mut self.tmp)
            } else {
                (&self.tmp, &mut self.keys)
            };
            for &k in src {
                let d = ((k >> shift) & DIGIT_MASK) as usize;
                dst[usize::from(h[d])] = k;
                h[d] = h[d].wrapping_add(1);
            }
        }
        let index_mask = (1u64 << INDEX_BITS) - 1;
        self.sorted.clear();
        self.sorted.extend(
            self.keys
                .iter()
                .map(|&k| self.values[(k & index_mask) as usize]),
        );
        // Values that share a bucket are in input order: sort each such run.
        let same_bucket = |a: u64, b: u64| (a ^ b) >> INDEX_BITS == 0;
        let mut i = 1;
        while i < n {
            if same_bucket(self.keys[i - 1], self.keys[i]) {
                let start = i - 1;
                while i < n && same_bucket(self.keys[i - 1], self.keys[i]) {
                    i += 1;
                }
                self.sorted[start..i].sort_unstable_by(f64::total_cmp);
            }
            i += 1;
        }
    }
}

/// Maps an f64 to a u64 whose unsigned order is the float order (for non-NaN values).
#[inline(always)]
pub(crate) fn order_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 {
        !b
    } else {
        b | (1 << 63)
    }
}

/// The inverse of [`order_key`].
#[inline(always)]
pub(crate) fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(v: &[f64]) -> Vec<u64> {
        let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
        s.sort_by(f64::total_cmp);
        s.iter().map(|x| x.to_bits()).collect()
    }

    fn check(sorter: &mut EnsembleSorter, v: &[f64]) {
        let got: Vec<u64> = sorter
            .sort(v.iter().copied())
            .iter()
            .map(|x| x.to_bits())
            .collect();
        assert_eq!(got, reference(v), "{v:?}");
    }

    #[test]
    fn sorts_like_a_comparison_sort() {
        let mut s = EnsembleSorter::new(4);
        check(&mut s, &[]);
        check(&mut s, &[f64::NAN, f64::NAN]);
        check(
            &mut s,
            &[
                3.5,
                f64::NAN,
                -0.0,
                f64::NEG_INFINITY,
                1e-300,
                -2.0,
                0.0,
                f64::INFINITY,
                -1e-300,
                -f64::NAN,
            ],
        );
        // Neighbouring floats, in runs short and long.
        for len in [3usize, 30, 300] {
            let v: Vec<f64> = (0..len)
                .map(|i| f64::from_bits(1.5f64.to_bits() + ((i * 7919) % len) as u64))
                .collect();
            check(&mut s, &v);
        }
        // Shapes that take the bucket path: a tight cluster with one far outlier (most values
        // share a bucket), many repeats, signed zeros, a few NaN.
        let mut v: Vec<f64> = (0..999).map(|i| 1.0 + f64::from(i % 37) * 1e-12).collect();
        v.push(1e6);
        check(&mut s, &v);
        v[500] = -1e6;
        v[7] = f64::NAN;
        check(&mut s, &v);
        let v: Vec<f64> = (0..1000)
            .map(|i| [0.0, -0.0, 3.25, -7.5][i % 4] + if i % 9 == 0 { 1e-300 } else { 0.0 })
            .collect();
        check(&mut s, &v);
        let v: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { 5.0 } else { f64::INFINITY })
            .collect();
        check(&mut s, &v);
        // Pseudo-random returns and prices, some repeated, some NaN.
        let mut r = 12345u64;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        for _ in 0..50 {
            let v: Vec<f64> = (0..1000)
                .map(|_| match next() % 50 {
                    0 => f64::NAN,
                    1 => 12.5,
                    2 => -0.0,
                    3 => f64::from_bits(next()),
                    _ => (next() >> 11) as f64 / (1u64 << 53) as f64 * 80.0 - 40.0,
                })
                .collect();
            check(&mut s, &v);
            let prices: Vec<f64> = v.iter().map(|x| 67_000.0 + x).collect();
            check(&mut s, &prices);
            let finite: Vec<f64> = v
                .iter()
                .map(|&x| if x.is_finite() { x } else { 1.0 })
                .collect();
            check(&mut s, &finite);
            let heavy: Vec<f64> = finite.iter().map(|&x| 1.0 / (x + 0.5)).collect();
            check(&mut s, &heavy);
        }
    }

    #[test]
    fn keys_round_trip() {
        for x in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            f64::MIN_POSITIVE,
            f64::MAX,
            f64::NEG_INFINITY,
        ] {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
        }
        assert!(order_key(-1.0) < order_key(-0.0) && order_key(-0.0) < order_key(0.0));
    }
}
