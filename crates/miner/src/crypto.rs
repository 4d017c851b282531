//! sr25519 signature checks as bittensor's `Keypair.verify` does them (signing context
//! `substrate`, with the polkadot-js `<Bytes>…</Bytes>` wrapping as a second try).

use schnorrkel::{PublicKey, Signature};

/// The substrate signing context.
pub const SIGNING_CTX: &[u8] = b"substrate";

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The hotkey is not a valid SS58 address.
    #[error("invalid hotkey address: {0}")]
    Address(#[from] crate::ss58::Ss58Error),
    /// The signature is not `0x` + 128 hex characters of a valid sr25519 signature.
    #[error("malformed signature: {0}")]
    Malformed(String),
    /// Well-formed, but it does not verify.
    #[error("signature mismatch")]
    Mismatch,
}

/// Parses a hex signature (with or without `0x`) into an sr25519 signature.
pub fn parse_signature(sig_hex: &str) -> Result<Signature, SignatureError> {
    let s = sig_hex.strip_prefix("0x").unwrap_or(sig_hex);
    let bytes = hex::decode(s).map_err(|e| SignatureError::Malformed(e.to_string()))?;
    if bytes.len() != 64 {
        return Err(SignatureError::Malformed(format!(
            "{} bytes, expected 64",
            bytes.len()
        )));
    }
    Signature::from_bytes(&bytes).map_err(|e| SignatureError::Malformed(e.to_string()))
}

/// Verifies `sig_hex` over `message` for the SS58 `hotkey`: raw message first, then the
/// `<Bytes>` wrapped form, like `bittensor_wallet.Keypair.verify`.
pub fn verify(hotkey: &str, message: &[u8], sig_hex: &str) -> Result<(), SignatureError> {
    let (_, key) = crate::ss58::decode(hotkey)?;
    let public = PublicKey::from_bytes(&key)
        .map_err(|e| SignatureError::Address(crate::ss58::Ss58Error::Base58(e.to_string())))?;
    let sig = parse_signature(sig_hex)?;
    if public.verify_simple(SIGNING_CTX, message, &sig).is_ok() {
        return Ok(());
    }
    let mut wrapped = Vec::with_capacity(message.len() + 15);
    wrapped.extend_from_slice(b"<Bytes>");
    wrapped.extend_from_slice(message);
    wrapped.extend_from_slice(b"</Bytes>");
    public
        .verify_simple(SIGNING_CTX, &wrapped, &sig)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A request captured from the synth dendrite (validator //Alice,
    // miner //Bob).
    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const MSG: &str = "1795313256730679712.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty.7cc8dcea-e619-11f1-b563-02fc00000001.a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";
    const SIG: &str = "0x4a754544ca9513e6d3a397cb732b46fd969d574180824e57b8ab63dcc5cd7f4162718216082d5c195f5c77342526f84ad7c3a2c3290b0c0db8bacb3f8dc0bd89";

    #[test]
    fn captured_axon_request_verifies() {
        assert_eq!(verify(ALICE, MSG.as_bytes(), SIG), Ok(()));
        // Without the 0x prefix too.
        assert_eq!(verify(ALICE, MSG.as_bytes(), &SIG[2..]), Ok(()));
    }

    #[test]
    fn any_changed_message_byte_fails() {
        let msg = MSG.as_bytes();
        for i in 0..msg.len() {
            let mut m = msg.to_vec();
            m[i] ^= 0x01;
            assert_eq!(
                verify(ALICE, &m, SIG),
                Err(SignatureError::Mismatch),
                "byte {i}"
            );
        }
    }

    #[test]
    fn changed_signature_or_key_fails() {
        let sig = hex::decode(&SIG[2..]).unwrap();
        for i in 0..64 {
            let mut s = sig.clone();
            s[i] ^= 0x01;
            assert!(
                verify(ALICE, MSG.as_bytes(), &hex::encode(&s)).is_err(),
                "sig byte {i}"
            );
        }
        let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
        assert_eq!(
            verify(bob, MSG.as_bytes(), SIG),
            Err(SignatureError::Mismatch)
        );
        assert!(matches!(
            verify(ALICE, MSG.as_bytes(), "0x1234"),
            Err(SignatureError::Malformed(_))
        ));
        assert!(matches!(
            verify("nope", MSG.as_bytes(), SIG),
            Err(SignatureError::Address(_))
        ));
    }

    #[test]
    fn polkadot_js_bytes_wrapped_coldkey_vector_verifies() {
        // §6.12 repository vector: the signature is over the `<Bytes>`-wrapped message.
        let addr = "5EFjXT22KrJ4pYpnEjn6juJE6NTc5v8EXxydBpj5FoZqRxyn";
        let sig = "449998ce4fbdc7c8781e5215a6739d72bfbf61e6b626a9e126f1f7f39903f55c6fadbaa18f8f264bca103b4c66c74162980f495cac5430153d87ea96c629158e";
        let wrapped = b"<Bytes>On 2024-11-25 09:17:46.955763 UTC None</Bytes>";
        assert_eq!(verify(addr, wrapped, sig), Ok(()));
        // The inner message verifies through the <Bytes> retry.
        assert_eq!(
            verify(addr, b"On 2024-11-25 09:17:46.955763 UTC None", sig),
            Ok(())
        );
        assert!(verify(addr, b"On 2024-11-25 09:17:46.955763 UTC Nonf", sig).is_err());
    }
}
