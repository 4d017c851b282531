//! Bittensor wallet files: `<path>/<wallet>/hotkeys/<hotkey>`, JSON with
//! `secretSeed`, `publicKey`, `ss58Address`… The secret is only used to check the public key
//! and is never logged (`Debug` prints the address only).

use std::path::{Path, PathBuf};

use schnorrkel::{ExpansionMode, MiniSecretKey};
use serde::Deserialize;

/// A hotkey read from a wallet file.
#[derive(Clone)]
pub struct Hotkey {
    /// SS58 address (what the axon signs against).
    pub ss58: String,
    /// 32-byte public key.
    pub public: [u8; 32],
}

impl std::fmt::Debug for Hotkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotkey")
            .field("ss58", &self.ss58)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HotkeyFile {
    ss58_address: Option<String>,
    public_key: Option<String>,
    secret_seed: Option<String>,
}

/// Error reading a wallet file (messages never contain secret material).
#[derive(Debug, thiserror::Error)]
#[error("wallet hotkey {path}: {msg}")]
pub struct WalletError {
    /// File path.
    pub path: String,
    /// What is wrong.
    pub msg: String,
}

/// `<wallet_path>/<wallet>/hotkeys/<hotkey>`.
pub fn hotkey_path(wallet_path: &Path, wallet: &str, hotkey: &str) -> PathBuf {
    wallet_path.join(wallet).join("hotkeys").join(hotkey)
}

fn unhex32(s: &str) -> Option<[u8; 32]> {
    let b = hex::decode(s.trim().trim_start_matches("0x")).ok()?;
    b.try_into().ok()
}

/// Reads a hotkey file. With `secretSeed` present, the derived sr25519 public key (substrate
/// `from_seed`, Ed25519 expansion) must match `publicKey`/`ss58Address`.
pub fn read_hotkey(path: &Path) -> Result<Hotkey, WalletError> {
    let err = |msg: String| WalletError {
        path: path.display().to_string(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    // Deliberately no serde error text: it could quote the secret.
    let f: HotkeyFile = serde_json::from_str(&text).map_err(|_| {
        err("not a bittensor hotkey JSON (encrypted wallets are not supported)".into())
    })?;
    let from_seed = match &f.secret_seed {
        None => None,
        Some(s) => {
            let seed = unhex32(s).ok_or_else(|| err("secretSeed is not 32 bytes of hex".into()))?;
            let mini =
                MiniSecretKey::from_bytes(&seed).map_err(|_| err("invalid secretSeed".into()))?;
            Some(
                mini.expand_to_keypair(ExpansionMode::Ed25519)
                    .public
                    .to_bytes(),
            )
        }
    };
    let from_hex = match &f.public_key {
        None => None,
        Some(s) => Some(unhex32(s).ok_or_else(|| err("publicKey is not 32 bytes of hex".into()))?),
    };
    let from_ss58 = match &f.ss58_address {
        None => None,
        Some(a) => Some(
            crate::ss58::decode(a)
                .map_err(|e| err(format!("ss58Address: {e}")))?
                .1,
        ),
    };
    let candidates: Vec<[u8; 32]> = [from_seed, from_hex, from_ss58]
        .into_iter()
        .flatten()
        .collect();
    let public = *candidates
        .first()
        .ok_or_else(|| err("no secretSeed, publicKey or ss58Address".into()))?;
    if candidates.iter().any(|c| *c != public) {
        return Err(err(
            "secretSeed, publicKey and ss58Address do not agree".into()
        ));
    }
    let ss58 = f
        .ss58_address
        .unwrap_or_else(|| crate::ss58::encode(42, &public));
    Ok(Hotkey { ss58, public })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_cross_checks_a_hotkey_file() {
        let seed = [7u8; 32];
        let public = MiniSecretKey::from_bytes(&seed)
            .unwrap()
            .expand_to_keypair(ExpansionMode::Ed25519)
            .public
            .to_bytes();
        let ss58 = crate::ss58::encode(42, &public);
        let dir = tempfile::tempdir().unwrap();
        let p = hotkey_path(dir.path(), "miner", "default");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let json = format!(
            r#"{{"secretPhrase":"word word","secretSeed":"0x{}","publicKey":"0x{}","accountId":"0x{}","ss58Address":"{ss58}"}}"#,
            hex::encode(seed),
            hex::encode(public),
            hex::encode(public)
        );
        std::fs::write(&p, json).unwrap();
        let h = read_hotkey(&p).unwrap();
        assert_eq!(h.ss58, ss58);
        assert_eq!(h.public, public);
        assert!(!format!("{h:?}").contains(&hex::encode(seed)));
        // A seed that does not match the address is refused, without echoing the seed.
        let bad = format!(
            r#"{{"secretSeed":"0x{}","ss58Address":"{ss58}"}}"#,
            hex::encode([8u8; 32])
        );
        std::fs::write(&p, bad).unwrap();
        let e = read_hotkey(&p).unwrap_err().to_string();
        assert!(e.contains("do not agree"));
        assert!(!e.contains(&hex::encode([8u8; 32])));
        std::fs::write(&p, "$NACL encrypted").unwrap();
        assert!(read_hotkey(&p)
            .unwrap_err()
            .to_string()
            .contains("not a bittensor hotkey JSON"));
    }
}
