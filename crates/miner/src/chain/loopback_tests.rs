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
