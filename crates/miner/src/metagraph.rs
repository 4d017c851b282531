//! The metagraph view the blacklist needs (hotkeys, stake weight, validator permits), read
//! from a JSON file, and the reference miner's blacklist and priority (refuse callers not in the metagraph
//! or without a validator permit; serve higher stake first).

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;

/// One registered neuron.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Neuron {
    /// Uid on the subnet.
    pub uid: u16,
    /// Hotkey, SS58.
    pub hotkey: String,
    /// Stake weight `S[uid]` in token units (alpha + 0.18·TAO).
    #[serde(default)]
    pub stake: f64,
    /// `validator_permit[uid]`.
    #[serde(default)]
    pub validator_permit: bool,
}

/// Accepted file layouts: a list of neurons, or bittensor's columns
/// (`metagraph.hotkeys`, `metagraph.S.tolist()`, `metagraph.validator_permit.tolist()`).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum MetagraphFile {
    Neurons {
        neurons: Vec<Neuron>,
    },
    Columns {
        hotkeys: Vec<String>,
        #[serde(rename = "S", alias = "stake")]
        stake: Vec<f64>,
        validator_permit: Vec<bool>,
    },
}

/// Error loading a metagraph file.
#[derive(Debug, thiserror::Error)]
pub enum MetagraphError {
    /// Could not read the file.
    #[error("cannot read metagraph {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// Not one of the accepted JSON layouts, or inconsistent columns.
    #[error("invalid metagraph {path}: {msg}")]
    Format {
        /// File path.
        path: String,
        /// What is wrong.
        msg: String,
    },
}

/// Hotkey → neuron lookup.
#[derive(Debug, Clone, Default)]
pub struct Metagraph {
    by_hotkey: HashMap<String, Neuron>,
}

impl Metagraph {
    /// Builds from neurons.
    pub fn from_neurons(neurons: impl IntoIterator<Item = Neuron>) -> Self {
        Self {
            by_hotkey: neurons.into_iter().map(|n| (n.hotkey.clone(), n)).collect(),
        }
    }

    /// Parses the JSON text of a metagraph file.
    pub fn from_json(text: &str) -> Result<Self, String> {
        let file: MetagraphFile = serde_json::from_str(text).map_err(|e| {
            format!("{e}; expected {{\"neurons\":[{{\"uid\",\"hotkey\",\"stake\",\"validator_permit\"}}]}} or {{\"hotkeys\",\"S\",\"validator_permit\"}}")
        })?;
        match file {
            MetagraphFile::Neurons { neurons } => Ok(Self::from_neurons(neurons)),
            MetagraphFile::Columns {
                hotkeys,
                stake,
                validator_permit,
            } => {
                if stake.len() != hotkeys.len() || validator_permit.len() != hotkeys.len() {
                    return Err(format!(
                        "columns differ in length: {} hotkeys, {} stakes, {} permits",
                        hotkeys.len(),
                        stake.len(),
                        validator_permit.len()
                    ));
                }
                let neurons = hotkeys.into_iter().enumerate().map(|(uid, hotkey)| Neuron {
                    uid: uid as u16,
                    hotkey,
                    stake: stake[uid],
                    validator_permit: validator_permit[uid],
                });
                Ok(Self::from_neurons(neurons))
            }
        }
    }

    /// Loads a metagraph JSON file.
    pub fn load(path: &Path) -> Result<Self, MetagraphError> {
        let p = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| MetagraphError::Io {
            path: p.clone(),
            source,
        })?;
        Self::from_json(&text).map_err(|msg| MetagraphError::Format { path: p, msg })
    }

    /// The neuron registered with this hotkey.
    pub fn get(&self, hotkey: &str) -> Option<&Neuron> {
        self.by_hotkey.get(hotkey)
    }

    /// Number of neurons.
    pub fn len(&self) -> usize {
        self.by_hotkey.len()
    }

    /// True when no neuron is known.
    pub fn is_empty(&self) -> bool {
        self.by_hotkey.is_empty()
    }
}

/// The reference miner's blacklist flags.
#[derive(Debug, Clone, PartialEq)]
pub struct BlacklistPolicy {
    /// `--blacklist.allow_non_registered` (default false).
    pub allow_non_registered: bool,
    /// `--blacklist.force_validator_permit` (true in the reference `miner.config.js`).
    pub force_validator_permit: bool,
    /// `--blacklist.validator_min_stake`: callers with `S[uid] <= min_stake` are refused
    /// (1000 in the reference; synth-city defaults to 0 so that no validator is lost).
    pub min_stake: f64,
}

impl Default for BlacklistPolicy {
    fn default() -> Self {
        Self {
            allow_non_registered: false,
            force_validator_permit: true,
            min_stake: 0.0,
        }
    }
}

impl BlacklistPolicy {
    /// The reference miner's decision: `Err(reason)` to refuse with 403, `Ok(priority)`
    /// (the caller's stake) to serve. Reasons are the reference strings.
    pub fn check(&self, metagraph: &Metagraph, hotkey: Option<&str>) -> Result<f64, &'static str> {
        let Some(hotkey) = hotkey else {
            return Err("Missing dendrite or hotkey");
        };
        let Some(n) = metagraph.get(hotkey) else {
            return if self.allow_non_registered {
                Ok(0.0)
            } else {
                Err("Unrecognized hotkey")
            };
        };
        if n.stake <= self.min_stake {
            return Err("Stake below minimum threshold");
        }
        if self.force_validator_permit && !n.validator_permit {
            return Err("Non-validator hotkey");
        }
        Ok(n.stake)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALI: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const MINER: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    fn graph() -> Metagraph {
        Metagraph::from_json(&format!(
            r#"{{"hotkeys":["{VALI}","{MINER}","5Dx"],"S":[5000.0,20.0,3000.0],"validator_permit":[true,false,false]}}"#
        ))
        .unwrap()
    }

    #[test]
    fn reference_order_of_checks() {
        let g = graph();
        let p = BlacklistPolicy {
            min_stake: 1000.0,
            ..BlacklistPolicy::default()
        };
        assert_eq!(p.check(&g, Some(VALI)), Ok(5000.0));
        assert_eq!(p.check(&g, None), Err("Missing dendrite or hotkey"));
        assert_eq!(p.check(&g, Some("5Unknown")), Err("Unrecognized hotkey"));
        // Stake is checked before the permit.
        assert_eq!(
            p.check(&g, Some(MINER)),
            Err("Stake below minimum threshold")
        );
        assert_eq!(p.check(&g, Some("5Dx")), Err("Non-validator hotkey"));
        let lax = BlacklistPolicy {
            allow_non_registered: true,
            force_validator_permit: false,
            min_stake: 0.0,
        };
        assert_eq!(lax.check(&g, Some("5Unknown")), Ok(0.0));
        assert_eq!(lax.check(&g, Some(MINER)), Ok(20.0));
    }

    #[test]
    fn neuron_list_layout_and_errors() {
        let g = Metagraph::from_json(&format!(
            r#"{{"neurons":[{{"uid":7,"hotkey":"{VALI}","stake":12.5,"validator_permit":true}}]}}"#
        ))
        .unwrap();
        assert_eq!(g.get(VALI).map(|n| n.uid), Some(7));
        assert_eq!(g.len(), 1);
        let e = Metagraph::from_json(r#"{"hotkeys":["a"],"S":[],"validator_permit":[true]}"#);
        assert!(e.unwrap_err().contains("columns differ"));
        assert!(Metagraph::from_json("[1,2]").is_err());
    }
}
