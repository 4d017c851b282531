//! Content-addressed experiment ids: SHA-256 of the normalised spec, the data range and the seed.
//!
//! Normalisation makes the id independent of how the spec was written: object keys are sorted
//! (at every depth), integral floats are written as integers (`32.0` ≡ `32`), and the output has
//! no whitespace. Two specs that mean the same thing get the same id on every machine.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The data an experiment is trained and scored on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DataRange {
    /// SN50 assets, e.g. `["BTC"]` (sorted and deduplicated in the fingerprint).
    pub assets: Vec<String>,
    /// `5m` (LOW, 24 h horizon) or `1m` (HIGH, 1 h horizon).
    pub timeframe: String,
    /// First candle open used, UTC unix seconds.
    pub start: i64,
    /// Last candle open used, UTC unix seconds.
    pub end: i64,
}

/// Writes `v` as canonical JSON: sorted keys, integral floats as integers, no whitespace.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[k.as_str()], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                out.push_str(&(f as i64).to_string())
            }
            _ => out.push_str(&n.to_string()),
        },
        other => out.push_str(&other.to_string()),
    }
}

/// The full 64-hex-digit fingerprint of (spec, data, seed).
pub fn fingerprint(spec: &Value, data: &DataRange, seed: u64) -> String {
    let mut assets = data.assets.clone();
    assets.sort();
    assets.dedup();
    let key = serde_json::json!({
        "spec": spec,
        "data": { "assets": assets, "timeframe": data.timeframe, "start": data.start, "end": data.end },
        "seed": seed,
    });
    hex::encode(Sha256::digest(canonical_json(&key).as_bytes()))
}

/// The experiment id of (spec, data, seed) run by models of `revision`: the plain
/// [`fingerprint`] for revision 0, else the fingerprint of `{"models_revision", "spec"}`.
pub fn experiment_id(spec: &Value, data: &DataRange, seed: u64, revision: u32) -> String {
    if revision == 0 {
        return fingerprint(spec, data, seed);
    }
    let keyed = serde_json::json!({ "models_revision": revision, "spec": spec });
    fingerprint(&keyed, data, seed)
}

/// The fingerprint of the spec alone (what it asks for, whatever the data and seed): SHA-256 of
/// its [`canonical_json`], 64 hex digits, with a top-level `name` left out (a label, not part of
/// the experiment). The agents' planner and tools use it to tell specs apart; the registry keys
/// runs by [`experiment_id`] instead, which also covers the data and the seed.
pub fn spec_fingerprint(spec: &Value) -> String {
    let digest = match spec {
        Value::Object(m) if m.contains_key("name") => {
            let mut m = m.clone();
            m.remove("name");
            Sha256::digest(canonical_json(&Value::Object(m)).as_bytes())
        }
        _ => Sha256::digest(canonical_json(spec).as_bytes()),
    };
    hex::encode(digest)
}

/// SHA-256 of bytes, as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data() -> DataRange {
        DataRange {
            assets: vec!["BTC".into()],
            timeframe: "5m".into(),
            start: 0,
            end: 86_400,
        }
    }

    #[test]
    fn canonical_sorts_keys_at_every_depth_and_normalises_floats() {
        let a = json!({"b": 1, "a": {"y": [1.0, 2.5], "x": null}});
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2.5]},"b":1}"#);
    }

    #[test]
    fn fingerprint_ignores_key_order_and_float_spelling() {
        let a = json!({"head": "gbm", "d_model": 32, "lr": 0.001});
        let b: Value = serde_json::from_str(r#"{"lr":1e-3,"d_model":32.0,"head":"gbm"}"#).unwrap();
        assert_eq!(fingerprint(&a, &data(), 7), fingerprint(&b, &data(), 7));
    }

    #[test]
    fn fingerprint_changes_with_spec_data_and_seed() {
        let a = json!({"head": "gbm", "d_model": 32});
        let base = fingerprint(&a, &data(), 7);
        assert_eq!(base.len(), 64);
        assert_ne!(
            base,
            fingerprint(&json!({"head": "gbm", "d_model": 64}), &data(), 7)
        );
        assert_ne!(base, fingerprint(&a, &data(), 8));
        let mut d = data();
        d.end += 300;
        assert_ne!(base, fingerprint(&a, &d, 7));
    }

    #[test]
    fn experiment_ids_differ_between_model_revisions() {
        let a = json!({"head": "gbm", "d_model": 32});
        assert_eq!(
            experiment_id(&a, &data(), 7, 0),
            fingerprint(&a, &data(), 7)
        );
        let (r1, r2) = (
            experiment_id(&a, &data(), 7, 1),
            experiment_id(&a, &data(), 7, 2),
        );
        assert_ne!(r1, r2);
        assert_ne!(r1, fingerprint(&a, &data(), 7));
    }

    #[test]
    fn spec_fingerprint_ignores_key_order_float_spelling_and_name() {
        let a = json!({"blocks": ["lstm"], "head": "gbm", "d_model": 32, "name": "x"});
        let b: Value =
            serde_json::from_str(r#"{"d_model":32.0,"head":"gbm","blocks":["lstm"]}"#).unwrap();
        assert_eq!(spec_fingerprint(&a), spec_fingerprint(&b));
        assert_ne!(
            spec_fingerprint(&a),
            spec_fingerprint(&json!({"blocks": ["gru"], "head": "gbm", "d_model": 32}))
        );
        // Pinned: the canonical text's SHA-256, as for the stored experiment ids below.
        assert_eq!(
            spec_fingerprint(&a),
            sha256_hex(br#"{"blocks":["lstm"],"d_model":32,"head":"gbm"}"#)
        );
        assert_eq!(
            spec_fingerprint(&a),
            "5a4eacca32db36cd467e01f8b8faa1204b3882306f3bbc32049df859e4f53d25"
        );
    }

    #[test]
    fn fingerprint_is_stable_across_releases() {
        // Pinned: changing the normalisation would orphan every stored experiment id.
        let spec = json!({"blocks": ["lstm"], "head": "gbm", "d_model": 32});
        assert_eq!(
            fingerprint(&spec, &data(), 42),
            sha256_hex(
                br#"{"data":{"assets":["BTC"],"end":86400,"start":0,"timeframe":"5m"},"seed":42,"spec":{"blocks":["lstm"],"d_model":32,"head":"gbm"}}"#
            )
        );
        assert_eq!(
            fingerprint(&spec, &data(), 42),
            "0b88bad75714ccd2c38101d12fed0358ffa92f51f0ab22b824d6e4c1afb655e1"
        );
    }
}
