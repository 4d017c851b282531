//! Reading predictions and realised prices from JSON without an intermediate tree (a LOW
//! response is ~3 MB of numbers).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::paths::PathSet;

/// Parses a prediction: a JSON array of paths, an SN50 `simulation_output`
/// (`[start, increment, path, …]`), or an object holding one under `"simulation_output"`.
/// `null` prices read as NaN. Errors name what is wrong (ragged paths, non-numbers, …).
pub fn parse_prediction(json: &[u8]) -> Result<PathSet, serde_json::Error> {
    match crate::io_fast::parse_prediction_fast(json) {
        Some(p) => Ok(p),
        None => parse_prediction_serde(json),
    }
}

/// The serde reader behind [`parse_prediction`]: slower, with precise error messages.
pub(crate) fn parse_prediction_serde(json: &[u8]) -> Result<PathSet, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let acc = Top.deserialize(&mut de)?;
    de.end()?;
    PathSet::from_flat(acc.n_paths, acc.n_points.unwrap_or(0), acc.data).map_err(de::Error::custom)
}

/// Parses realised prices: a JSON array of numbers with `null` for missing points (NaN).
pub fn parse_real(json: &[u8]) -> Result<Vec<f64>, serde_json::Error> {
    let v: Vec<Option<f64>> = serde_json::from_slice(json)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

#[derive(Default)]
struct Acc {
    data: Vec<f64>,
    n_paths: usize,
    n_points: Option<usize>,
    headers: usize,
}

struct Top;

impl<'de> DeserializeSeed<'de> for Top {
    type Value = Acc;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Acc, D::Error> {
        d.deserialize_any(TopVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Acc;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(
            "an array of paths, a simulation_output array, or an object with simulation_output",
        )
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Acc, A::Error> {
        let mut acc = Acc::default();
        while seq.next_element_seed(Element(&mut acc))?.is_some() {}
        Ok(acc)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Acc, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == "simulation_output" && found.is_none() {
                found = Some(map.next_value_seed(Top)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        found.ok_or_else(|| de::Error::missing_field("simulation_output"))
    }
}

/// One element of the top-level array: a header number (start time, increment) or a path.
struct Element<'a>(&'a mut Acc);

impl<'de> DeserializeSeed<'de> for Element<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Element<'_> {
    fn header<E: de::Error>(self) -> Result<(), E> {
        if self.0.n_paths > 0 || self.0.headers >= 2 {
            return Err(E::custom(
                "a number where a path was expected (only the start time and increment may precede the paths)",
            ));
        }
        self.0.headers += 1;
        Ok(())
    }
}

impl<'de> Visitor<'de> for Element<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a path (array of prices)")
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.header()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.header()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.header()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let acc = self.0;
        let before = acc.data.len();
        while let Some(p) = seq.next_element::<Option<f64>>()? {
            acc.data.push(p.unwrap_or(f64::NAN));
        }
        let got = acc.data.len() - before;
        let expected = *acc.n_points.get_or_insert(got);
        if got != expected {
            return Err(de::Error::custom(format!(
                "path {} has {got} points, expected {expected} (ragged paths)",
                acc.n_paths
            )));
        }
        acc.n_paths += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_all_three_shapes() {
        let want = PathSet::from_rows(&[vec![1.0, 2.5], vec![3.0, 4.0]]).unwrap();
        assert_eq!(parse_prediction(b"[[1,2.5],[3,4]]").unwrap(), want);
        assert_eq!(
            parse_prediction(b"[1672531200, 300, [1,2.5],[3,4]]").unwrap(),
            want
        );
        let obj =
            br#"{"simulation_input":{"asset":"BTC"},"simulation_output":[1,300,[1,2.5],[3,4]]}"#;
        assert_eq!(parse_prediction(obj).unwrap(), want);
        let nan = parse_prediction(b"[[1,null]]").unwrap();
        assert!(nan.path(0)[1].is_nan());
    }

    #[test]
    fn rejects_bad_input_with_reasons() {
        let e = parse_prediction(b"[[1,2],[3]]").unwrap_err().to_string();
        assert!(
            e.contains("path 1 has 1 points, expected 2 (ragged paths)"),
            "{e}"
        );
        let e = parse_prediction(b"[[1,2],5]").unwrap_err().to_string();
        assert!(e.contains("a number where a path was expected"), "{e}");
        let e = parse_prediction(br#"[["1",2]]"#).unwrap_err().to_string();
        assert!(e.contains("invalid type: string"), "{e}");
        let e = parse_prediction(br#"{"x":1}"#).unwrap_err().to_string();
        assert!(e.contains("missing field `simulation_output`"), "{e}");
        assert!(parse_prediction(b"[[1,2]] x").is_err());
    }

    #[test]
    fn real_prices_with_nulls() {
        let r = parse_real(b"[1.5, null, 3]").unwrap();
        assert_eq!(r[0], 1.5);
        assert!(r[1].is_nan());
        assert_eq!(r[2], 3.0);
    }
}
