//! Guidance in words (`/pipeline/run {"guidance": …}`, `pipeline --guidance TEXT`), as the
//! built-in planner understands it: the assets and timeframes it mentions, the model families
//! (blocks and heads of the catalog) to focus on or to avoid. The LLM planner reads the text
//! itself; both get what was understood in the run log.

use serde::{Deserialize, Serialize};

use crate::backend::Catalog;
use crate::planner::SearchSpace;

/// Longest guidance accepted (characters).
pub const MAX_GUIDANCE_CHARS: usize = 2_000;

/// What the built-in planner understood of the guidance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Guidance {
    /// The text as given.
    pub text: String,
    /// SN50 assets mentioned (canonical names).
    #[serde(default)]
    pub assets: Vec<String>,
    /// Timeframes mentioned (`5m`, `1m`).
    #[serde(default)]
    pub timeframes: Vec<String>,
    /// Blocks or heads to focus on.
    #[serde(default)]
    pub focus: Vec<String>,
    /// Blocks or heads to avoid.
    #[serde(default)]
    pub avoid: Vec<String>,
}

/// Words that make a clause's mentions things to avoid.
const NEGATIVE: [&str; 8] = [
    "avoid", "no", "not", "without", "skip", "never", "don't", "exclude",
];

/// Words that make a clause's mentions things to focus on.
const POSITIVE: [&str; 8] = [
    "focus", "use", "try", "prefer", "want", "include", "only", "favour",
];

/// Family words → the catalog names they stand for (a name matching the word itself is found
/// without this table).
const FAMILIES: [(&str, &[&str]); 10] = [
    ("recurrent", &["lstm", "gru"]),
    ("rnn", &["lstm", "gru"]),
    ("attention", &["transformer"]),
    ("transformers", &["transformer"]),
    ("student-t", &["student_t"]),
    ("student", &["student_t"]),
    ("fat-tailed", &["student_t"]),
    ("conv", &["tcn", "wavenet"]),
    ("convolutional", &["tcn", "wavenet"]),
    ("state-space", &["mamba"]),
];

fn words(clause: &str) -> Vec<String> {
    clause
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '\''))
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches('\'').to_ascii_lowercase())
        .collect()
}

/// Parses `text` against `catalog`'s names.
pub fn parse(text: &str, catalog: &Catalog) -> Guidance {
    let text: String = text.chars().take(MAX_GUIDANCE_CHARS).collect();
    let names: Vec<String> = catalog
        .blocks
        .iter()
        .chain(&catalog.heads)
        .map(|c| c.name.to_ascii_lowercase())
        .collect();
    let mut g = Guidance {
        text: text.clone(),
        ..Guidance::default()
    };
    let push = |v: &mut Vec<String>, x: String| {
        if !v.contains(&x) {
            v.push(x);
        }
    };
    let lower = text.to_ascii_lowercase();
    // Sentences (`.`, `;`, new lines, "but") reset the polarity; within one, a comma-separated
    // part without its own verb keeps the previous part's ("avoid gbm, student_t").
    let parts = lower
        .split([';', '.', '\n'])
        .flat_map(|c| c.split(" but "))
        .flat_map(|sentence| {
            sentence
                .split(',')
                .enumerate()
                .map(|(i, p)| (i == 0, p))
                .collect::<Vec<_>>()
        });
    let mut negative = false;
    for (first, clause) in parts {
        let ws = words(clause);
        if ws.iter().any(|w| NEGATIVE.contains(&w.as_str())) {
            negative = true;
        } else if first || ws.iter().any(|w| POSITIVE.contains(&w.as_str())) {
            negative = false;
        }
        for w in &ws {
            if let Ok(a) = w.parse::<sn50::Asset>() {
                push(&mut g.assets, a.name().to_string());
            }
            if let Ok(tf) = w.parse::<sn50::Timeframe>() {
                push(&mut g.timeframes, tf.as_str().to_string());
            }
            let mut hits: Vec<String> = names.iter().filter(|n| *n == w).cloned().collect();
            for (word, targets) in FAMILIES {
                if w == word {
                    hits.extend(
                        targets
                            .iter()
                            .filter(|t| names.iter().any(|n| n == *t))
                            .map(|t| t.to_string()),
                    );
                }
            }
            // A plural ("lstms", "transformers") names the same family.
            if hits.is_empty() {
                if let Some(stem) = w.strip_suffix('s') {
                    hits.extend(names.iter().filter(|n| *n == stem).cloned());
                }
            }
            for h in hits {
                if negative {
                    push(&mut g.avoid, h);
                } else {
                    push(&mut g.focus, h);
                }
            }
        }
    }
    g.focus.retain(|f| !g.avoid.contains(f));
    g
}

