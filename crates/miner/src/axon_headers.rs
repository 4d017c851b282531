//! The response headers bittensor's axon sets (bittensor 10.0.1 `Synapse.to_headers`, as called
//! by its middleware). A stock `bittensor.Dendrite` takes the call's status from
//! `bt_header_axon_status_code`: without it a 200 answer reads as a failure (`is_success` false,
//! `status_code` and `process_time` `None`).
//!
//! bittensor sends two shapes, and so do we:
//! - **answer** (the synapse the forward function returned, built from the request body):
//!   `name`, `timeout` (the body's, `12.0` by default), `bt_header_axon_status_code: 200`,
//!   `bt_header_axon_status_message: Success`, `bt_header_axon_process_time`,
//!   `bt_header_input_obj_simulation_input: e30=`, `header_size`, `total_size`,
//!   `computed_body_hash`;
//! - **refusal** (the synapse built from the request headers): the same, with the request's
//!   `timeout`, the refusal's status and message, plus the axon's identity (`ip`, `port`, `hotkey`
//!   as the caller addressed us, our `version`, `nonce`, `uuid`) and the caller's dendrite
//!   headers echoed (`ip`/`port` of the TCP peer, `version`, `nonce`, `uuid`, `hotkey`,
//!   `signature`).
//!
//! Differences, on purpose: `header_size`/`total_size` are byte counts (Python sends
//! `sys.getsizeof` values, which carry no meaning); no `bt_header_axon_signature` on refusals (the
//! axon keeps no secret key; no dendrite checks it).

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

use crate::headers::{DendriteHeaders, DEFAULT_TIMEOUT_S, EMPTY_BODY_HASH};

/// `version_as_int` of the bittensor we speak (10.0.1: `major·10⁶ + minor·10³ + patch`).
pub const AXON_VERSION: u64 = 10_000_001;

/// The synapse name: the route.
pub const SYNAPSE_NAME: &str = "Simulation";

/// `bt_header_input_obj_simulation_input`: base64 of `{}`, bittensor's dummy for the required field.
pub const INPUT_OBJ_SIMULATION_INPUT: &str = "e30=";

/// Longest status message sent in a header (the full message is in the JSON body).
pub const MAX_STATUS_MESSAGE: usize = 512;

/// Who this axon is, for the refusal headers.
#[derive(Debug, Clone)]
pub struct AxonIdentity {
    /// Our hotkey (SS58), sent when the caller did not address one.
    pub hotkey: String,
    /// One uuid per axon process (bittensor: `uuid1` at start).
    pub uuid: String,
}

impl AxonIdentity {
    /// An identity with a fresh random (version 4) uuid.
    pub fn new(hotkey: String) -> Self {
        let b: [u8; 16] = rand::random();
        let mut b = b;
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex::encode(b);
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        );
        Self { hotkey, uuid }
    }
}

