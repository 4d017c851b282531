//! SS58 addresses (substrate's base58 account encoding with a blake2b checksum).

use blake2::{Blake2b512, Digest};

/// The generic substrate prefix that Bittensor uses.
pub const PREFIX_SUBSTRATE: u16 = 42;

/// Why an SS58 string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Ss58Error {
    /// Not valid base58.
    #[error("not base58: {0}")]
    Base58(String),
    /// Decoded length does not fit a 32-byte account with a 1- or 2-byte prefix.
    #[error("bad length {0} (expected a 32-byte account id)")]
    Length(usize),
    /// The 2-byte checksum does not match.
    #[error("bad checksum")]
    Checksum,
}

fn checksum(data: &[u8]) -> [u8; 2] {
    let mut h = Blake2b512::new();
    h.update(b"SS58PRE");
    h.update(data);
    let out = h.finalize();
    [out[0], out[1]]
}

/// Decodes an SS58 address into its prefix and 32-byte public key. Any prefix is accepted,
/// as `sp_core::from_ss58check` does.
pub fn decode(address: &str) -> Result<(u16, [u8; 32]), Ss58Error> {
    let raw = bs58::decode(address)
        .into_vec()
        .map_err(|e| Ss58Error::Base58(e.to_string()))?;
    let prefix_len = match raw.first() {
        Some(b) if *b < 64 => 1,
        Some(b) if *b < 128 => 2,
        _ => return Err(Ss58Error::Length(raw.len())),
    };
    if raw.len() != prefix_len + 32 + 2 {
        return Err(Ss58Error::Length(raw.len()));
    }
    let (body, sum) = raw.split_at(prefix_len + 32);
    if checksum(body) != sum {
        return Err(Ss58Error::Checksum);
    }
    let prefix = if prefix_len == 1 {
        u16::from(raw[0])
    } else {
        // Two-byte form: see substrate `sp_core::crypto::Ss58Codec`.
        let lower = (raw[0] << 2) | (raw[1] >> 6);
        let upper = raw[1] & 0b0011_1111;
        u16::from(lower) | (u16::from(upper) << 8)
    };
    let mut key = [0u8; 32];
    key.copy_from_slice(&body[prefix_len..]);
    Ok((prefix, key))
}

/// Encodes a 32-byte public key with a one-byte prefix (< 64, e.g. 42).
pub fn encode(prefix: u8, key: &[u8; 32]) -> String {
    let mut data = Vec::with_capacity(35);
    data.push(prefix & 0b0011_1111);
    data.extend_from_slice(key);
    let sum = checksum(&data);
    data.extend_from_slice(&sum);
    bs58::encode(data).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_PK: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    #[test]
    fn decodes_alice_and_round_trips() {
        let (prefix, key) = decode(ALICE).unwrap();
        assert_eq!(prefix, 42);
        assert_eq!(hex::encode(key), ALICE_PK);
        assert_eq!(encode(42, &key), ALICE);
    }

    #[test]
    fn decodes_section_6_12_coldkey() {
        let (_, key) = decode("5EFjXT22KrJ4pYpnEjn6juJE6NTc5v8EXxydBpj5FoZqRxyn").unwrap();
        assert_eq!(
            hex::encode(key),
            "60e1c89172003f1757f1244e43d4b6a0175a6c8f239c9a171b45d4ebfd0e5611"
        );
    }

    #[test]
    fn rejects_corrupted_addresses() {
        // Last character changed: checksum fails (or base58 length changes).
        let bad = format!("{}Z", &ALICE[..ALICE.len() - 1]);
        assert!(decode(&bad).is_err());
        assert!(matches!(decode("0OIl"), Err(Ss58Error::Base58(_))));
        assert!(matches!(decode("abc"), Err(Ss58Error::Length(_))));
    }
}
