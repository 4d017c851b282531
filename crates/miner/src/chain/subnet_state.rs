//! The runtime API answer the metagraph comes from, and its mapping to [`Metagraph`].
//!
//! `SubnetInfoRuntimeApi::get_subnet_state(netuid: NetUid) -> Option<SubnetState<AccountId32>>`
//! (subtensor `pallets/subtensor/runtime-api/src/lib.rs`; built by
//! `pallets/subtensor/src/rpc_info/show_subnet.rs::get_subnet_state`). Of its columns, all
//! indexed by uid `0..SubnetworkN`, the blacklist needs `hotkeys` (`Keys(netuid, uid)`),
//! `validator_permit` (`ValidatorPermit(netuid)`) and `total_stake` (the stake weight
//! `alpha + tao_weight·tao` of `get_stake_weights_for_network`, in rao), which is bittensor's
//! `metagraph.S` once divided by 1e9 (the stake the reference miner blacklists and ranks by).
//!
//! The answer is decoded against the chain's own metadata into a [`Value`] (no static codegen,
//! so a runtime upgrade that adds columns does not break us), then read by field name here.

use subxt::dynamic::{At, Value};
use subxt::ext::scale_value::{Composite, ValueDef};

use crate::metagraph::{Metagraph, Neuron};

/// Rao per token (TAO and alpha both have 9 decimals).
pub const RAO_PER_TOKEN: f64 = 1e9;

/// The columns of `SubnetState` the blacklist uses, by uid.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubnetRows {
    /// `hotkeys[uid]`: 32-byte account ids.
    pub hotkeys: Vec<[u8; 32]>,
    /// `validator_permit[uid]`.
    pub validator_permit: Vec<bool>,
    /// `total_stake[uid]` in rao.
    pub total_stake: Vec<u64>,
}