/// Python's `str(float)` for the values a dendrite parses back with `float()`: integral values
/// keep a `.0` (`12.0`), others are the shortest round-trip decimal.
pub fn py_float(x: f64) -> String {
    if !x.is_finite() {
        return "0.0".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// A message as a header value: printable ASCII only (others become `?`), at most
/// [`MAX_STATUS_MESSAGE`] characters, so any refusal reason can be sent.
pub fn header_text(s: &str) -> HeaderValue {
    let clean: String = s
        .chars()
        .take(MAX_STATUS_MESSAGE)
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .collect();
    HeaderValue::from_str(clean.trim()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// What a response's headers are made of.
#[derive(Debug, Clone)]
pub struct ResponseFacts<'a> {
    /// The response status.
    pub status: StatusCode,
    /// `Success` for 200, else the refusal's message.
    pub message: &'a str,
    /// Time since the request arrived.
    pub process_time: Duration,
    /// `time_ns()` when the request arrived (the axon's nonce).
    pub axon_nonce: u128,
    /// The request's parsed headers, when they parsed.
    pub request: Option<&'a DendriteHeaders>,
    /// The TCP peer, when the server records it.
    pub peer: Option<SocketAddr>,
    /// The body's `timeout` (answers only; refusals use the request header's).
    pub body_timeout: Option<f64>,
    /// Length of the response body as sent.
    pub body_len: usize,
}

/// The headers, in bittensor's order (names lowercase, as bittensor writes them).
pub fn response_headers(
    id: &AxonIdentity,
    f: &ResponseFacts<'_>,
) -> Vec<(&'static str, HeaderValue)> {
    let text = |s: &str| header_text(s);
    let num = |n: u128| HeaderValue::from(n.min(u128::from(u64::MAX)) as u64);
    let answer = f.status == StatusCode::OK;
    let timeout = if answer {
        f.body_timeout.unwrap_or(DEFAULT_TIMEOUT_S)
    } else {
        f.request.map_or(DEFAULT_TIMEOUT_S, |d| d.timeout_s)
    };
    let mut h: Vec<(&'static str, HeaderValue)> = vec![
        ("name", HeaderValue::from_static(SYNAPSE_NAME)),
        ("timeout", text(&py_float(timeout))),
        (
            "bt_header_axon_status_code",
            HeaderValue::from(f.status.as_u16()),
        ),
        ("bt_header_axon_status_message", text(f.message)),
        (
            "bt_header_axon_process_time",
            text(&py_float(f.process_time.as_secs_f64())),
        ),
    ];
    if !answer {
        let d = f.request;
        let opt = |v: Option<&String>| v.map(|s| text(s));
        let port_ok = |v: Option<&String>| v.filter(|s| s.parse::<u16>().is_ok()).map(|s| text(s));
        let mut push = |name: &'static str, v: Option<HeaderValue>| {
            if let Some(v) = v {
                h.push((name, v));
            }
        };
        push("bt_header_axon_ip", opt(d.and_then(|d| d.axon_ip.as_ref())));
        push(
            "bt_header_axon_port",
            port_ok(d.and_then(|d| d.axon_port.as_ref())),
        );
        push(
            "bt_header_axon_version",
            Some(HeaderValue::from(AXON_VERSION)),
        );
        push("bt_header_axon_nonce", Some(num(f.axon_nonce)));
        push("bt_header_axon_uuid", Some(text(&id.uuid)));
        let axon_hotkey = d
            .and_then(|d| d.axon_hotkey.clone())
            .unwrap_or_else(|| id.hotkey.clone());
        push("bt_header_axon_hotkey", Some(text(&axon_hotkey)));
        let peer_ip = f.peer.map(|p| p.ip().to_string());
        push(
            "bt_header_dendrite_ip",
            opt(peer_ip.as_ref().or(d.and_then(|d| d.ip.as_ref()))),
        );
        push(
            "bt_header_dendrite_port",
            f.peer.map(|p| HeaderValue::from(p.port())),
        );
        push(
            "bt_header_dendrite_version",
            d.and_then(|d| d.version).map(HeaderValue::from),
        );
        push(
            "bt_header_dendrite_nonce",
            d.and_then(|d| d.nonce).map(HeaderValue::from),
        );
        push(
            "bt_header_dendrite_uuid",
            opt(d.and_then(|d| d.uuid.as_ref())),
        );
        push(
            "bt_header_dendrite_hotkey",
            opt(d.and_then(|d| d.hotkey.as_ref())),
        );
        push(
            "bt_header_dendrite_signature",
            opt(d.and_then(|d| d.signature.as_ref())),
        );
    }
    h.push((
        "bt_header_input_obj_simulation_input",
        HeaderValue::from_static(INPUT_OBJ_SIMULATION_INPUT),
    ));
    let header_size: usize = h.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
        + "header_size".len()
        + "total_size".len()
        + "computed_body_hash".len()
        + EMPTY_BODY_HASH.len();
    h.push(("header_size", HeaderValue::from(header_size)));
    h.push(("total_size", HeaderValue::from(header_size + f.body_len)));
    h.push((
        "computed_body_hash",
        HeaderValue::from_static(EMPTY_BODY_HASH),
    ));
    h
}

/// Sets the headers of [`response_headers`] on `map` (replacing any of the same name).
pub fn apply(map: &mut HeaderMap, id: &AxonIdentity, f: &ResponseFacts<'_>) {
    for (k, v) in response_headers(id, f) {
        map.insert(HeaderName::from_static(k), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: StatusCode, d: Option<&DendriteHeaders>) -> ResponseFacts<'_> {
        ResponseFacts {
            status,
            message: if status == StatusCode::OK {
                "Success"
            } else {
                "Forbidden. Key is blacklisted: Unrecognized hotkey."
            },
            process_time: Duration::from_millis(1234),
            axon_nonce: 1_795_313_256_730_679_999,
            request: d,
            peer: Some("127.0.0.1:50123".parse().unwrap()),
            body_timeout: Some(12.0),
            body_len: 1000,
        }
    }

    fn get<'a>(h: &'a [(&'static str, HeaderValue)], k: &str) -> Option<&'a str> {
        h.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_str().unwrap())
    }

    #[test]
    fn python_float_strings() {
        assert_eq!(py_float(12.0), "12.0");
        assert_eq!(py_float(83.270953), "83.270953");
        assert_eq!(py_float(0.0123), "0.0123");
        assert_eq!(py_float(f64::NAN), "0.0");
    }

    #[test]
    fn answer_headers_are_the_python_answer_set() {
        let id = AxonIdentity::new("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty".into());
        let h = response_headers(&id, &facts(StatusCode::OK, None));
        let names: Vec<&str> = h.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "name",
                "timeout",
                "bt_header_axon_status_code",
                "bt_header_axon_status_message",
                "bt_header_axon_process_time",
                "bt_header_input_obj_simulation_input",
                "header_size",
                "total_size",
                "computed_body_hash"
            ]
        );
        assert_eq!(get(&h, "bt_header_axon_status_code"), Some("200"));
        assert_eq!(get(&h, "bt_header_axon_status_message"), Some("Success"));
        assert_eq!(get(&h, "bt_header_axon_process_time"), Some("1.234"));
        assert_eq!(get(&h, "timeout"), Some("12.0"));
        let hs: usize = get(&h, "header_size").unwrap().parse().unwrap();
        let ts: usize = get(&h, "total_size").unwrap().parse().unwrap();
        assert_eq!(ts, hs + 1000);
    }

    #[test]
    fn refusal_headers_echo_the_dendrite_and_name_the_axon() {
        let id = AxonIdentity::new("5Mine".into());
        assert_eq!(id.uuid.len(), 36);
        assert_eq!(&id.uuid[14..15], "4");
        let d = DendriteHeaders::parse(&crate::headers::tests::captured()).unwrap();
        let h = response_headers(&id, &facts(StatusCode::FORBIDDEN, Some(&d)));
        assert_eq!(get(&h, "bt_header_axon_status_code"), Some("403"));
        assert_eq!(
            get(&h, "bt_header_axon_status_message"),
            Some("Forbidden. Key is blacklisted: Unrecognized hotkey.")
        );
        assert_eq!(get(&h, "timeout"), Some("83.270953"));
        assert_eq!(get(&h, "bt_header_axon_ip"), Some("127.0.0.1"));
        assert_eq!(get(&h, "bt_header_axon_port"), Some("18091"));
        assert_eq!(get(&h, "bt_header_axon_version"), Some("10000001"));
        assert_eq!(get(&h, "bt_header_axon_nonce"), Some("1795313256730679999"));
        assert_eq!(get(&h, "bt_header_axon_uuid"), Some(id.uuid.as_str()));
        assert_eq!(
            get(&h, "bt_header_axon_hotkey"),
            Some("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty")
        );
        assert_eq!(get(&h, "bt_header_dendrite_ip"), Some("127.0.0.1"));
        assert_eq!(get(&h, "bt_header_dendrite_port"), Some("50123"));
        assert_eq!(get(&h, "bt_header_dendrite_version"), Some("10000001"));
        assert_eq!(
            get(&h, "bt_header_dendrite_nonce"),
            Some("1795313256730679712")
        );
        assert_eq!(
            get(&h, "bt_header_dendrite_uuid"),
            Some("7cc8dcea-e619-11f1-b563-02fc00000001")
        );
        assert_eq!(
            get(&h, "bt_header_dendrite_hotkey"),
            Some("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY")
        );
        assert!(get(&h, "bt_header_dendrite_signature")
            .unwrap()
            .starts_with("0x4a75"));
        assert_eq!(get(&h, "computed_body_hash"), Some(EMPTY_BODY_HASH));
        // Headers that did not parse: still a status, a message and our identity.
        let h = response_headers(&id, &facts(StatusCode::BAD_REQUEST, None));
        assert_eq!(get(&h, "bt_header_axon_status_code"), Some("400"));
        assert_eq!(get(&h, "bt_header_axon_hotkey"), Some("5Mine"));
        assert_eq!(get(&h, "bt_header_dendrite_ip"), Some("127.0.0.1"));
        assert_eq!(get(&h, "bt_header_dendrite_hotkey"), None);
    }

    #[test]
    fn any_message_fits_a_header() {
        let v = header_text("no price feed for asset \"ÐOGE\"\r\nx-evil: 1");
        assert_eq!(
            v.to_str().unwrap(),
            "no price feed for asset \"?OGE\"??x-evil: 1"
        );
        assert_eq!(header_text(&"a".repeat(5000)).len(), MAX_STATUS_MESSAGE);
    }
}
