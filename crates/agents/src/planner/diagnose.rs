//! The built-in Debugger's diagnosis: what kind of failure an error message describes, and the
//! fix of the experiment spec that follows from it — instead of one fixed patch whatever the
//! error. Unknown failures are reported, not patched blindly.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sn50::Timeframe;

/// What went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// NaN/inf losses, divergence, a non-finite CRPS: lower the learning rate, clip gradients.
    Divergence,
    /// Out of memory, too many parameters, too large: a smaller width and fewer windows.
    TooLarge,
    /// A validation error naming a field (unknown block or head, bad d_model…): fix that field.
    InvalidField,
    /// The data for the asset or timeframe is missing: another timeframe, else another asset.
    DataMissing,
    /// The run is fine but unusable (no weights kept, a result that does not match): train it
    /// again with a new seed.
    Retrain,
    /// Nothing recognisable: reported, not patched.
    Unknown,
}

/// A diagnosis and its fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    /// The class.
    pub class: ErrorClass,
    /// The field an invalid-field error names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What was understood and what the fix does.
    pub explanation: String,
    /// The fixed spec, when there is a fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<Value>,
    /// The changes, one line each (`lr: 0.001 -> 0.00033`).
    pub changes: Vec<String>,
}

fn has(t: &str, words: &[&str]) -> bool {
    words.iter().any(|w| t.contains(w))
}

fn whole_word(t: &str, w: &str) -> bool {
    t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|x| x == w)
}

const FIELDS: [&str; 9] = [
    "blocks",
    "block",
    "head",
    "d_model",
    "lr",
    "epochs",
    "max_windows",
    "timeframe",
    "asset",
];

/// The first spec field an error names (`experiment.head: …`, `unknown block 'x'`, `d_model
/// must …`).
fn named_field(t: &str) -> Option<&'static str> {
    // Earliest mention wins; whole words only ("lr" inside "already" is not the field).
    let mut best: Option<(usize, &'static str)> = None;
    for f in FIELDS {
        let mut from = 0;
        while let Some(i) = t[from..].find(f) {
            let at = from + i;
            let before = t[..at].chars().next_back();
            let after = t[at + f.len()..].chars().next();
            let word = |c: Option<char>| c.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            if word(before) && (word(after) || (f == "block" && after == Some('s'))) {
                if best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, f));
                }
                break;
            }
            from = at + f.len();
        }
    }
    best.map(|(_, f)| if f == "block" { "blocks" } else { f })
}

/// The quoted names in an error (`'x'`, `"x"` or `` `x` ``).
fn quoted(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    for q in ['\'', '"', '`'] {
        let parts: Vec<&str> = t.split(q).collect();
        for (i, p) in parts.iter().enumerate() {
            if i % 2 == 1 && !p.is_empty() && p.len() <= 64 {
                out.push(p.to_string());
            }
        }
    }
    out
}