impl Guidance {
    /// True when nothing was understood.
    pub fn is_empty(&self) -> bool {
        self.assets.is_empty()
            && self.timeframes.is_empty()
            && self.focus.is_empty()
            && self.avoid.is_empty()
    }

    /// One line for the run log: what the planner will do with it.
    pub fn describe(&self) -> String {
        if self.text.trim().is_empty() {
            return "no guidance".into();
        }
        if self.is_empty() {
            return format!(
                "guidance {:?}: nothing the built-in planner can act on (it recognises assets, timeframes, and block/head names or families with focus/avoid)",
                short(&self.text)
            );
        }
        let mut parts = Vec::new();
        if !self.assets.is_empty() {
            parts.push(format!("assets {}", self.assets.join(", ")));
        }
        if !self.timeframes.is_empty() {
            parts.push(format!("timeframes {}", self.timeframes.join(", ")));
        }
        if !self.focus.is_empty() {
            parts.push(format!("focus on {}", self.focus.join(", ")));
        }
        if !self.avoid.is_empty() {
            parts.push(format!("avoid {}", self.avoid.join(", ")));
        }
        format!("guidance understood: {}", parts.join("; "))
    }

    /// Narrows `space`: stacks and heads naming an avoided component go; when focus names
    /// blocks (heads), only stacks holding one of them (those heads) stay. A narrowing that
    /// would empty a dimension is not applied.
    pub fn steer(&self, space: &SearchSpace) -> SearchSpace {
        let mut out = space.clone();
        let lc = |s: &String| s.to_ascii_lowercase();
        let stacks: Vec<Vec<String>> = out
            .stacks
            .iter()
            .filter(|st| !st.iter().any(|b| self.avoid.contains(&lc(b))))
            .cloned()
            .collect();
        if !stacks.is_empty() {
            out.stacks = stacks;
        }
        let heads: Vec<String> = out
            .heads
            .iter()
            .filter(|h| !self.avoid.contains(&lc(h)))
            .cloned()
            .collect();
        if !heads.is_empty() {
            out.heads = heads;
        }
        let focus_stacks: Vec<Vec<String>> = out
            .stacks
            .iter()
            .filter(|st| st.iter().any(|b| self.focus.contains(&lc(b))))
            .cloned()
            .collect();
        if !focus_stacks.is_empty() {
            out.stacks = focus_stacks;
        }
        let focus_heads: Vec<String> = out
            .heads
            .iter()
            .filter(|h| self.focus.contains(&lc(h)))
            .cloned()
            .collect();
        if !focus_heads.is_empty() {
            out.heads = focus_heads;
        }
        out
    }
}

fn short(s: &str) -> String {
    let t: String = s.chars().take(80).collect();
    if t.len() < s.len() {
        format!("{t}…")
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Component;

    fn catalog() -> Catalog {
        let c = |n: &str| Component {
            name: n.into(),
            description: String::new(),
        };
        Catalog {
            blocks: vec![c("revin"), c("lstm"), c("gru"), c("transformer"), c("mlp")],
            heads: vec![c("gbm"), c("student_t"), c("quantile")],
            presets: vec![],
        }
    }

    #[test]
    fn intents_are_understood_and_steer_the_space() {
        let g = parse(
            "Focus on ETH at 1m with recurrent models and a student-t head, but avoid transformers; no quantile",
            &catalog(),
        );
        assert_eq!(g.assets, ["ETH"]);
        assert_eq!(g.timeframes, ["1m"]);
        assert_eq!(g.focus, ["lstm", "gru", "student_t"]);
        assert_eq!(g.avoid, ["transformer", "quantile"]);
        let d = g.describe();
        assert!(
            d.contains("focus on lstm, gru, student_t")
                && d.contains("avoid transformer, quantile"),
            "{d}"
        );
        let space = g.steer(&SearchSpace::from_catalog(&catalog()));
        assert!(space
            .stacks
            .iter()
            .all(|s| s.iter().any(|b| b == "lstm" || b == "gru")));
        assert_eq!(space.heads, ["student_t"]);
    }

    #[test]
    fn nothing_understood_is_said_and_changes_nothing() {
        let g = parse("be clever please", &catalog());
        assert!(g.is_empty());
        assert!(g
            .describe()
            .contains("nothing the built-in planner can act on"));
        let s = SearchSpace::from_catalog(&catalog());
        assert_eq!(g.steer(&s), s);
        // Avoiding everything is not applied (the space would be empty).
        let g = parse("avoid gbm, student_t and quantile", &catalog());
        assert_eq!(g.steer(&s).heads.len(), 3);
    }
}
