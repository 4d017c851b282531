//! The `bt_header_*` request headers a bittensor dendrite sends (bittensor's wire protocol: the
//! synapse's name, timeout, the dendrite's and axon's identities, nonce and signature).

use axum::http::HeaderMap;

/// `sha3_256("")`: the `computed_body_hash` every `Simulation` request carries, since the
/// synapse declares no hashed fields.
pub const EMPTY_BODY_HASH: &str =
    "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a";

/// bittensor 7.2.0 as `version_as_int`: from this version on, nonces must be recent.
pub const V_7_2_0: u64 = 7_002_000;

/// The synapse's default `timeout` when the header is absent.
pub const DEFAULT_TIMEOUT_S: f64 = 12.0;

/// Identity and timing of one request, as sent in the headers. Values are kept as the
/// strings sent where the signed message needs them verbatim.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DendriteHeaders {
    /// `name`: the synapse class name.
    pub name: Option<String>,
    /// `timeout`: seconds the validator waits.
    pub timeout_s: f64,
    /// `bt_header_dendrite_hotkey`: validator hotkey (SS58).
    pub hotkey: Option<String>,
    /// `bt_header_dendrite_nonce`, exactly as sent (decimal).
    pub nonce_str: Option<String>,
    /// The nonce parsed.
    pub nonce: Option<u64>,
    /// `bt_header_dendrite_uuid`.
    pub uuid: Option<String>,
    /// `bt_header_dendrite_version`.
    pub version: Option<u64>,
    /// `bt_header_dendrite_signature` (`0x` + hex).
    pub signature: Option<String>,
    /// `bt_header_dendrite_ip`.
    pub ip: Option<String>,
    /// `computed_body_hash` header value.
    pub body_hash: String,
    /// `bt_header_axon_hotkey`: the miner hotkey the validator believes it is calling.
    pub axon_hotkey: Option<String>,
    /// `bt_header_axon_ip`: our address as the caller knows it (echoed on refusals).
    pub axon_ip: Option<String>,
    /// `bt_header_axon_port`, as sent (echoed on refusals when it is a port number).
    pub axon_port: Option<String>,
}

/// A header that is present but does not parse (the Python axon answers 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("header {name} has an invalid value: {value:?}")]
pub struct HeaderError {
    /// Header name.
    pub name: &'static str,
    /// The offending value (never a secret: these are public request headers).
    pub value: String,
}

fn text(map: &HeaderMap, name: &'static str) -> Result<Option<String>, HeaderError> {
    match map.get(name) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .map(|s| Some(s.trim().to_string()))
            .map_err(|_| HeaderError {
                name,
                value: String::from_utf8_lossy(v.as_bytes()).into(),
            }),
    }
}

fn int(map: &HeaderMap, name: &'static str) -> Result<Option<u64>, HeaderError> {
    match text(map, name)? {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| HeaderError { name, value: s }),
    }
}

impl DendriteHeaders {
    /// Parses the headers (names are case-insensitive in `HeaderMap`).
    pub fn parse(map: &HeaderMap) -> Result<Self, HeaderError> {
        let timeout_s = match text(map, "timeout")? {
            None => DEFAULT_TIMEOUT_S,
            Some(s) => match s.parse::<f64>() {
                Ok(t) if t.is_finite() && t >= 0.0 => t,
                _ => {
                    return Err(HeaderError {
                        name: "timeout",
                        value: s,
                    })
                }
            },
        };
        let nonce_str = text(map, "bt_header_dendrite_nonce")?;
        let nonce = match &nonce_str {
            None => None,
            Some(s) => Some(s.parse().map_err(|_| HeaderError {
                name: "bt_header_dendrite_nonce",
                value: s.clone(),
            })?),
        };
        Ok(Self {
            name: text(map, "name")?,
            timeout_s,
            hotkey: text(map, "bt_header_dendrite_hotkey")?.filter(|s| !s.is_empty()),
            nonce_str,
            nonce,
            uuid: text(map, "bt_header_dendrite_uuid")?,
            version: int(map, "bt_header_dendrite_version")?,
            signature: text(map, "bt_header_dendrite_signature")?,
            ip: text(map, "bt_header_dendrite_ip")?,
            body_hash: text(map, "computed_body_hash")?.unwrap_or_default(),
            axon_hotkey: text(map, "bt_header_axon_hotkey")?,
            axon_ip: text(map, "bt_header_axon_ip")?,
            axon_port: text(map, "bt_header_axon_port")?,
        })
    }

