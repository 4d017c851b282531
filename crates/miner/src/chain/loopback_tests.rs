//! [`ChainClient`] and [`ChainService`] against the fake node on 127.0.0.1 (real subxt client,
//! real WebSocket, finney's metadata): metagraph reads, a missing subnet, the stored-axon check
//! of `serve_axon`, and the background refresh keeping the last good metagraph.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::fake_node;
use super::finney_tests::{metadata, subnet_state_bytes, FINNEY};
use super::subnet_state::tests::{key, ALICE, BOB};
use super::{AxonEndpoint, ChainClient, ChainError, ChainService, Keypair, ServeOutcome};
use crate::metagraph::Metagraph;

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// AxonInfo { block, version, ip, port, ip_type, protocol, placeholder1, placeholder2 }.
fn axon_info_bytes(ip: u128, port: u16) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(4_000_000u64.to_le_bytes());
    b.extend(10_000_001u32.to_le_bytes());
    b.extend(ip.to_le_bytes());
    b.extend(port.to_le_bytes());
    b.extend([4, 4, 0, 0]);
    b
}

#[test]
fn chain_loopback_client_reads_metagraph_and_stored_axon() {
    let (url, node) = fake_node::start(FINNEY);
    node.lock().unwrap().subnet = Some(Ok(subnet_state_bytes(
        &metadata(),
        &[key(ALICE), key(BOB)],
        &[true, false],
        &[2_000_000_000_000, 0],
    )));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = match ChainClient::connect(&url, 50).await {
            Ok(c) => c,
            Err(e) => panic!("{e}; unknown methods: {:?}", node.lock().unwrap().unknown),
        };
        let g = c
            .metagraph()
            .await
            .unwrap_or_else(|e| panic!("{e}; unknown methods: {:?}", node.lock().unwrap().unknown));
        let a = g.get(ALICE).unwrap();
        assert_eq!((a.uid, a.stake, a.validator_permit), (0, 2000.0, true));
        assert_eq!(g.get(BOB).map(|n| n.uid), Some(1));

        node.lock().unwrap().subnet = None; // `None`: no such subnet
        assert!(matches!(
            c.subnet_rows().await,
            Err(ChainError::NoSubnet(50))
        ));
        node.lock().unwrap().subnet = Some(Err("boom".into()));
        let e = c.subnet_rows().await.unwrap_err().to_string();
        assert!(e.contains("get_subnet_state") && e.contains("boom"), "{e}");

        // serve_axon first compares with `Axons(netuid, hotkey)`: same endpoint, nothing sent.
        assert!(c.stored_axon(key(ALICE)).await.unwrap().is_none());
        node.lock().unwrap().storage = Some(axon_info_bytes(3_405_803_781, 8091));
        let kp = Keypair::from_secret_key([42; 32]).unwrap();
        let e = AxonEndpoint::new(50, "203.0.113.5".parse().unwrap(), 8091);
        assert_eq!(
            c.serve_axon(&e, &kp).await.unwrap(),
            ServeOutcome::AlreadyServed
        );
        let calls = node.lock().unwrap().calls.clone();
        assert!(!calls.iter().any(|m| m.starts_with("author_")), "{calls:?}");
    });
    assert!(
        node.lock().unwrap().unknown.is_empty(),
        "{:?}",
        node.lock().unwrap().unknown
    );
}

#[test]
fn chain_loopback_service_refresh_keeps_last_good_metagraph() {
    let m = metadata();
    let (url, node) = fake_node::start(FINNEY);
    node.lock().unwrap().subnet = Some(Ok(subnet_state_bytes(&m, &[key(ALICE)], &[true], &[5])));
    let (service, rows) = ChainService::start(&url, 50).unwrap();
    let current = Arc::new(Mutex::new(rows.to_metagraph()));
    let sink = current.clone();
    let guard = service.spawn(Duration::from_secs(1), None, move |g: Metagraph| {
        *sink.lock().unwrap() = g
    });

    // Refreshes fail: the first metagraph stays.
    node.lock().unwrap().subnet = Some(Err("node overloaded".into()));
    let calls = node.lock().unwrap().subnet_calls;
    wait_until("two failed refreshes", || {
        node.lock().unwrap().subnet_calls >= calls + 2
    });
    assert!(current.lock().unwrap().get(ALICE).is_some());

    // The chain answers again, with a new neuron set: it replaces the old one.
    node.lock().unwrap().subnet = Some(Ok(subnet_state_bytes(&m, &[key(BOB)], &[true], &[7])));
    wait_until("a good refresh", || {
        current.lock().unwrap().get(BOB).is_some()
    });
    assert!(current.lock().unwrap().get(ALICE).is_none());
    drop(guard);
}

