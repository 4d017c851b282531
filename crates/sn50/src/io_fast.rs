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
    fn number(&mut self) -> Option<f64> {
        self.ws();
        let b = self.b;
        if b[self.i..].starts_with(b"null") {
            self.i += 4;
            return Some(f64::NAN);
        }
        let start = self.i;
        let neg = b.get(self.i) == Some(&b'-');
        if neg {
            self.i += 1;
        }
        let (mut mant, mut digits, mut exp10) = (0u64, 0u32, 0i32);
        let mut any = false;
        let mut simple = true;
        while let Some(&c) = b.get(self.i).filter(|c| c.is_ascii_digit()) {
            any = true;
            if digits < 19 {
                mant = mant * 10 + u64::from(c - b'0');
                if mant > 0 {
                    digits += 1;
                }
            } else {
                simple = false;
            }
            self.i += 1;
        }
        let mut integral = true;
        if b.get(self.i) == Some(&b'.') {
            integral = false;
            self.i += 1;
            let mut frac = false;
            while let Some(&c) = b.get(self.i).filter(|c| c.is_ascii_digit()) {
                frac = true;
                if digits < 19 {
                    mant = mant * 10 + u64::from(c - b'0');
                    if mant > 0 {
                        digits += 1;
                    }
                    exp10 -= 1;
                } else {
                    simple = false;
                }
                self.i += 1;
            }
            if !frac {
                return None;
            }
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            integral = false;
            simple = false;
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let from = self.i;
            while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
            if self.i == from {
                return None;
            }
        }
        if !any {
            return None;
        }
        if integral && mant == 0 && simple {
            return Some(0.0);
        }
        if simple && mant <= (1u64 << 53) && (-22..=22).contains(&exp10) {
            // Clinger's fast path: one correctly rounded operation on exact operands.
            let m = mant as f64;
            let v = if exp10 >= 0 {
                m * POW10[exp10 as usize]
            } else {
                m / POW10[(-exp10) as usize]
            };
            return Some(if neg { -v } else { v });
        }
        std::str::from_utf8(&b[start..self.i]).ok()?.parse().ok()
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