    /// The exact message `default_verify` checks:
    /// `"{nonce}.{dendrite_hotkey}.{my_hotkey}.{uuid}.{computed_body_hash}"`, with Python's
    /// `str(None)` for absent parts.
    pub fn signed_message(&self, my_hotkey: &str) -> String {
        let none = "None";
        format!(
            "{}.{}.{}.{}.{}",
            self.nonce_str.as_deref().unwrap_or(none),
            self.hotkey.as_deref().unwrap_or(none),
            my_hotkey,
            self.uuid.as_deref().unwrap_or(none),
            self.body_hash
        )
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use axum::http::HeaderValue;

    /// Headers captured from the synth dendrite (§2.2).
    pub(crate) fn captured() -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in [
            ("name", "Simulation"),
            ("timeout", "83.270953"),
            ("bt_header_axon_ip", "127.0.0.1"),
            ("bt_header_axon_port", "18091"),
            ("bt_header_axon_hotkey", "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"),
            ("bt_header_dendrite_ip", "203.0.113.7"),
            ("bt_header_dendrite_version", "10000001"),
            ("bt_header_dendrite_nonce", "1795313256730679712"),
            ("bt_header_dendrite_uuid", "7cc8dcea-e619-11f1-b563-02fc00000001"),
            ("bt_header_dendrite_hotkey", "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"),
            ("bt_header_dendrite_signature", "0x4a754544ca9513e6d3a397cb732b46fd969d574180824e57b8ab63dcc5cd7f4162718216082d5c195f5c77342526f84ad7c3a2c3290b0c0db8bacb3f8dc0bd89"),
            ("bt_header_input_obj_simulation_input", "e30="),
            ("header_size", "464"),
            ("total_size", "3867"),
            ("computed_body_hash", EMPTY_BODY_HASH),
        ] {
            h.insert(k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn captured_headers_give_the_signed_message_that_verifies() {
        let d = DendriteHeaders::parse(&captured()).unwrap();
        assert_eq!(d.nonce, Some(1_795_313_256_730_679_712));
        assert_eq!(d.version, Some(10_000_001));
        assert!((d.timeout_s - 83.270953).abs() < 1e-12);
        let msg = d.signed_message("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
        assert_eq!(msg, "1795313256730679712.5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY.5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty.7cc8dcea-e619-11f1-b563-02fc00000001.a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
        let sig = d.signature.as_deref().unwrap();
        assert!(crate::crypto::verify(d.hotkey.as_deref().unwrap(), msg.as_bytes(), sig).is_ok());
        // Our own hotkey is the third field: another miner's key makes it fail.
        let other = d.signed_message("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
        assert!(
            crate::crypto::verify(d.hotkey.as_deref().unwrap(), other.as_bytes(), sig).is_err()
        );
    }

    #[test]
    fn bad_values_are_header_errors() {
        let mut h = captured();
        h.insert("bt_header_dendrite_nonce", HeaderValue::from_static("12x"));
        assert_eq!(
            DendriteHeaders::parse(&h).unwrap_err().name,
            "bt_header_dendrite_nonce"
        );
        let mut h = captured();
        h.insert("timeout", HeaderValue::from_static("soon"));
        assert_eq!(DendriteHeaders::parse(&h).unwrap_err().name, "timeout");
        let d = DendriteHeaders::parse(&HeaderMap::new()).unwrap();
        assert_eq!(d.timeout_s, DEFAULT_TIMEOUT_S);
        assert_eq!(d.hotkey, None);
    }
}
