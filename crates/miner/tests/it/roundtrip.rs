//! A validator-like client (sr25519 signing, bt headers) against the axon on 127.0.0.1.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use miner::headers::EMPTY_BODY_HASH;
use miner::{
    parse_prompt, router, Answerer, AxonConfig, AxonState, BlacklistPolicy, Metagraph, ModelCache,
    Neuron, NoChampions, NoHistory, PriceFeed,
};
use schnorrkel::{ExpansionMode, Keypair, MiniSecretKey};

fn keypair(b: u8) -> Keypair {
    MiniSecretKey::from_bytes(&[b; 32])
        .unwrap()
        .expand_to_keypair(ExpansionMode::Ed25519)
}

fn ss58(k: &Keypair) -> String {
    miner::ss58::encode(42, &k.public.to_bytes())
}

struct Validator {
    key: Keypair,
    hotkey: String,
    uuid: String,
}

impl Validator {
    fn new(b: u8) -> Self {
        let key = keypair(b);
        let hotkey = ss58(&key);
        Self {
            key,
            hotkey,
            uuid: format!("7cc8dcea-e619-11f1-b563-02fc000000{b:02x}"),
        }
    }

    /// Headers exactly as the synth dendrite sends them, signed for `miner_hotkey`.
    fn headers(&self, miner_hotkey: &str, nonce: u128) -> Vec<(&'static str, String)> {
        let msg = format!(
            "{nonce}.{}.{miner_hotkey}.{}.{EMPTY_BODY_HASH}",
            self.hotkey, self.uuid
        );
        let sig = self.key.sign_simple(b"substrate", msg.as_bytes());
        vec![
            ("name", "Simulation".into()),
            ("timeout", "30.0".into()),
            ("bt_header_axon_hotkey", miner_hotkey.into()),
            ("bt_header_dendrite_version", "10000001".into()),
            ("bt_header_dendrite_nonce", nonce.to_string()),
            ("bt_header_dendrite_uuid", self.uuid.clone()),
            ("bt_header_dendrite_hotkey", self.hotkey.clone()),
            (
                "bt_header_dendrite_signature",
                format!("0x{}", hex::encode(sig.to_bytes())),
            ),
            ("bt_header_input_obj_simulation_input", "e30=".into()),
            ("computed_body_hash", EMPTY_BODY_HASH.into()),
        ]
    }
}

fn now_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn body(asset: &str, length: i64, inc: i64) -> String {
    format!(
        r#"{{"name":"Simulation","timeout":12.0,"total_size":3106,"header_size":0,"dendrite":{{"status_code":null}},"axon":{{"status_code":null}},"computed_body_hash":"","simulation_input":{{"asset":"{asset}","start_time":"2026-05-14T14:06:00+00:00","time_increment":{inc},"time_length":{length},"num_simulations":1000}},"simulation_output":null}}"#
    )
}

/// Starts the axon on an ephemeral loopback port; returns its base URL and state.
async fn start(validators: &[&Validator], miner_hotkey: &str) -> (String, Arc<AxonState>) {
    let prices = PriceFeed::Static(HashMap::from([
        ("BTC".to_string(), 104_856.23),
        ("ETH".to_string(), 3_456.7),
    ]));
    start_with(validators, miner_hotkey, prices).await
}

/// [`start`] with a given price feed.
async fn start_with(
    validators: &[&Validator],
    miner_hotkey: &str,
    prices: PriceFeed,
) -> (String, Arc<AxonState>) {
    let mut neurons: Vec<Neuron> = validators
        .iter()
        .enumerate()
        .map(|(i, v)| Neuron {
            uid: i as u16,
            hotkey: v.hotkey.clone(),
            stake: 5000.0,
            validator_permit: true,
        })
        .collect();
    // A registered hotkey without a validator permit.
    neurons.push(Neuron {
        uid: 99,
        hotkey: Validator::new(99).hotkey,
        stake: 5000.0,
        validator_permit: false,
    });
    let (addr, state) = serve_axon(neurons, miner_hotkey, 42, prices).await;
    (format!("http://{addr}"), state)
}

