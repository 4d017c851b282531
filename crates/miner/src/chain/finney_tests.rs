//! Our dynamic calls checked against a real finney metadata snapshot
//! (`tests/fixtures/finney_metadata.scale`, see the README there): the call, runtime API and
//! storage names exist, our values encode to their real types, and answers decoded from those
//! types (as subxt does at run time) map as expected.

use subxt::dynamic::Value;
use subxt::ext::frame_decode;
use subxt::ext::scale_decode::IntoVisitor;
use subxt::ext::scale_value::{self, Composite, ValueDef};
use subxt::Metadata;

use super::axon_call::{AxonEndpoint, PALLET};
use super::client::{AXONS, GET_SUBNET_STATE, SUBNET_INFO_API};
use super::subnet_state::tests::{key, ALICE, BOB};
use super::subnet_state::SubnetRows;

pub(crate) const FINNEY: &[u8] = include_bytes!("../../tests/fixtures/finney_metadata.scale");

pub(crate) fn metadata() -> Metadata {
    Metadata::decode_from(FINNEY).expect("fixture decodes")
}

/// A value of type `ty` whose every field is zero/empty: decoded from zero bytes (compact
/// numbers, vectors and options all read 0 as zero/empty/None).
fn zero_value(m: &Metadata, ty: u32) -> Value {
    let zeros = [0u8; 4096];
    scale_value::scale::decode_as_type(&mut &zeros[..], ty, m.types())
        .expect("zero bytes decode")
        .remove_context()
}

/// Replaces named fields of a composite value.
fn with_fields(v: Value, set: &[(&str, Value)]) -> Value {
    let ValueDef::Composite(Composite::Named(fields)) = v.value else {
        panic!("a struct");
    };
    let fields = fields.into_iter().map(|(name, old)| {
        let new = set.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
        (name, new.unwrap_or(old))
    });
    Value::named_composite(fields)
}

fn list(vals: impl IntoIterator<Item = Value>) -> Value {
    Value::unnamed_composite(vals)
}

/// The SCALE answer of `get_subnet_state` (`Some(SubnetState)` of finney's real type) with
/// these columns and every other column empty.
pub(crate) fn subnet_state_bytes(
    m: &Metadata,
    keys: &[[u8; 32]],
    permits: &[bool],
    stakes: &[u64],
) -> Vec<u8> {
    let out_ty = m
        .runtime_api_trait_by_name(SUBNET_INFO_API)
        .and_then(|t| t.method_by_name(GET_SUBNET_STATE))
        .expect("SubnetInfoRuntimeApi.get_subnet_state in finney's metadata")
        .output_ty();
    // `Some(state)` with every column empty, then our three columns filled in.
    let mut some = vec![1u8];
    some.extend([0u8; 4095]);
    let empty = scale_value::scale::decode_as_type(&mut &some[..], out_ty, m.types())
        .expect("Some(zeroed SubnetState) decodes")
        .remove_context();
    let ValueDef::Variant(var) = empty.value else {
        panic!("Option is a variant");
    };
    assert_eq!(var.name, "Some");
    let state = var.values.into_values().next().unwrap();
    let state = with_fields(
        state,
        &[
            ("hotkeys", list(keys.iter().map(Value::from_bytes))),
            (
                "validator_permit",
                list(permits.iter().map(|p| Value::bool(*p))),
            ),
            (
                "total_stake",
                list(stakes.iter().map(|s| Value::u128(u128::from(*s)))),
            ),
        ],
    );
    let value = Value::unnamed_variant("Some", [state]);
    let mut bytes = Vec::new();
    scale_value::scale::encode_as_type(&value, out_ty, m.types(), &mut bytes)
        .expect("a SubnetState encodes");
    bytes
}