/// `System.Events` holding one `ExtrinsicSuccess` for extrinsic 0 (phase `ApplyExtrinsic(0)`,
/// `RuntimeEvent::System(ExtrinsicSuccess { .. })`: the zero value of finney's `EventRecord`).
fn one_success_event() -> Vec<u8> {
    use subxt::ext::frame_decode::storage::StorageTypeInfo;
    use subxt::ext::scale_value;
    let m = metadata();
    let ty = m.storage_info("System", "Events").unwrap().value_id;
    let mut zeros = vec![4u8]; // one record
    zeros.extend([0u8; 4096]);
    let v = scale_value::scale::decode_as_type(&mut &zeros[..], ty, m.types())
        .unwrap()
        .remove_context();
    let text = v.to_string();
    assert!(
        text.contains("ApplyExtrinsic") && text.contains("ExtrinsicSuccess"),
        "{text}"
    );
    let mut bytes = Vec::new();
    scale_value::scale::encode_as_type(&v, ty, m.types(), &mut bytes).unwrap();
    bytes
}

#[test]
fn chain_loopback_serve_axon_submits_and_waits_for_success() {
    let (url, node) = fake_node::start(FINNEY);
    node.lock().unwrap().events = Some(one_success_event());
    let kp = Keypair::from_secret_key([42; 32]).unwrap();
    let e = AxonEndpoint::new(50, "203.0.113.5".parse().unwrap(), 8091);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = ChainClient::connect(&url, 50).await.unwrap();
        // Nothing stored yet: the call is signed, submitted and found successful in the block.
        match c.serve_axon(&e, &kp).await {
            Ok(ServeOutcome::Served { block }) => assert!(block.contains("0909"), "{block}"),
            other => panic!("{other:?}; unknown: {:?}", node.lock().unwrap().unknown),
        }
        let submitted = node.lock().unwrap().submitted.clone();
        assert_eq!(submitted.len(), 1);
        let bytes = hex::decode(submitted[0].trim_start_matches("0x")).unwrap();
        let m = metadata();
        let ext =
            subxt::ext::frame_decode::extrinsics::decode_extrinsic(&mut &bytes[..], &m, m.types())
                .unwrap();
        assert_eq!(ext.call_name(), "serve_axon");
        let sig = ext.signature_payload().unwrap();
        assert_eq!(&bytes[sig.address_range()][1..], &kp.public_key().0);

        // A node that refuses the transaction: a clear error, not a hang.
        node.lock().unwrap().tx_statuses = Some(vec![serde_json::json!("invalid")]);
        let err = c.serve_axon(&e, &kp).await.unwrap_err().to_string();
        assert!(err.contains("serve_axon rejected"), "{err}");
    });
    assert!(
        node.lock().unwrap().unknown.is_empty(),
        "{:?}",
        node.lock().unwrap().unknown
    );
}