/// Diagnoses `error` for `spec` (a planner spec as JSON). `blocks`/`heads` are the names the
/// backend can build (used to replace unknown ones; may be empty).
pub fn diagnose_with(error: &str, spec: &Value, blocks: &[String], heads: &[String]) -> Diagnosis {
    let t = error.to_ascii_lowercase();
    let mut fix = if spec.is_object() {
        spec.clone()
    } else {
        json!({})
    };
    let mut changes = Vec::new();
    let mut set = |fix: &mut Value, k: &str, v: Value| {
        changes.push(format!(
            "{k}: {} -> {v}",
            fix.get(k).unwrap_or(&Value::Null)
        ));
        fix[k] = v;
    };
    let class = if has(
        &t,
        &[
            "non-finite",
            "not finite",
            "diverge",
            "infinite",
            "infinity",
            "exploding",
            "overflow",
        ],
    ) || whole_word(&t, "nan")
        || whole_word(&t, "inf")
    {
        ErrorClass::Divergence
    } else if has(
        &t,
        &[
            "out of memory",
            "oom",
            "too large",
            "too big",
            "memory",
            "exceeds",
            "allocation",
            "too many parameters",
        ],
    ) {
        ErrorClass::TooLarge
    } else if has(
        &t,
        &[
            "data_missing",
            "no data",
            "missing data",
            "no candles",
            "no history",
            "not enough history",
            "data file",
            "no real",
        ],
    ) {
        ErrorClass::DataMissing
    } else if named_field(&t).is_some()
        && has(
            &t,
            &[
                "unknown",
                "invalid",
                "must",
                "outside",
                "required",
                "not a",
                "expected",
                "unsupported",
                "bad ",
            ],
        )
    {
        ErrorClass::InvalidField
    } else if has(
        &t,
        &[
            "weights",
            "not among",
            "reported",
            "does not match",
            "mismatch",
        ],
    ) {
        ErrorClass::Retrain
    } else {
        ErrorClass::Unknown
    };
    let mut field = None;
    let explanation = match class {
        ErrorClass::Divergence => {
            let lr = fix.get("lr").and_then(Value::as_f64).unwrap_or(1e-3);
            set(&mut fix, "lr", json!((lr / 3.0).max(1e-6)));
            let clip = fix.get("clip_norm").and_then(Value::as_f64).unwrap_or(1.0);
            set(&mut fix, "clip_norm", json!((clip / 2.0).clamp(0.1, 0.5)));
            "training diverged (non-finite loss or CRPS): a third of the learning rate and a tighter gradient clip".to_string()
        }
        ErrorClass::TooLarge => {
            let d = fix.get("d_model").and_then(Value::as_u64).unwrap_or(32);
            set(&mut fix, "d_model", json!((d / 2).max(8)));
            let w = fix.get("max_windows").and_then(Value::as_u64).unwrap_or(1024);
            set(&mut fix, "max_windows", json!((w / 2).max(64)));
            "the model or its data does not fit: half the width and half the training windows".to_string()
        }
        ErrorClass::DataMissing => {
            let tf = fix
                .get("timeframe")
                .and_then(Value::as_str)
                .and_then(Timeframe::parse)
                .unwrap_or_default();
            let other = tf.other();
            set(&mut fix, "timeframe", json!(other.as_str()));
            format!("no usable data for this asset at {tf}: trying {other} (if that is missing too, BTC always has data)")
        }
        ErrorClass::InvalidField => {
            let f = named_field(&t).unwrap_or("blocks");
            field = Some(f.to_string());
            let names = quoted(error);
            match f {
                "head" => {
                    let h = heads.iter().find(|h| h.as_str() == "gbm").or(heads.first()).cloned().unwrap_or_else(|| "gbm".into());
                    set(&mut fix, "head", json!(h));
                }
                "blocks" => {
                    let cur: Vec<String> = fix.get("blocks").and_then(Value::as_array).into_iter().flatten()
                        .filter_map(|b| b.as_str().map(str::to_string)).collect();
                    let mut kept: Vec<String> = cur.iter()
                        .filter(|b| !names.contains(b) && (blocks.is_empty() || blocks.contains(b)))
                        .cloned().collect();
                    if kept.is_empty() {
                        kept.push(blocks.iter().find(|b| b.as_str() == "lstm").or(blocks.first()).cloned().unwrap_or_else(|| "lstm".into()));
                    }
                    set(&mut fix, "blocks", json!(kept));
                }
                "d_model" => set(&mut fix, "d_model", json!(32)),
                "lr" => set(&mut fix, "lr", json!(1e-3)),
                "epochs" => set(&mut fix, "epochs", json!(2)),
                "max_windows" => set(&mut fix, "max_windows", json!(1024)),
                "timeframe" => set(&mut fix, "timeframe", json!(Timeframe::default().as_str())),
                _ => set(&mut fix, "asset", json!("BTC")),
            }
            format!("the spec's `{f}` is invalid: replaced with a valid value")
        }
        ErrorClass::Retrain => {
            let seed = fix.get("seed").and_then(Value::as_u64).unwrap_or(0);
            set(&mut fix, "seed", json!(seed + 1));
            "the run itself is unusable (missing weights or a result that does not match): train the same spec again with a new seed".to_string()
        }
        ErrorClass::Unknown => {
            "an error this debugger does not recognise: reported for a person (or an LLM) to look at; nothing was changed".to_string()
        }
    };
    let fix = (class != ErrorClass::Unknown).then_some(fix);
    Diagnosis {
        class,
        field,
        explanation,
        fix,
        changes,
    }
}