#[test]
fn chain_finney_serve_axon_encodes_to_call_index_4() {
    let m = metadata();
    let e = AxonEndpoint::new(50, "203.0.113.5".parse().unwrap(), 8091);
    let p = e.payload();
    let bytes = frame_decode::extrinsics::encode_call_data(
        p.pallet_name(),
        p.call_name(),
        p.call_data(),
        &m,
        m.types(),
    )
    .expect("serve_axon encodes against finney's metadata");
    let pallet = m.pallet_by_name(PALLET).expect("SubtensorModule");
    let mut want = vec![pallet.call_index(), 4];
    want.extend(50u16.to_le_bytes()); // netuid: NetUid(u16)
    want.extend(10_000_001u32.to_le_bytes()); // version
    want.extend(3_405_803_781u128.to_le_bytes()); // ip 203.0.113.5
    want.extend(8091u16.to_le_bytes()); // port
    want.extend([4, 4, 0, 0]); // ip_type, protocol, placeholder1, placeholder2
    assert_eq!(bytes, want);
}

#[test]
fn chain_finney_subnet_state_round_trip() {
    let m = metadata();
    let args = frame_decode::runtime_apis::encode_runtime_api_inputs(
        SUBNET_INFO_API,
        GET_SUBNET_STATE,
        (50u16,),
        &m,
        m.types(),
    )
    .expect("get_subnet_state(netuid) encodes");
    assert_eq!(args, 50u16.to_le_bytes());
    let bytes = subnet_state_bytes(
        &m,
        &[key(ALICE), key(BOB)],
        &[true, false],
        &[1_234_500_000_000, 20_000_000_000],
    );

    // Decoded exactly as `ChainClient::subnet_rows` does at run time.
    let decoded: Value = frame_decode::runtime_apis::decode_runtime_api_response(
        SUBNET_INFO_API,
        GET_SUBNET_STATE,
        &mut &bytes[..],
        &m,
        m.types(),
        Value::into_visitor(),
    )
    .expect("decodes");
    let rows = SubnetRows::from_value(&decoded).unwrap().unwrap();
    assert_eq!(rows.hotkeys, vec![key(ALICE), key(BOB)]);
    assert_eq!(rows.validator_permit, vec![true, false]);
    assert_eq!(rows.total_stake, vec![1_234_500_000_000, 20_000_000_000]);
    let g = rows.to_metagraph();
    assert_eq!(g.get(ALICE).map(|n| n.stake), Some(1234.5));

    // A missing subnet is `None`.
    let none = frame_decode::runtime_apis::decode_runtime_api_response(
        SUBNET_INFO_API,
        GET_SUBNET_STATE,
        &mut &[0u8][..],
        &m,
        m.types(),
        Value::into_visitor(),
    )
    .unwrap();
    assert_eq!(SubnetRows::from_value(&none).unwrap(), None);
}

#[test]
fn chain_finney_axons_storage_and_axon_info() {
    use frame_decode::storage::StorageTypeInfo;
    let m = metadata();
    let info = m
        .storage_info(PALLET, AXONS)
        .expect("SubtensorModule.Axons");
    assert_eq!(info.keys.len(), 2, "Axons is keyed by (netuid, hotkey)");
    let key_bytes = frame_decode::storage::encode_storage_key(
        PALLET,
        AXONS,
        (50u16, key(ALICE)),
        &m,
        m.types(),
    )
    .expect("(netuid, account) encodes as the Axons key");
    // prefix (32) + netuid Identity (2) + Blake2_128Concat(account) (16 + 32)
    assert_eq!(key_bytes.len(), 32 + 2 + 48);
    assert_eq!(&key_bytes[32..34], &50u16.to_le_bytes());
    assert_eq!(&key_bytes[50..], &key(ALICE));

    let e = AxonEndpoint::new(50, "203.0.113.5".parse().unwrap(), 8091);
    let stored = with_fields(
        zero_value(&m, info.value_id),
        &[
            ("block", Value::u128(4_000_000)),
            ("version", Value::u128(10_000_001)),
            ("ip", Value::u128(3_405_803_781)),
            ("port", Value::u128(8091)),
            ("ip_type", Value::u128(4)),
            ("protocol", Value::u128(4)),
        ],
    );
    let mut bytes = Vec::new();
    scale_value::scale::encode_as_type(&stored, info.value_id, m.types(), &mut bytes).unwrap();
    let decoded = scale_value::scale::decode_as_type(&mut &bytes[..], info.value_id, m.types())
        .unwrap()
        .remove_context();
    assert!(e.matches_stored(&decoded));
    let moved = AxonEndpoint::new(50, "203.0.113.6".parse().unwrap(), 8091);
    assert!(!moved.matches_stored(&decoded));
}