/// An axon with no champions (reference GBM answers) serving `neurons`' metagraph on a
/// loopback port, with the peer address recorded as `miner serve` does.
pub(crate) async fn serve_axon(
    neurons: Vec<Neuron>,
    miner_hotkey: &str,
    seed_salt: u64,
    prices: PriceFeed,
) -> (SocketAddr, Arc<AxonState>) {
    let answerer = Answerer::new(
        ModelCache::new(Arc::new(NoChampions), Duration::from_secs(60)),
        Arc::new(NoHistory),
    );
    let cfg = AxonConfig {
        hotkey: miner_hotkey.to_string(),
        policy: BlacklistPolicy::default(),
        max_concurrent_answers: 2,
        seed_salt,
        self_check: true,
    };
    let state = Arc::new(AxonState::new(
        cfg,
        Metagraph::from_neurons(neurons),
        answerer,
        prices,
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, state)
}

async fn post(url: &str, headers: &[(&'static str, String)], body: String) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut req = client
        .post(format!("{url}/Simulation"))
        .header("content-type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_round_trip_validates_and_refusals_use_reference_statuses() {
    let vali = Validator::new(1);
    let miner_key = ss58(&keypair(2));
    let (url, state) = start(&[&vali], &miner_key).await;

    // A full LOW request answered with 200 and a body that passes sn50 validation.
    let nonce = now_ns();
    let b = body("BTC", 86_400, 300);
    let (status, text) = post(&url, &vali.headers(&miner_key, nonce), b.clone()).await;
    assert_eq!(status, 200, "{text}");
    let prompt = parse_prompt(b.as_bytes()).unwrap();
    assert_eq!(miner::axon::self_check(text.as_bytes(), &prompt), Ok(()));
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["simulation_input"]["asset"], "BTC");
    assert_eq!(v["simulation_output"][0], 1_778_767_560);
    assert_eq!(v["simulation_output"][1], 300);
    assert_eq!(v["simulation_output"][2][0], 104_856.23);
    assert_eq!(v["simulation_output"].as_array().unwrap().len(), 1002);

    // Replay of the same nonce: 401 with bittensor's message.
    let (status, text) = post(&url, &vali.headers(&miner_key, nonce), b.clone()).await;
    assert_eq!(status, 401);
    assert!(
        text.contains("Nonce is too old, a newer one was last processed"),
        "{text}"
    );

    // Signed for another miner's hotkey: 401 signature mismatch.
    let other = ss58(&keypair(3));
    let (status, text) = post(&url, &vali.headers(&other, now_ns()), b.clone()).await;
    assert_eq!(status, 401);
    assert!(text.contains("Signature mismatch"), "{text}");

    // A stale first nonce from a new uuid: 401.
    let mut stale = Validator::new(1);
    stale.uuid = "other-uuid".into();
    let (status, text) = post(
        &url,
        &stale.headers(&miner_key, now_ns() - 60_000_000_000),
        b.clone(),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        text.contains("Nonce is too old: acceptable delta is 34.00 seconds"),
        "{text}"
    );

    // Unknown and non-validator hotkeys: 403 with the reference reasons.
    let (status, text) = post(
        &url,
        &Validator::new(9).headers(&miner_key, now_ns()),
        b.clone(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        text.contains("Forbidden. Key is blacklisted: Unrecognized hotkey."),
        "{text}"
    );
    let (status, text) = post(
        &url,
        &Validator::new(99).headers(&miner_key, now_ns()),
        b.clone(),
    )
    .await;
    assert_eq!(status, 403);
    assert!(text.contains("Non-validator hotkey"), "{text}");

    // No signature at all: refused (unlike the Python axon).
    let mut h = vali.headers(&miner_key, now_ns());
    h.retain(|(k, _)| *k != "bt_header_dendrite_signature");
    assert_eq!(post(&url, &h, b.clone()).await.0, 401);

    // Malformed body: a clear 400, and the server keeps serving.
    let (status, text) = post(
        &url,
        &vali.headers(&miner_key, now_ns()),
        "{not json".into(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(text.contains("body is not a Simulation synapse"), "{text}");
    // Unknown asset with a static price table: 503 naming the asset.
    let (status, text) = post(
        &url,
        &vali.headers(&miner_key, now_ns()),
        body("DOGE", 3600, 60),
    )
    .await;
    assert_eq!(status, 503);
    assert!(text.contains("DOGE"), "{text}");
    // A HIGH request still works afterwards.
    let (status, text) = post(
        &url,
        &vali.headers(&miner_key, now_ns()),
        body("ETH", 3600, 60),
    )
    .await;
    assert_eq!(status, 200);
    let p = parse_prompt(body("ETH", 3600, 60).as_bytes()).unwrap();
    assert_eq!(miner::axon::self_check(text.as_bytes(), &p), Ok(()));

    // Metrics: per validator, in Prometheus text.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let m = reqwest::get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = format!(
        "synth_miner_requests_total{{validator=\"{}\",status=\"200\"}} 2",
        vali.hotkey
    );
    assert!(m.contains(&line), "{m}");
    assert!(
        m.contains(&format!(
            "synth_miner_requests_total{{validator=\"{}\",status=\"401\"}} 4",
            vali.hotkey
        )),
        "{m}"
    );
    assert!(
        m.contains(
            "synth_miner_answers_total{asset=\"BTC\",timeframe=\"low\",model=\"reference_gbm\"} 1"
        ),
        "{m}"
    );
    assert_eq!(state.metrics().checks(true), 2);
    assert_eq!(state.metrics().checks(false), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_answers_when_accepted() {
    let vali = Validator::new(4);
    let miner_key = ss58(&keypair(2));
    let (url, _) = start(&[&vali], &miner_key).await;
    let client = reqwest::Client::new();
    let mut req = client
        .post(format!("{url}/Simulation"))
        .header("accept-encoding", "gzip, deflate")
        .body(body("BTC", 3600, 60));
    for (k, v) in vali.headers(&miner_key, now_ns()) {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
    let bytes = resp.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let p = parse_prompt(body("BTC", 3600, 60).as_bytes()).unwrap();
    assert_eq!(miner::axon::self_check(text.as_bytes(), &p), Ok(()));
}

/// 64 validators at once, each a full LOW request signed by its own hotkey: all answered
/// with 200 (none timed out, each within its 30 s request timeout), self-checks included.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_validators() {
    let vals: Vec<Validator> = (10..74).map(Validator::new).collect();
    let refs: Vec<&Validator> = vals.iter().collect();
    let miner_key = ss58(&keypair(2));
    let (url, state) = start(&refs, &miner_key).await;
    let t0 = std::time::Instant::now();
    let mut tasks = Vec::new();
    for v in &vals {
        let h = v.headers(&miner_key, now_ns());
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            post(&url, &h, body("BTC", 86_400, 300)).await
        }));
    }
    let prompt = parse_prompt(body("BTC", 86_400, 300).as_bytes()).unwrap();
    let mut firsts = std::collections::HashSet::new();
    for t in tasks {
        let (status, text) = t.await.unwrap();
        assert_eq!(status, 200, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["simulation_output"].as_array().unwrap().len(), 1002);
        // Each validator gets its own sample (the seed mixes in the nonce).
        firsts.insert(v["simulation_output"][2][1].to_string());
        if firsts.len() == 1 {
            assert_eq!(miner::axon::self_check(text.as_bytes(), &prompt), Ok(()));
        }
    }
    eprintln!("64 concurrent LOW answers in {:?}", t0.elapsed());
    assert!(firsts.len() > 60);
    assert_eq!(state.metrics().requests_with_status(200), 64);
}

/// With live prices from a Hermes that cannot price the asset, the validator gets a 503 that
/// says why, and the axon keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unavailable_live_price_is_a_clear_503() {
    let vali = Validator::new(5);
    let miner_key = ss58(&keypair(2));
    // Nothing listens on this port.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hermes = format!("http://{}", l.local_addr().unwrap());
    drop(l);
    let (url, _) = start_with(&[&vali], &miner_key, PriceFeed::hermes(hermes, None)).await;
    let (status, text) = post(
        &url,
        &vali.headers(&miner_key, now_ns()),
        body("BTC", 3600, 60),
    )
    .await;
    assert_eq!(status, 503);
    assert!(text.contains("price service unavailable"), "{text}");
}

/// Sends `body` with `headers`; returns the status and the response headers.
async fn post_headers(
    url: &str,
    headers: &[(&'static str, String)],
    body: String,
) -> (u16, reqwest::header::HeaderMap) {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/Simulation"))
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.headers().clone())
}

fn h<'a>(map: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    map.get(name).map(|v| v.to_str().unwrap())
}

/// bittensor's dendrite reads the call's status from `bt_header_axon_status_code`: every
/// answer and every refusal carries the axon headers, with the status it was sent with.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axon_headers_on_the_answer_and_every_refusal() {
    let vali = Validator::new(6);
    let miner_key = ss58(&keypair(2));
    let (url, _) = start(&[&vali], &miner_key).await;

    let (status, m) = post_headers(
        &url,
        &vali.headers(&miner_key, now_ns()),
        body("BTC", 3600, 60),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(h(&m, "bt_header_axon_status_code"), Some("200"));
    assert_eq!(h(&m, "bt_header_axon_status_message"), Some("Success"));
    let t: f64 = h(&m, "bt_header_axon_process_time")
        .unwrap()
        .parse()
        .unwrap();
    assert!((0.0..30.0).contains(&t));
    assert_eq!(h(&m, "name"), Some("Simulation"));
    assert_eq!(
        h(&m, "timeout"),
        Some("12.0"),
        "the body's timeout, as bittensor"
    );
    assert_eq!(h(&m, "bt_header_input_obj_simulation_input"), Some("e30="));
    assert_eq!(h(&m, "computed_body_hash"), Some(EMPTY_BODY_HASH));
    for k in ["header_size", "total_size"] {
        assert!(h(&m, k).unwrap().parse::<u64>().is_ok(), "{k}");
    }
    // The answer set has no identity headers (bittensor's answer synapse comes from the body).
    assert_eq!(h(&m, "bt_header_dendrite_hotkey"), None);

    let sig_for_other = vali.headers(&ss58(&keypair(3)), now_ns());
    let mut unsigned = vali.headers(&miner_key, now_ns());
    unsigned.retain(|(k, _)| *k != "bt_header_dendrite_signature");
    let mut bad_header = vali.headers(&miner_key, now_ns());
    bad_header.push(("bt_header_dendrite_version", "ten".into()));
    bad_header.retain(|(k, v)| *k != "bt_header_dendrite_version" || v == "ten");
    type Case = (u16, Vec<(&'static str, String)>, String, &'static str);
    let cases: Vec<Case> = vec![
        (
            403,
            Validator::new(9).headers(&miner_key, now_ns()),
            body("BTC", 3600, 60),
            "Forbidden. Key is blacklisted: Unrecognized hotkey.",
        ),
        (
            401,
            sig_for_other,
            body("BTC", 3600, 60),
            "Not Verified with error: Signature mismatch",
        ),
        (
            401,
            unsigned,
            body("BTC", 3600, 60),
            "Not Verified with error: Missing signature",
        ),
        (
            400,
            bad_header,
            body("BTC", 3600, 60),
            "header bt_header_dendrite_version has an invalid value",
        ),
        (
            400,
            vali.headers(&miner_key, now_ns()),
            "{not json".into(),
            "invalid request: body is not a Simulation synapse",
        ),
        (
            503,
            vali.headers(&miner_key, now_ns()),
            body("DOGE", 3600, 60),
            "no price feed for asset",
        ),
        (
            413,
            vali.headers(&miner_key, now_ns()),
            "x".repeat(miner::axon::MAX_REQUEST_BYTES + 1),
            "length limit exceeded",
        ),
    ];
    // A synapse this axon does not serve: bittensor's 404, with the headers.
    let mut req = reqwest::Client::new().post(format!("{url}/Other"));
    for (k, v) in vali.headers(&miner_key, now_ns()) {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
    let m = resp.headers();
    assert_eq!(h(m, "bt_header_axon_status_code"), Some("404"));
    assert_eq!(
        h(m, "bt_header_axon_status_message"),
        Some("Synapse name 'Other' not found. Available synapses ['Simulation']")
    );
    assert_eq!(
        h(m, "bt_header_dendrite_hotkey"),
        Some(vali.hotkey.as_str())
    );

    for (want, headers, b, msg) in cases {
        let (status, m) = post_headers(&url, &headers, b).await;
        assert_eq!(status, want, "{msg}");
        assert_eq!(
            h(&m, "bt_header_axon_status_code"),
            Some(want.to_string().as_str()),
            "{msg}"
        );
        let sent = h(&m, "bt_header_axon_status_message").unwrap();
        assert!(sent.contains(msg), "{want}: {sent:?} should say {msg:?}");
        assert!(h(&m, "bt_header_axon_process_time")
            .unwrap()
            .parse::<f64>()
            .is_ok());
        assert_eq!(h(&m, "bt_header_axon_version"), Some("10000001"), "{msg}");
        assert_eq!(
            h(&m, "bt_header_axon_uuid").map(str::len),
            Some(36),
            "{msg}"
        );
        assert!(h(&m, "bt_header_axon_nonce")
            .unwrap()
            .parse::<u64>()
            .is_ok());
        // The hotkey the caller addressed, as bittensor echoes it.
        let addressed = headers
            .iter()
            .find(|(k, _)| *k == "bt_header_axon_hotkey")
            .map(|(_, v)| v.as_str());
        assert_eq!(h(&m, "bt_header_axon_hotkey"), addressed, "{msg}");
        assert_eq!(h(&m, "computed_body_hash"), Some(EMPTY_BODY_HASH));
        if msg.starts_with("header") {
            // Headers that do not parse: the synapse's default timeout, nothing echoed.
            assert_eq!(h(&m, "timeout"), Some("12.0"), "{msg}");
            assert_eq!(h(&m, "bt_header_dendrite_hotkey"), None, "{msg}");
        } else {
            assert_eq!(h(&m, "timeout"), Some("30.0"), "{msg}");
            // The caller's dendrite headers come back (bittensor echoes its synapse).
            assert!(h(&m, "bt_header_dendrite_nonce").is_some(), "{msg}");
            assert!(h(&m, "bt_header_dendrite_uuid").is_some(), "{msg}");
            assert!(h(&m, "bt_header_dendrite_hotkey").is_some(), "{msg}");
        }
    }
}
