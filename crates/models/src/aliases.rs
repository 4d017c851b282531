//! Block and head names as the Python framework (open-synth-miner, the seed synth-city) spelled
//! them — `TransformerBlock`, `LSTMBlock`, `GBMHead`, … — mapped to this registry's names, and
//! what to type instead for those with no equivalent here.

use crate::registry;

/// Python block name → registry block.
pub const BLOCK_ALIASES: &[(&str, &str)] = &[
    ("RevIN", "revin"),
    ("LSTMBlock", "lstm"),
    ("GRUBlock", "gru"),
    ("TransformerBlock", "transformer"),
    ("TransformerEncoder", "transformer"),
    ("DLinearBlock", "dlinear"),
    ("TimesNetBlock", "timesnet"),
    ("BiTCNBlock", "tcn"),
    ("ResConvBlock", "tcn"),
    ("WaveNetBlock", "wavenet"),
    ("SDEEvolutionBlock", "mlp"),
    ("GatedMLP", "mlp"),
    ("FourierBlock", "frets"),
    ("PatchEmbedding", "patchtst"),
    ("FlexiblePatchEmbed", "patchtst"),
];

/// Python head name → registry head.
pub const HEAD_ALIASES: &[(&str, &str)] = &[
    ("GBMHead", "gbm"),
    ("SDEHead", "sde"),
    ("NeuralSDEHead", "sde"),
    ("MixtureDensityHead", "mixture"),
    ("MixtureHead", "mixture"),
    ("QuantileHead", "quantile"),
    ("CopulaHead", "copula"),
    ("FlowHead", "flow"),
    ("StudentTHead", "student_t"),
];

/// Python names with no counterpart here, and what to use instead.
const NO_EQUIVALENT: &[(&str, &str)] = &[
    ("RNNBlock", "gru"),
    (
        "LayerNormBlock",
        "revin (normalisation is built into every block)",
    ),
    ("TimeMixerBlock", "dlinear or timesnet"),
    ("Unet1DBlock", "tcn"),
    ("TransformerDecoder", "transformer"),
    ("PatchMixerBlock", "patchtst"),
    ("MultiScalePatcher", "patchtst"),
    (
        "LastStepAdapter",
        "nothing (every backbone already ends in its last step)",
    ),
    ("HorizonHead", "student_t or quantile"),
    ("SimpleHorizonHead", "student_t or quantile"),
    ("VolTermStructureHead", "student_t"),
    ("NeuralBridgeHead", "jump"),
];

fn normalise(name: &str) -> String {
    name.trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn resolve(
    name: &str,
    aliases: &[(&str, &'static str)],
    exists: impl Fn(&str) -> Option<&'static str>,
    kind: &str,
    known: &[&str],
) -> Result<&'static str, String> {
    if let Some(n) = exists(name.trim()) {
        return Ok(n);
    }
    let key = normalise(name);
    if let Some((_, to)) = aliases.iter().find(|(from, _)| normalise(from) == key) {
        return Ok(to);
    }
    if let Some((from, instead)) = NO_EQUIVALENT
        .iter()
        .find(|(from, _)| normalise(from) == key)
    {
        return Err(format!(
            "{kind} {from} of the Python framework has no equivalent here; use {instead}"
        ));
    }
    Err(format!(
        "unknown {kind} {name:?}; known: {} (Python names such as TransformerBlock or GBMHead \
         are accepted too)",
        known.join(", ")
    ))
}

/// The registry name of block `name`: a registry name, or a Python alias (any case, with or
/// without `_`/`-`). The error says what to type instead.
pub fn canonical_block(name: &str) -> Result<&'static str, String> {
    let known: Vec<&str> = registry::blocks().iter().map(|b| b.name).collect();
    resolve(
        name,
        BLOCK_ALIASES,
        |n| registry::block(n).map(|b| b.name),
        "block",
        &known,
    )
}

/// The registry name of head `name` (see [`canonical_block`]).
pub fn canonical_head(name: &str) -> Result<&'static str, String> {
    let known: Vec<&str> = registry::heads().iter().map(|h| h.name).collect();
    resolve(
        name,
        HEAD_ALIASES,
        |n| registry::head(n).map(|h| h.name),
        "head",
        &known,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_alias_names_a_registered_component() {
        for (from, to) in BLOCK_ALIASES {
            assert!(registry::block(to).is_some(), "{from} → {to}");
        }
        for (from, to) in HEAD_ALIASES {
            assert!(registry::head(to).is_some(), "{from} → {to}");
        }
    }

    #[test]
    fn python_names_resolve_and_the_rest_say_what_to_type() {
        assert_eq!(canonical_block("TransformerBlock"), Ok("transformer"));
        assert_eq!(canonical_block("lstm_block"), Ok("lstm"));
        assert_eq!(canonical_block("lstm"), Ok("lstm"));
        assert_eq!(canonical_head("GBMHead"), Ok("gbm"));
        assert_eq!(canonical_head("student_t"), Ok("student_t"));
        let e = canonical_block("RNNBlock").unwrap_err();
        assert!(e.contains("no equivalent") && e.contains("use gru"), "{e}");
        let e = canonical_head("nope").unwrap_err();
        assert!(e.contains("known: gbm"), "{e}");
    }
}