/// `serve_axon` is signed with subxt's default transaction extensions: every extension finney
/// declares must be one of those, or carry no data (subtensor's own are zero-sized), otherwise
/// signing would fail at run time.
#[test]
fn chain_finney_transaction_extensions_are_signable() {
    const KNOWN: [&str; 9] = [
        "VerifyMultiSignature",
        "CheckSpecVersion",
        "CheckTxVersion",
        "CheckNonce",
        "CheckGenesis",
        "CheckMortality",
        "ChargeAssetTxPayment",
        "ChargeTransactionPayment",
        "CheckMetadataHash",
    ];
    let m = metadata();
    let zero_sized = |ty: u32| {
        let mut empty: &[u8] = &[];
        scale_value::scale::decode_as_type(&mut empty, ty, m.types()).is_ok()
    };
    let mut names = Vec::new();
    for ext in m.extrinsic().transaction_extensions_to_use_for_encoding() {
        let name = ext.identifier();
        names.push(name.to_string());
        assert!(
            KNOWN.contains(&name)
                || (zero_sized(ext.extra_ty()) && zero_sized(ext.additional_ty())),
            "{name} carries data subxt's default extensions do not provide"
        );
    }
    assert!(names.iter().any(|n| n == "CheckNonce"), "{names:?}");
    eprintln!("finney transaction extensions: {names:?}");
}

/// A `serve_axon` signed offline with our hotkey signer and subxt's default extensions against
/// finney's metadata decodes back as a signed `SubtensorModule.serve_axon` from that hotkey.
#[test]
fn chain_finney_serve_axon_signs_offline() {
    use std::sync::Arc;
    use subxt::config::substrate::{SpecVersionForRange, H256};
    use subxt::config::SubstrateExtrinsicParamsBuilder;
    use subxt::{OfflineClient, SubstrateConfig};

    let m = metadata();
    let config = SubstrateConfig::builder()
        .set_genesis_hash(H256([7; 32]))
        .set_metadata_for_spec_versions([(1, Arc::new(metadata()))])
        .set_spec_version_for_block_ranges([SpecVersionForRange {
            block_range: 0..u64::MAX,
            spec_version: 1,
            transaction_version: 1,
        }])
        .build();
    let client = OfflineClient::<SubstrateConfig>::new_with_config(config);
    let at = client
        .at_block(1_000u64)
        .expect("offline client at a block");
    let keypair = super::Keypair::from_secret_key([42; 32]).unwrap();
    let payload = AxonEndpoint::new(50, "203.0.113.5".parse().unwrap(), 8091).payload();
    let params = SubstrateExtrinsicParamsBuilder::<SubstrateConfig>::new()
        .nonce(3)
        .build();
    let tx = at
        .transactions()
        .create_signable_offline(&payload, params)
        .expect("every finney transaction extension is encodable")
        .sign(&keypair)
        .expect("signs");
    let bytes = tx.encoded();
    let ext = frame_decode::extrinsics::decode_extrinsic(&mut &bytes[..], &m, m.types())
        .expect("our signed extrinsic decodes with finney's metadata");
    assert!(ext.is_signed());
    assert_eq!((ext.pallet_name(), ext.call_name()), (PALLET, "serve_axon"));
    let sig = ext.signature_payload().unwrap();
    // The signer's address: MultiAddress::Id(account).
    let address = &bytes[sig.address_range()];
    assert_eq!(address[0], 0, "MultiAddress::Id");
    assert_eq!(&address[1..], &keypair.public_key().0);
}
