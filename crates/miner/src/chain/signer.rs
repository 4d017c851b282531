//! The hotkey keypair that signs `serve_axon`, from the bittensor wallet file (its JSON
//! hotkey file): `secretSeed` is the 32-byte mini secret, expanded the substrate way
//! (`MiniSecretKey::expand_to_keypair(ExpansionMode::Ed25519)`, which is what
//! `subxt_signer::sr25519::Keypair::from_secret_key` does). The file is first read and
//! cross-checked by [`crate::wallet::read_hotkey`]; no error or log here quotes the secret.

use std::path::Path;

use serde::Deserialize;
use subxt_signer::sr25519::Keypair;

use super::ChainError;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeedOnly {
    secret_seed: Option<String>,
}

/// The signing keypair of the hotkey file at `path`, and its SS58 address.
pub fn hotkey_keypair(path: &Path) -> Result<(Keypair, String), ChainError> {
    let hotkey = crate::wallet::read_hotkey(path).map_err(|e| ChainError::Wallet(e.to_string()))?;
    let err = |msg: &str| ChainError::Wallet(format!("wallet hotkey {}: {msg}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|_| err("cannot be read"))?;
    let file: SeedOnly = serde_json::from_str(&text).map_err(|_| err("not a hotkey JSON"))?;
    let hex_seed = file
        .secret_seed
        .ok_or_else(|| err("has no secretSeed: serve_axon must be signed by the hotkey"))?;
    let mut seed = [0u8; 32];
    hex::decode_to_slice(hex_seed.trim().trim_start_matches("0x"), &mut seed)
        .map_err(|_| err("secretSeed is not 32 bytes of hex"))?;
    let keypair = Keypair::from_secret_key(seed).map_err(|_| err("invalid secretSeed"));
    seed.fill(0);
    let keypair = keypair?;
    if keypair.public_key().0 != hotkey.public {
        return Err(err("secretSeed does not match the hotkey's address"));
    }
    Ok((keypair, hotkey.ss58))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_signer_from_wallet_seed() {
        // A throwaway seed: the file's address is derived from it, so the cross-check passes.
        let seed = [42u8; 32];
        let kp = Keypair::from_secret_key(seed).unwrap();
        let ss58 = crate::ss58::encode(42, &kp.public_key().0);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("hotkey");
        std::fs::write(
            &p,
            format!(
                r#"{{"secretSeed":"0x{}","ss58Address":"{ss58}"}}"#,
                hex::encode(seed)
            ),
        )
        .unwrap();
        let (signer, addr) = hotkey_keypair(&p).unwrap();
        assert_eq!(addr, ss58);
        let sig = signer.sign(b"message");
        assert!(subxt_signer::sr25519::verify(
            &sig,
            b"message",
            &signer.public_key()
        ));
        // The miner's own verifier (schnorrkel, context "substrate") accepts it too.
        let pk = schnorrkel::PublicKey::from_bytes(&signer.public_key().0).unwrap();
        let s = schnorrkel::Signature::from_bytes(&sig.0).unwrap();
        assert!(pk.verify_simple(b"substrate", b"message", &s).is_ok());

        // An address-only file cannot sign, and says so without quoting anything secret.
        std::fs::write(&p, format!(r#"{{"ss58Address":"{ss58}"}}"#)).unwrap();
        let e = hotkey_keypair(&p).err().unwrap().to_string();
        assert!(e.contains("no secretSeed"), "{e}");
    }
}