/// Bytes of `SubtensorModule.serve_axon` extrinsics the fake node received.
fn submitted_bytes(node: &Mutex<fake_node::NodeState>) -> Vec<Vec<u8>> {
    node.lock()
        .unwrap()
        .submitted
        .iter()
        .map(|x| hex::decode(x.trim_start_matches("0x")).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn chain_loopback_serve_axon_again_when_the_external_address_changes() {
    use super::external_ip::tests::echo_server;
    use super::ip::ip_to_int;
    use super::{ExternalIp, ServePlan};
    let m = metadata();
    let (url, node) = fake_node::start(FINNEY);
    let old: std::net::IpAddr = "203.0.113.5".parse().unwrap();
    let new: std::net::IpAddr = "203.0.113.9".parse().unwrap();
    {
        let mut n = node.lock().unwrap();
        n.events = Some(one_success_event());
        n.subnet = Some(Ok(subnet_state_bytes(&m, &[key(ALICE)], &[true], &[5])));
        // The chain already holds the address the echo service answers first.
        n.storage = Some(axon_info_bytes(ip_to_int(old), 8091));
    }
    let answer = Arc::new(Mutex::new(old.to_string()));
    let plan = ServePlan {
        netuid: 50,
        ip: ExternalIp::Detect(echo_server(answer.clone())),
        port: 8091,
        keypair: Keypair::from_secret_key([42; 32]).unwrap(),
    };
    let (service, _) = ChainService::start(&url, 50).unwrap();
    let guard = service.spawn(Duration::from_millis(200), Some(plan), |_| {});
    let axon_reads = || {
        let n = node.lock().unwrap();
        n.calls.iter().filter(|c| *c == "state_getStorage").count()
    };
    // Several syncs find the same endpoint on chain: nothing is submitted.
    wait_until("three Axons reads", || axon_reads() >= 3);
    assert!(submitted_bytes(&node).is_empty());

    // The public address changes: the next sync publishes the new one.
    *answer.lock().unwrap() = new.to_string();
    wait_until("serve_axon of the new address", || {
        !submitted_bytes(&node).is_empty()
    });
    node.lock().unwrap().storage = Some(axon_info_bytes(ip_to_int(new), 8091));
    for ext in submitted_bytes(&node) {
        assert!(contains(&ext, &ip_to_int(new).to_le_bytes()), "new ip");
        assert!(!contains(&ext, &ip_to_int(old).to_le_bytes()), "old ip");
    }
    drop(guard);
    assert!(
        node.lock().unwrap().unknown.is_empty(),
        "{:?}",
        node.lock().unwrap().unknown
    );
}

/// A validator's keypair, hotkey (SS58) and chain account id.
fn validator(b: u8) -> (schnorrkel::Keypair, String, [u8; 32]) {
    let k = schnorrkel::MiniSecretKey::from_bytes(&[b; 32])
        .unwrap()
        .expand_to_keypair(schnorrkel::ExpansionMode::Ed25519);
    let id = k.public.to_bytes();
    (k, crate::ss58::encode(42, &id), id)
}

/// A signed HIGH prompt for BTC from validator `k` to `miner`: the HTTP status.
async fn ask(url: &str, k: &schnorrkel::Keypair, hotkey: &str, miner: &str) -> u16 {
    use crate::headers::EMPTY_BODY_HASH;
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let uuid = format!("uuid-{hotkey}");
    let msg = format!("{nonce}.{hotkey}.{miner}.{uuid}.{EMPTY_BODY_HASH}");
    let sig = k.sign_simple(b"substrate", msg.as_bytes());
    let body = r#"{"name":"Simulation","timeout":12.0,"simulation_input":{"asset":"BTC","start_time":"2026-05-14T14:06:00+00:00","time_increment":60,"time_length":3600,"num_simulations":100}}"#;
    let resp = reqwest::Client::new()
        .post(format!("{url}/Simulation"))
        .header("content-type", "application/json")
        .header("name", "Simulation")
        .header("timeout", "30.0")
        .header("bt_header_axon_hotkey", miner)
        .header("bt_header_dendrite_version", "10000001")
        .header("bt_header_dendrite_nonce", nonce.to_string())
        .header("bt_header_dendrite_uuid", uuid)
        .header("bt_header_dendrite_hotkey", hotkey)
        .header(
            "bt_header_dendrite_signature",
            format!("0x{}", hex::encode(sig.to_bytes())),
        )
        .header("computed_body_hash", EMPTY_BODY_HASH)
        .body(body)
        .send()
        .await
        .unwrap();
    resp.status().as_u16()
}

#[test]
fn chain_loopback_node_drop_keeps_answering_from_the_last_metagraph_then_resyncs() {
    use crate::{
        Answerer, AxonConfig, AxonState, BlacklistPolicy, ModelCache, NoChampions, NoHistory,
        PriceFeed,
    };
    let m = metadata();
    let (url, node) = fake_node::start(FINNEY);
    let (k1, v1, id1) = validator(7);
    let (k2, v2, id2) = validator(8);
    let miner = crate::ss58::encode(42, &[3; 32]);
    let stake = 5_000_000_000_000; // 5,000 TAO
    node.lock().unwrap().subnet = Some(Ok(subnet_state_bytes(&m, &[id1], &[true], &[stake])));

    let (service, rows) = ChainService::start(&url, 50).unwrap();
    let answerer = Answerer::new(
        ModelCache::new(Arc::new(NoChampions), Duration::from_secs(60)),
        Arc::new(NoHistory),
    );
    let config = AxonConfig {
        hotkey: miner.clone(),
        policy: BlacklistPolicy::default(),
        max_concurrent_answers: 2,
        seed_salt: 1,
        self_check: false,
    };
    let prices = PriceFeed::Static([("BTC".to_string(), 100_000.0)].into());
    let state = Arc::new(AxonState::new(
        config,
        rows.to_metagraph(),
        answerer,
        prices,
    ));
    let sink = state.clone();
    let guard = service.spawn(Duration::from_millis(200), None, move |g| {
        sink.set_metagraph(g)
    });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let axon = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = crate::router(state.clone())
            .into_make_service_with_connect_info::<std::net::SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    });
    assert_eq!(rt.block_on(ask(&axon, &k1, &v1, &miner)), 200);
    assert_eq!(rt.block_on(ask(&axon, &k2, &v2, &miner)), 403);

    // The node goes away: re-syncs and reconnects fail, the miner answers from the last
    // metagraph.
    fake_node::set_down(&node, true);
    wait_until("two refused reconnects", || {
        node.lock().unwrap().refused >= 2
    });
    assert_eq!(rt.block_on(ask(&axon, &k1, &v1, &miner)), 200);
    assert_eq!(rt.block_on(ask(&axon, &k2, &v2, &miner)), 403);
    assert!(state.metagraph().get(&v1).is_some());

    // It comes back with a second validator: the next sync takes it.
    node.lock().unwrap().subnet = Some(Ok(subnet_state_bytes(
        &m,
        &[id1, id2],
        &[true, true],
        &[stake, stake],
    )));
    fake_node::set_down(&node, false);
    wait_until("a re-sync after the node came back", || {
        state.metagraph().get(&v2).is_some()
    });
    assert_eq!(rt.block_on(ask(&axon, &k2, &v2, &miner)), 200);
    assert_eq!(rt.block_on(ask(&axon, &k1, &v1, &miner)), 200);
    drop(guard);
}