/// [`diagnose_with`] without a catalog.
pub fn diagnose(error: &str, spec: &Value) -> Diagnosis {
    diagnose_with(error, spec, &[], &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Value {
        json!({"asset": "SOL", "timeframe": "5m", "blocks": ["revin", "wavy"], "head": "gbm", "d_model": 64, "lr": 0.003, "epochs": 2, "seed": 4})
    }

    #[test]
    fn divergence_lowers_the_learning_rate_and_clips() {
        let d = diagnose("training_diverged: loss is NaN at epoch 2", &spec());
        assert_eq!(d.class, ErrorClass::Divergence);
        let f = d.fix.unwrap();
        assert!((f["lr"].as_f64().unwrap() - 0.001).abs() < 1e-12);
        assert_eq!(f["clip_norm"], 0.5);
        assert_eq!(f["d_model"], 64, "width is not the problem here");
    }

    #[test]
    fn too_large_halves_width_and_windows() {
        let d = diagnose(
            "model needs 12.5 GiB: more than the memory cap (out of memory)",
            &spec(),
        );
        assert_eq!(d.class, ErrorClass::TooLarge);
        let f = d.fix.unwrap();
        assert_eq!(
            (f["d_model"].as_u64(), f["max_windows"].as_u64()),
            (Some(32), Some(512))
        );
        assert_eq!(f["lr"], 0.003);
    }

    #[test]
    fn invalid_field_fixes_the_named_field_only() {
        let blocks = vec!["revin".to_string(), "lstm".to_string(), "gru".to_string()];
        let d = diagnose_with(
            "invalid_config: unknown block 'wavy' (known: revin, lstm, gru)",
            &spec(),
            &blocks,
            &[],
        );
        assert_eq!(d.class, ErrorClass::InvalidField);
        assert_eq!(d.field.as_deref(), Some("blocks"));
        let f = d.fix.unwrap();
        assert_eq!(f["blocks"], json!(["revin"]));
        assert_eq!(f["head"], "gbm");
        let d = diagnose("experiment.head: unknown head \"t_mix\"", &spec());
        assert_eq!(d.field.as_deref(), Some("head"));
        assert_eq!(d.fix.unwrap()["head"], "gbm");
        let d = diagnose("d_model: 7 is outside [8, 1024]", &spec());
        assert_eq!(d.fix.unwrap()["d_model"], 32);
        // "already" contains "lr" but names no field.
        assert_eq!(
            diagnose("it already ran", &spec()).class,
            ErrorClass::Unknown
        );
    }

    #[test]
    fn missing_data_switches_timeframe() {
        let d = diagnose("data_missing: no SOL candles at 60 s", &spec());
        assert_eq!(d.class, ErrorClass::DataMissing);
        assert_eq!(d.fix.unwrap()["timeframe"], "1m");
    }

    #[test]
    fn unknown_errors_are_reported_not_patched() {
        let d = diagnose("the GPU caught fire", &spec());
        assert_eq!(d.class, ErrorClass::Unknown);
        assert!(d.fix.is_none() && d.changes.is_empty());
        let d = diagnose("weights: run r1 kept no trained weights", &spec());
        assert_eq!(d.class, ErrorClass::Retrain);
        assert_eq!(d.fix.unwrap()["seed"], 5);
    }
}