impl SubnetRows {
    /// Reads the decoded `Option<SubnetState>`: `Ok(None)` when the subnet does not exist.
    pub fn from_value(v: &Value) -> Result<Option<Self>, String> {
        let state = match &v.value {
            ValueDef::Variant(var) if var.name == "None" => return Ok(None),
            ValueDef::Variant(var) if var.name == "Some" => var
                .values
                .values()
                .next()
                .ok_or("Some(..) without a value")?,
            _ => v, // already unwrapped
        };
        let col = |name: &str| -> Result<&Composite<()>, String> {
            match state.at(name).map(|c| &c.value) {
                Some(ValueDef::Composite(c)) => Ok(c),
                Some(_) => Err(format!("SubnetState.{name} is not a list")),
                None => Err(format!("SubnetState has no field {name}")),
            }
        };
        let hotkeys = col("hotkeys")?
            .values()
            .enumerate()
            .map(|(uid, h)| account_bytes(h).ok_or(format!("hotkeys[{uid}] is not an AccountId32")))
            .collect::<Result<Vec<_>, _>>()?;
        let validator_permit = col("validator_permit")?
            .values()
            .enumerate()
            .map(|(uid, b)| {
                b.as_bool()
                    .ok_or(format!("validator_permit[{uid}] is not a bool"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let total_stake = col("total_stake")?
            .values()
            .enumerate()
            .map(|(uid, s)| {
                number(s)
                    .and_then(|n| u64::try_from(n).ok())
                    .ok_or(format!("total_stake[{uid}] is not a u64 balance"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Self {
            hotkeys,
            validator_permit,
            total_stake,
        }))
    }

    /// The blacklist's view: SS58 (prefix 42, what validators send) hotkeys, stake in tokens.
    /// A column shorter than `hotkeys` (never seen; the chain keeps them the same length)
    /// counts as no permit and no stake for the missing uids, which refuses them.
    pub fn to_metagraph(&self) -> Metagraph {
        Metagraph::from_neurons(self.hotkeys.iter().enumerate().map(|(uid, key)| Neuron {
            uid: uid as u16,
            hotkey: crate::ss58::encode(42, key),
            stake: self.total_stake.get(uid).copied().unwrap_or(0) as f64 / RAO_PER_TOKEN,
            validator_permit: self.validator_permit.get(uid).copied().unwrap_or(false),
        }))
    }
}

/// Unwraps single-field newtypes (`AccountId32([u8; 32])`, `TaoBalance(u64)`).
fn unwrap_newtype(mut v: &Value) -> &Value {
    loop {
        match &v.value {
            ValueDef::Composite(c) if c.len() == 1 => v = c.values().next().unwrap_or(v),
            _ => return v,
        }
    }
}

/// A number, through newtypes (compact encoding is already transparent in a [`Value`]).
pub(crate) fn number(v: &Value) -> Option<u128> {
    unwrap_newtype(v).as_u128()
}

/// A 32-byte account id: a composite of 32 byte values, possibly inside a newtype.
pub(crate) fn account_bytes(v: &Value) -> Option<[u8; 32]> {
    let ValueDef::Composite(c) = &unwrap_newtype(v).value else {
        return None;
    };
    let bytes = c
        .values()
        .map(|b| b.as_u128().and_then(|n| u8::try_from(n).ok()))
        .collect::<Option<Vec<u8>>>()?;
    bytes.try_into().ok()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    pub const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

    pub fn key(ss58: &str) -> [u8; 32] {
        crate::ss58::decode(ss58).unwrap().1
    }

    /// An `AccountId32` the way scale-value decodes it: a newtype around `[u8; 32]`.
    fn account(k: [u8; 32]) -> Value {
        Value::unnamed_composite([Value::unnamed_composite(
            k.iter().map(|b| Value::u128(u128::from(*b))),
        )])
    }

    /// `Compact<TaoBalance>`: a newtype around a u64.
    fn balance(rao: u64) -> Value {
        Value::unnamed_composite([Value::u128(u128::from(rao))])
    }

    pub fn subnet_state(keys: &[[u8; 32]], permits: &[bool], stakes: &[u64]) -> Value {
        let list = |vals: Vec<Value>| Value::unnamed_composite(vals);
        Value::unnamed_variant(
            "Some",
            [Value::named_composite([
                ("netuid", Value::unnamed_composite([Value::u128(50)])),
                ("hotkeys", list(keys.iter().map(|k| account(*k)).collect())),
                ("coldkeys", list(keys.iter().map(|k| account(*k)).collect())),
                (
                    "active",
                    list(permits.iter().map(|_| Value::bool(true)).collect()),
                ),
                (
                    "validator_permit",
                    list(permits.iter().map(|p| Value::bool(*p)).collect()),
                ),
                (
                    "alpha_stake",
                    list(stakes.iter().map(|s| balance(*s)).collect()),
                ),
                (
                    "total_stake",
                    list(stakes.iter().map(|s| balance(*s)).collect()),
                ),
                ("emission_history", list(vec![])),
            ])],
        )
    }

    #[test]
    fn chain_subnet_state_maps_to_metagraph() {
        let v = subnet_state(
            &[key(ALICE), key(BOB)],
            &[true, false],
            &[1_234_500_000_000, 20_000_000_000],
        );
        let rows = SubnetRows::from_value(&v).unwrap().unwrap();
        assert_eq!(rows.hotkeys, vec![key(ALICE), key(BOB)]);
        let g = rows.to_metagraph();
        assert_eq!(g.len(), 2);
        let a = g.get(ALICE).unwrap();
        assert_eq!((a.uid, a.stake, a.validator_permit), (0, 1234.5, true));
        let b = g.get(BOB).unwrap();
        assert_eq!((b.uid, b.stake, b.validator_permit), (1, 20.0, false));
        // What the blacklist then decides with the reference policy.
        let policy = crate::metagraph::BlacklistPolicy {
            min_stake: 1000.0,
            ..Default::default()
        };
        assert_eq!(policy.check(&g, Some(ALICE)), Ok(1234.5));
        assert!(policy.check(&g, Some(BOB)).is_err());
    }

    #[test]
    fn chain_subnet_state_none_and_malformed() {
        assert_eq!(
            SubnetRows::from_value(&Value::unnamed_variant("None", [])).unwrap(),
            None
        );
        let mut short = SubnetRows::from_value(&subnet_state(&[key(ALICE)], &[true], &[5]))
            .unwrap()
            .unwrap();
        short.validator_permit.clear();
        short.total_stake.clear();
        let n = short.to_metagraph().get(ALICE).cloned().unwrap();
        assert_eq!((n.stake, n.validator_permit), (0.0, false));
        let no_field = Value::unnamed_variant(
            "Some",
            [Value::named_composite([(
                "hotkeys",
                Value::unnamed_composite([]),
            )])],
        );
        assert!(SubnetRows::from_value(&no_field)
            .unwrap_err()
            .contains("no field validator_permit"));
        let bad_key = Value::unnamed_variant(
            "Some",
            [Value::named_composite([
                ("hotkeys", Value::unnamed_composite([Value::u128(7)])),
                ("validator_permit", Value::unnamed_composite([])),
                ("total_stake", Value::unnamed_composite([])),
            ])],
        );
        assert!(SubnetRows::from_value(&bad_key)
            .unwrap_err()
            .contains("hotkeys[0]"));
    }
}
