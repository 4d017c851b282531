//! Fuzz target bodies: each takes arbitrary bytes, must never panic, and checks what must hold
//! for every input it accepts. Called by the cargo-fuzz binaries in `fuzz_targets/` (nightly)
//! and, on stable, by the miner crate's `fuzz_targets` test over `corpus/` and proptest inputs.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};

/// The miner's request parser: `bt_header_*` headers (the input up to the first blank line, as
/// `name: value` lines), then the JSON body (the rest), through the nonce window and the
/// response-header builder, as the axon runs them.
pub fn miner_request(data: &[u8]) {
    let split = data
        .windows(2)
        .position(|w| w == b"\n\n")
        .map_or((&data[..0], data), |i| (&data[..i], &data[i + 2..]));
    let (head, body) = split;
    let mut map = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(trim(&line[colon + 1..])),
        ) else {
            continue;
        };
        map.append(name, value);
    }
    let headers = miner::headers::DendriteHeaders::parse(&map);
    if let Ok(d) = &headers {
        assert!(d.timeout_s.is_finite() && d.timeout_s >= 0.0);
        let _ = d.signed_message("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty");
        let store = miner::nonce::NonceStore::new();
        let key = format!(
            "{}:{}",
            d.hotkey.as_deref().unwrap_or(""),
            d.uuid.as_deref().unwrap_or("")
        );
        let check = miner::nonce::NonceCheck {
            endpoint_key: &key,
            nonce: d.nonce,
            version: d.version,
            timeout_s: d.timeout_s,
            now_ns: 1_795_313_260_000_000_000,
        };
        let _ = store.check(&check);
        let _ = store.commit(&check);
    }
    let prompt = miner::parse_prompt(body);
    if let Ok(p) = &prompt {
        assert!(p.n_points >= 1);
        assert!(p.input.num_simulations >= 1);
        assert!(p.input.num_simulations * p.n_points <= miner::answer::MAX_VALUES);
        assert!(p.input.time_increment > 0 && p.input.time_increment <= i64::from(u32::MAX));
        assert!(p.input.time_length >= 0 && p.input.time_length <= i64::from(u32::MAX));
    }
    let id = miner::axon_headers::AxonIdentity::new("5Mine".into());
    let message = match &prompt {
        Ok(_) => "Success".to_string(),
        Err(e) => e.to_string(),
    };
    for status in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        let facts = miner::axon_headers::ResponseFacts {
            status,
            message: &message,
            process_time: Duration::from_millis(3),
            axon_nonce: 1,
            request: headers.as_ref().ok(),
            peer: None,
            body_timeout: prompt.as_ref().ok().and_then(|p| p.body_timeout),
            body_len: body.len(),
        };
        let mut out = HeaderMap::new();
        miner::axon_headers::apply(&mut out, &id, &facts);
        assert!(out.contains_key("bt_header_axon_status_code"));
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end.max(start)]
}

/// The sn50 response parser (`sn50::io::parse_prediction`, its fast path and the serde fallback)
/// and the validator's `validate_response` over the same bytes as JSON.
pub fn sn50_response(data: &[u8]) {
    if let Ok(p) = sn50::io::parse_prediction(data) {
        assert_eq!(p.as_flat().len(), p.n_paths() * p.n_points());
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        for exp in [
            sn50::Expected {
                start_unix: 1_778_767_560,
                time_increment: 300,
                time_length: 86_400,
                num_simulations: 1000,
            },
            sn50::Expected {
                start_unix: 0,
                time_increment: 1,
                time_length: 2,
                num_simulations: 1,
            },
            sn50::Expected {
                start_unix: i64::MAX,
                time_increment: i64::MAX,
                time_length: i64::MAX,
                num_simulations: usize::MAX,
            },
        ] {
            let _ = sn50::validate_response(Some(&v), &exp, Some(0.5));
            let _ = sn50::validate_response(v.get("simulation_output"), &exp, Some(0.5));
        }
    }
}

/// The experiment spec parser the bridge uses (`models::spec::ModelSpec::from_json`: serde,
/// then `validate`). An accepted spec writes back to JSON that parses to the same spec.
pub fn bridge_spec(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = models::spec::ModelSpec::from_json(s) {
        let again = models::spec::ModelSpec::from_json(&spec.to_json())
            .expect("a spec that parsed writes back to one that parses");
        assert_eq!(again, spec);
        let _ = spec.display_name();
        let _ = spec.horizon();
    }
}
