//! The `serve_axon` extrinsic as a dynamic call, and the on-chain `AxonInfo` it is compared with.
//!
//! `SubtensorModule.serve_axon { netuid: NetUid(u16), version: u32, ip: u128, port: u16,
//! ip_type: u8, protocol: u8, placeholder1: u8, placeholder2: u8 }` (subtensor
//! `pallets/subtensor/src/macros/dispatches.rs`, `call_index(4)`, hotkey-signed, `Pays::No`);
//! the chain keeps the result in `SubtensorModule.Axons(netuid, hotkey) -> AxonInfo`
//! (`pallets/subtensor/src/lib.rs`). Bittensor (`core/extrinsics/serving.py`) sends
//! `version = version_as_int`, `protocol = 4`, placeholders 0, and skips the call when the
//! stored axon already holds the same values; so do we (an unchanged axon costs no extrinsic).

use std::net::IpAddr;

use subxt::dynamic::{At, Value};
use subxt::ext::scale_value::Composite;

use super::ip::{ip_to_int, ip_type};
use super::subnet_state::number;

/// Pallet of every call and storage entry used here.
pub const PALLET: &str = "SubtensorModule";
/// `AxonInfo.version` bittensor 10.0.1 publishes (`version_as_int` of "10.0.1").
pub const AXON_VERSION: u32 = 10_000_001;
/// `AxonInfo.protocol` bittensor publishes.
pub const AXON_PROTOCOL: u8 = 4;

/// What `serve_axon` publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AxonEndpoint {
    /// Subnet.
    pub netuid: u16,
    /// External address validators connect to.
    pub ip: IpAddr,
    /// External port.
    pub port: u16,
    /// `AxonInfo.version`.
    pub version: u32,
    /// `AxonInfo.protocol`.
    pub protocol: u8,
}

impl AxonEndpoint {
    /// Bittensor's defaults for version and protocol.
    pub fn new(netuid: u16, ip: IpAddr, port: u16) -> Self {
        Self {
            netuid,
            ip,
            port,
            version: AXON_VERSION,
            protocol: AXON_PROTOCOL,
        }
    }

    /// The call's named fields, in the dispatchable's order.
    pub fn call_fields(&self) -> Composite<()> {
        Composite::named([
            ("netuid", Value::u128(u128::from(self.netuid))),
            ("version", Value::u128(u128::from(self.version))),
            ("ip", Value::u128(ip_to_int(self.ip))),
            ("port", Value::u128(u128::from(self.port))),
            ("ip_type", Value::u128(u128::from(ip_type(self.ip)))),
            ("protocol", Value::u128(u128::from(self.protocol))),
            ("placeholder1", Value::u128(0)),
            ("placeholder2", Value::u128(0)),
        ])
    }

    /// The dynamic `SubtensorModule.serve_axon` payload (encoded against the chain's metadata
    /// at submission; fields are matched by name).
    pub fn payload(&self) -> subxt::transactions::DynamicPayload<Composite<()>> {
        subxt::dynamic::tx(PALLET, "serve_axon", self.call_fields())
    }

    /// True when the stored `AxonInfo` (decoded [`Value`]) already publishes this endpoint.
    pub fn matches_stored(&self, stored: &Value) -> bool {
        let field = |name: &str| stored.at(name).and_then(number);
        field("ip") == Some(ip_to_int(self.ip))
            && field("port") == Some(u128::from(self.port))
            && field("ip_type") == Some(u128::from(ip_type(self.ip)))
            && field("version") == Some(u128::from(self.version))
            && field("protocol") == Some(u128::from(self.protocol))
            && field("placeholder1") == Some(0)
            && field("placeholder2") == Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use subxt::ext::scale_value::ValueDef;

    fn endpoint() -> AxonEndpoint {
        AxonEndpoint::new(50, "203.0.113.5".parse().unwrap(), 8091)
    }

    #[test]
    fn chain_serve_axon_call_value() {
        let p = endpoint().payload();
        assert_eq!((p.pallet_name(), p.call_name()), (PALLET, "serve_axon"));
        let ValueDef::Variant(pallet) = p.into_value().value else {
            panic!("a call is a pallet variant");
        };
        assert_eq!(pallet.name, PALLET);
        let call = pallet.values.values().next().unwrap();
        let ValueDef::Variant(call) = &call.value else {
            panic!("the pallet variant holds the call variant");
        };
        assert_eq!(call.name, "serve_axon");
        let Composite::Named(fields) = &call.values else {
            panic!("named fields");
        };
        let got: Vec<(&str, u128)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_u128().unwrap()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("netuid", 50),
                ("version", 10_000_001),
                ("ip", 3_405_803_781),
                ("port", 8091),
                ("ip_type", 4),
                ("protocol", 4),
                ("placeholder1", 0),
                ("placeholder2", 0),
            ]
        );
        let v6 = AxonEndpoint::new(50, "::1:0:0".parse().unwrap(), 1).call_fields();
        assert_eq!(v6.at("ip").and_then(|v| v.as_u128()), Some(4_294_967_296));
        assert_eq!(v6.at("ip_type").and_then(|v| v.as_u128()), Some(6));
    }

    #[test]
    fn chain_stored_axon_comparison() {
        let e = endpoint();
        let stored = |ip: u128, port: u128| {
            Value::named_composite([
                ("block", Value::u128(4_000_000)),
                ("version", Value::u128(10_000_001)),
                ("ip", Value::u128(ip)),
                ("port", Value::u128(port)),
                ("ip_type", Value::u128(4)),
                ("protocol", Value::u128(4)),
                ("placeholder1", Value::u128(0)),
                ("placeholder2", Value::u128(0)),
            ])
        };
        assert!(e.matches_stored(&stored(3_405_803_781, 8091)));
        assert!(!e.matches_stored(&stored(3_405_803_781, 8092)));
        assert!(!e.matches_stored(&stored(1, 8091)));
        assert!(!e.matches_stored(&Value::named_composite([("ip", Value::u128(0))])));
    }
}
