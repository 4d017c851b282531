//! A fast path for reading prediction files: a byte scanner for the one shape that matters (an
//! array of optional header numbers followed by arrays of numbers, possibly inside an object
//! under `"simulation_output"`). Anything unusual returns `None` and the caller falls back to the
//! serde reader, which produces the error message. Numbers are parsed exactly (correctly rounded),
//! so the result is bit-identical to serde_json's `float_roundtrip` and to Python's `float()`.

use crate::paths::PathSet;

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

/// Powers of ten exactly representable as f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The 8 bytes at `i` as a little-endian word, zero-padded past the end.
#[inline(always)]
fn load8(b: &[u8], i: usize) -> u64 {
    match b.get(i..i + 8) {
        Some(w) => u64::from_le_bytes(w.try_into().expect("8 bytes")),
        None => {
            let mut w = [0u8; 8];
            let tail = b.get(i..).unwrap_or(&[]);
            w[..tail.len()].copy_from_slice(tail);
            u64::from_le_bytes(w)
        }
    }
}

/// How many ASCII digits `w` (8 bytes, first byte lowest) starts with, and their value (SWAR).
#[inline(always)]
fn leading_digits(w: u64) -> (usize, u64) {
    const LOW: u64 = 0x0101_0101_0101_0101;
    // A byte is a digit iff its high nibble is 3 and adding 6 leaves it 3 (no carry crosses a
    // digit byte, and only the bytes before the first non-digit matter).
    let hi = w & (0xF0 * LOW);
    let hi6 = (w.wrapping_add(6 * LOW) & (0xF0 * LOW)) >> 4;
    let non_digit = (hi | hi6) ^ (0x33 * LOW);
    let n = (non_digit.trailing_zeros() / 8) as usize;
    if n == 0 {
        return (0, 0);
    }
    // Digit values, moved up so the missing leading digits read as zeros.
    let d = w.wrapping_sub(0x30 * LOW) << (8 * (8 - n));
    // Pairs, then quads, then all eight (fast_float's reduction).
    let d = d.wrapping_mul(10).wrapping_add(d >> 8);
    let mask = 0x0000_00FF_0000_00FF;
    let v = ((d & mask).wrapping_mul(100 + (1_000_000 << 32)))
        .wrapping_add(((d >> 16) & mask).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    (n, u64::from(v as u32))
}

/// 10^n as an integer (n ≤ 19; larger n give a value the caller never uses).
#[inline(always)]
fn pow10_u64(n: usize) -> u64 {
    const P: [u64; 20] = {
        let mut p = [1u64; 20];
        let mut i = 1;
        while i < 20 {
            p[i] = p[i - 1] * 10;
            i += 1;
        }
        p
    };
    P[n.min(19)]
}

impl<'a> Scanner<'a> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A JSON number (exactly rounded) or `null` (NaN).
    #[inline(always)]
    fn number(&mut self) -> Option<f64> {
        self.ws();
        let b = self.b;
        if b.get(self.i) == Some(&b'n') {
            b[self.i..].starts_with(b"null").then(|| self.i += 4)?;
            return Some(f64::NAN);
        }
        let start = self.i;
        let neg = b.get(self.i) == Some(&b'-');
        self.i += usize::from(neg);
        let int_at = self.i;
        let (int_digits, int_value) = self.digits();
        if int_digits == 0 || (int_digits > 1 && b[int_at] == b'0') {
            return None; // no digits, or a leading zero (not JSON)
        }
        let (mut frac_digits, mut mant) = (0, int_value);
        if b.get(self.i) == Some(&b'.') {
            self.i += 1;
            let (n, v) = self.digits();
            if n == 0 {
                return None;
            }
            frac_digits = n;
            mant = mant.wrapping_mul(pow10_u64(n)).wrapping_add(v);
        }
        let plain = !matches!(b.get(self.i), Some(b'e' | b'E'));
        if plain && int_digits + frac_digits <= 19 && mant <= 1 << 53 && frac_digits <= 22 {
            // Clinger's fast path: one correctly rounded operation on exact operands.
            let v = mant as f64 / POW10[frac_digits];
            return Some(if neg { -v } else { v });
        }
        if !plain {
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits().0 == 0 {
                return None;
            }
        }
        // Rare: long mantissas and exponents go through the standard library's exact parser.
        std::str::from_utf8(&b[start..self.i]).ok()?.parse().ok()
    }

    /// A run of ASCII digits: how many, and their value (meaningful for up to 19 digits).
    #[inline(always)]
    fn digits(&mut self) -> (usize, u64) {
        let (mut count, mut value) = (0, 0u64);
        loop {
            let (n, v) = leading_digits(load8(self.b, self.i));
            self.i += n;
            count += n;
            value = value.wrapping_mul(pow10_u64(n)).wrapping_add(v);
            if n < 8 {
                return (count, value);
            }
        }
    }

    /// Skips one JSON value of any kind.
    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => self.skip_string()?,
                b'[' | b'{' => {
                    depth += 1;
                    self.i += 1;
                }
                b']' | b'}' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                b',' | b':' if depth > 0 => self.i += 1,
                _ => {
                    let from = self.i;
                    while self.i < self.b.len()
                        && !matches!(
                            self.b[self.i],
                            b',' | b']' | b'}' | b' ' | b'\n' | b'\r' | b'\t'
                        )
                    {
                        self.i += 1;
                    }
                    if self.i == from {
                        return None;
                    }
                }
            }
            if depth == 0 {
                return Some(());
            }
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        self.i += 1;
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'\\' => self.i += 1,
                b'"' => return Some(()),
                _ => {}
            }
        }
        None
    }

    /// A string without escapes (keys); `None` if it has any.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        while let Some(&c) = self.b.get(self.i) {
            self.i += 1;
            match c {
                b'\\' => return None,
                b'"' => return Some(&self.b[start..self.i - 1]),
                _ => {}
            }
        }
        None
    }

    fn top(&mut self) -> Option<PathSet> {
        if self.peek()? == b'{' {
            self.i += 1;
            let mut found = None;
            if self.peek()? == b'}' {
                return None;
            }
            loop {
                let key = self.plain_string()?;
                self.eat(b':')?;
                if key == b"simulation_output" && found.is_none() {
                    found = Some(self.array()?);
                } else {
                    self.skip_value()?;
                }
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        return found;
                    }
                    _ => return None,
                }
            }
        }
        self.array()
    }

    fn array(&mut self) -> Option<PathSet> {
        self.eat(b'[')?;
        let mut data = Vec::new();
        let (mut n_paths, mut n_points, mut headers) = (0usize, None, 0usize);
        if self.peek()? == b']' {
            self.i += 1;
            return PathSet::from_flat(0, 0, data).ok();
        }
        loop {
            if self.peek()? == b'[' {
                let path_start = self.i;
                self.i += 1;
                let before = data.len();
                if self.peek()? != b']' {
                    loop {
                        data.push(self.number()?);
                        match self.peek()? {
                            b',' => self.i += 1,
                            b']' => break,
                            _ => return None,
                        }
                    }
                }
                self.i += 1;
                let got = data.len() - before;
                if n_points.is_none() {
                    // Room for as many more paths as the rest of the input could hold, judged
                    // by this first one, so the buffer does not grow (and copy) as it fills.
                    let path_bytes = (self.i - path_start).max(1);
                    let more = (self.b.len() - self.i) / path_bytes + 1;
                    data.reserve(more.min(1 << 20).saturating_mul(got));
                }
                if *n_points.get_or_insert(got) != got {
                    return None;
                }
                n_paths += 1;
            } else {
                if n_paths > 0 || headers >= 2 || self.number()?.is_nan() {
                    return None;
                }
                headers += 1;
            }
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return PathSet::from_flat(n_paths, n_points.unwrap_or(0), data).ok();
                }
                _ => return None,
            }
        }
    }
}

/// Parses a well-formed prediction quickly; `None` for anything the serde reader should handle.
pub(crate) fn parse_prediction_fast(json: &[u8]) -> Option<PathSet> {
    let mut s = Scanner { b: json, i: 0 };
    let out = s.top()?;
    s.ws();
    (s.i == json.len()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bits(p: &PathSet) -> Vec<u64> {
        p.as_flat().iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn numbers_parse_exactly() {
        let cases = [
            "0",
            "1",
            "12345678",
            "104856.23",
            "0.51234567",
            "1e-5",
            "1E+16",
            "-123.45",
            "99999.995",
            "0.00012345679",
            "5e-324",
            "1.7976931348623157e308",
            "123456789012345678901",
            "0.1000000000000000055511151231257827",
            "67123.456",
            "9007199254740993",
        ];
        for c in cases {
            let want: f64 = c.parse().unwrap();
            let mut s = Scanner {
                b: c.as_bytes(),
                i: 0,
            };
            let got = s.number().unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "{c}");
        }
    }

    fn parse_one(text: &str) -> Option<f64> {
        let mut s = Scanner {
            b: text.as_bytes(),
            i: 0,
        };
        s.number()
    }

    #[test]
    fn numbers_parse_exactly_at_every_length_and_position() {
        let mut r = 7u64;
        let mut next = move || {
            r ^= r << 13;
            r ^= r >> 7;
            r ^= r << 17;
            r
        };
        for i in 0..20_000 {
            let x = f64::from_bits(next() >> 2) * if i % 2 == 0 { 1.0 } else { -1.0 };
            let digits = (next() % 20) as usize;
            let y = (next() % 100_000_000) as f64 / 10f64.powi((next() % 12) as i32);
            for text in [
                format!("{x}"),
                format!("{x:e}"),
                format!("{x:.digits$e}"),
                format!("{y}"),
                format!("{y:.digits$}"),
                format!("{}", next() >> (next() % 64)),
            ] {
                let want: f64 = text.parse().unwrap();
                for tail in ["", ",", "]", " 1"] {
                    let got = parse_one(&format!("{text}{tail}"));
                    assert_eq!(got.map(f64::to_bits), Some(want.to_bits()), "{text}{tail}");
                }
            }
        }
        for bad in ["-", "1.", ".5", "01", "-01.5", "1e", "1e+", "+1", "nul"] {
            assert!(parse_one(bad).is_none(), "{bad}");
        }
        assert!(parse_one("null").unwrap().is_nan());
    }

    #[test]
    fn agrees_with_the_serde_reader() {
        let docs: [&[u8]; 5] = [
            b"[[1,2.5],[3,4]]",
            b" [ 1672531200 , 300 , [ 1 , 2.5 ] , [3,null] ] ",
            br#"{"simulation_input":{"a":"x\"]}","b":[1,{"c":2}]},"simulation_output":[1,300,[1.25,2],[3,4e2]],"z":null}"#,
            b"[]",
            b"[[]]",
        ];
        for d in docs {
            let fast = parse_prediction_fast(d).unwrap();
            let slow = crate::io::parse_prediction_serde(d).unwrap();
            assert_eq!(bits(&fast), bits(&slow), "{}", String::from_utf8_lossy(d));
            assert_eq!(
                (fast.n_paths(), fast.n_points()),
                (slow.n_paths(), slow.n_points())
            );
        }
    }

    #[test]
    fn leaves_odd_input_to_the_serde_reader() {
        for d in [
            &b"[[1,2],[3]]"[..],
            b"[[1,2],5]",
            b"[[\"1\"]]",
            b"{\"x\":1}",
            b"[[1.]]",
            b"[[1]] x",
            b"[1,2,3,[1]]",
        ] {
            assert!(
                parse_prediction_fast(d).is_none(),
                "{}",
                String::from_utf8_lossy(d)
            );
        }
    }
}
