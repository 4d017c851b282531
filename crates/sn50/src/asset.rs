//! The SN50 assets as a type: each [`Asset`] with its name, its data-file alias (`SPY` for
//! `SPYX`), the competitions that ask for it and the price feeds that quote it.
//!
//! One case rule for every crate: names are matched in any ASCII case and a data-file alias
//! stands for its asset (`spy`, `SPY` and `spyx` are all [`Asset::Spyx`]); the canonical
//! spelling is the validator's upper-case name.
//!
//! ```
//! use sn50::Asset;
//! assert_eq!("spy".parse::<Asset>().unwrap(), Asset::Spyx);
//! assert_eq!(Asset::Spyx.file_name(), "SPY");
//! assert_eq!(sn50::asset::canonical_asset("nvda"), "NVDAX");
//! assert_eq!(sn50::asset::canonical_asset("mycoin"), "MYCOIN");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::competition::{serde_as_str, Competition, UnknownName};
use crate::config::asset_coefficient;

/// One of the SN50 assets (either competition's list), in the LOW list's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Asset {
    /// Bitcoin.
    Btc,
    /// Ether.
    Eth,
    /// Tether Gold (XAUT), not spot gold.
    Xau,
    /// Solana.
    Sol,
    /// Tokenised S&P 500 ETF (xStock); data files say `SPY`.
    Spyx,
    /// Tokenised NVIDIA (xStock); data files say `NVDA`.
    Nvdax,
    /// Tokenised Tesla (xStock); data files say `TSLA`.
    Tslax,
    /// Tokenised Apple (xStock); data files say `AAPL`.
    Aaplx,
    /// Tokenised Alphabet (xStock); data files say `GOOGL`.
    Googlx,
    /// XRP.
    Xrp,
    /// Hyperliquid.
    Hype,
    /// WTI crude oil, priced from Hyperliquid `xyz:CL` (no Pyth symbol).
    Wtioil,
}

/// Everything known about one asset, in one row.
struct Row {
    asset: Asset,
    name: &'static str,
    file: &'static str,
    pyth: Option<&'static str>,
    hermes: &'static str,
    lazer: Option<u32>,
    hyperliquid: Option<&'static str>,
}

const fn row(
    asset: Asset,
    name: &'static str,
    file: &'static str,
    pyth: Option<&'static str>,
    hermes: &'static str,
    lazer: Option<u32>,
) -> Row {
    Row {
        asset,
        name,
        file,
        pyth,
        hermes,
        lazer,
        hyperliquid: None,
    }
}

/// The table: the validator's `PYTH_SYMBOL_MAP` (history symbols) and the reference miner's
/// Hermes and Lazer feed ids (`synth/miner/price_simulation.py`).
const ROWS: [Row; 12] = [
    row(
        Asset::Btc,
        "BTC",
        "BTC",
        Some("Crypto.BTC/USD"),
        "e62df6c8b4a85fe1a67db44dc12de5db330f7ac66b72dc658afedf0f4a415b43",
        Some(1),
    ),
    row(
        Asset::Eth,
        "ETH",
        "ETH",
        Some("Crypto.ETH/USD"),
        "ff61491a931112ddf1bd8147cd1b641375f79f5825126d665480874634fd0ace",
        Some(2),
    ),
    row(
        Asset::Xau,
        "XAU",
        "XAU",
        Some("Crypto.XAUT/USD"),
        "44465e17d2e9d390e70c999d5a11fda4f092847fcd2e3e5aa089d96c98a30e67",
        Some(346),
    ),
    row(
        Asset::Sol,
        "SOL",
        "SOL",
        Some("Crypto.SOL/USD"),
        "ef0d8b6fda2ceba41da15d4095d1da392a0d2f8ed0c6c7bc0f4cfac8c280b56d",
        Some(6),
    ),
    row(
        Asset::Spyx,
        "SPYX",
        "SPY",
        Some("Crypto.SPYX/USD"),
        "2817b78438c769357182c04346fddaad1178c82f4048828fe0997c3c64624e14",
        Some(1843),
    ),
    row(
        Asset::Nvdax,
        "NVDAX",
        "NVDA",
        Some("Crypto.NVDAX/USD"),
        "4244d07890e4610f46bbde67de8f43a4bf8b569eebe904f136b469f148503b7f",
        Some(1833),
    ),
    row(
        Asset::Tslax,
        "TSLAX",
        "TSLA",
        Some("Crypto.TSLAX/USD"),
        "47a156470288850a440df3a6ce85a55917b813a19bb5b31128a33a986566a362",
        Some(1847),
    ),
    row(
        Asset::Aaplx,
        "AAPLX",
        "AAPL",
        Some("Crypto.AAPLX/USD"),
        "978e6cc68a119ce066aa830017318563a9ed04ec3a0a6439010fc11296a58675",
        Some(1792),
    ),
    row(
        Asset::Googlx,
        "GOOGLX",
        "GOOGL",
        Some("Crypto.GOOGLX/USD"),
        "b911b0329028cd0283e4259c33809d62942bd2716a58084e5f31d64c00b5424e",
        Some(1808),
    ),
    row(
        Asset::Xrp,
        "XRP",
        "XRP",
        Some("Crypto.XRP/USD"),
        "ec5d399846a9209f3fe5881d70aae9268c94339ff9817e8d18ff19fa05eea1c8",
        Some(14),
    ),
    row(
        Asset::Hype,
        "HYPE",
        "HYPE",
        Some("Crypto.HYPE/USD"),
        "4279e31cc369bbcc2faf022b382b080e32a8e689ff20fbc530d2a603eb6cd98b",
        Some(110),
    ),
    Row {
        hyperliquid: Some("xyz:CL"),
        ..row(
            Asset::Wtioil,
            "WTIOIL",
            "WTIOIL",
            None,
            "67784f72e95ac01337edb7d7bd5bbd1c03669101b7068a620df228ed4e52ef14",
            None,
        )
    },
];

impl Asset {
    /// Every SN50 asset, in the LOW list's order (HIGH's assets are a subset).
    pub const ALL: [Asset; 12] = [
        Asset::Btc,
        Asset::Eth,
        Asset::Xau,
        Asset::Sol,
        Asset::Spyx,
        Asset::Nvdax,
        Asset::Tslax,
        Asset::Aaplx,
        Asset::Googlx,
        Asset::Xrp,
        Asset::Hype,
        Asset::Wtioil,
    ];

    /// The validator's names of [`Asset::ALL`], in the same order.
    pub const ALL_NAMES: [&'static str; 12] = {
        let mut out = [""; 12];
        let mut i = 0;
        while i < ROWS.len() {
            out[i] = ROWS[i].name;
            i += 1;
        }
        out
    };

    fn row(self) -> &'static Row {
        &ROWS[self as usize]
    }

    /// The validator's name (`BTC`, `SPYX`, …).
    pub fn name(self) -> &'static str {
        self.row().name
    }

    /// The name of its data files and of exchanges that list the stock (`SPY` for `SPYX`);
    /// the [`Asset::name`] for assets without an alias.
    pub fn file_name(self) -> &'static str {
        self.row().file
    }

    /// The alias accepted besides the name (`SPY` for `SPYX`), if any.
    pub fn alias(self) -> Option<&'static str> {
        let r = self.row();
        (r.file != r.name).then_some(r.file)
    }

    /// The validator's Pyth history symbol (`PYTH_SYMBOL_MAP`); `None` for WTIOIL, which the
    /// validator prices from Hyperliquid.
    pub fn pyth_symbol(self) -> Option<&'static str> {
        self.row().pyth
    }

    /// The Pyth Hermes feed id (64 hex digits, no `0x`).
    pub fn hermes_feed_id(self) -> &'static str {
        self.row().hermes
    }

    /// The Pyth Lazer feed id; `None` for WTIOIL ([`Asset::hyperliquid_coin`] instead).
    pub fn lazer_feed_id(self) -> Option<u32> {
        self.row().lazer
    }

    /// The Hyperliquid coin an asset is priced from instead of Pyth (WTIOIL: `xyz:CL`).
    pub fn hyperliquid_coin(self) -> Option<&'static str> {
        self.row().hyperliquid
    }

    /// The competitions whose rotation asks for this asset.
    pub fn competitions(self) -> Vec<Competition> {
        Competition::ALL
            .into_iter()
            .filter(|c| c.cfg().asset_list.contains(&self.name()))
            .collect()
    }

    /// The moving average's coefficient of this asset ([`crate::config::ASSET_COEFFICIENTS`]).
    pub fn coefficient(self) -> f64 {
        asset_coefficient(self.name())
    }

    /// Every accepted spelling (names, then aliases), upper-case.
    pub fn valid_names() -> Vec<&'static str> {
        let names = Self::ALL.iter().map(|a| a.name());
        names
            .chain(Self::ALL.iter().filter_map(|a| a.alias()))
            .collect()
    }
}

impl fmt::Display for Asset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Asset {
    type Err = UnknownName;

    /// A name or alias in any ASCII case, surrounding blanks ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        ROWS.iter()
            .find(|r| r.name.eq_ignore_ascii_case(t) || r.file.eq_ignore_ascii_case(t))
            .map(|r| r.asset)
            .ok_or_else(|| UnknownName::new("SN50 asset", s, &Self::valid_names()))
    }
}

serde_as_str!(Asset);

/// The one spelling of any asset name: an SN50 asset or alias becomes the validator's name
/// (`spy` → `SPYX`), anything else is trimmed and upper-cased (assets added by the user).
pub fn canonical_asset(name: &str) -> String {
    match name.parse::<Asset>() {
        Ok(a) => a.name().to_string(),
        Err(_) => name.trim().to_ascii_uppercase(),
    }
}

/// The data-file name of any asset: an SN50 asset's [`Asset::file_name`] (`SPYX` → `SPY`),
/// anything else upper-cased.
pub fn file_asset(name: &str) -> String {
    match name.parse::<Asset>() {
        Ok(a) => a.file_name().to_string(),
        Err(_) => name.trim().to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{HIGH, LOW};

    #[test]
    fn table_rows_are_in_enum_order_and_match_the_validator_lists() {
        for (i, a) in Asset::ALL.iter().enumerate() {
            assert_eq!(ROWS[i].asset, *a);
            assert_eq!(LOW.asset_list[i], a.name());
            assert_eq!(Asset::ALL_NAMES[i], a.name());
        }
        for name in HIGH.asset_list {
            let a: Asset = name.parse().unwrap();
            assert_eq!(a.competitions(), vec![Competition::Low, Competition::High]);
        }
        assert_eq!(Asset::Spyx.competitions(), vec![Competition::Low]);
    }

    #[test]
    fn names_and_aliases_parse_in_any_case() {
        for a in Asset::ALL {
            assert_eq!(a.name().parse::<Asset>().unwrap(), a);
            assert_eq!(a.name().to_ascii_lowercase().parse::<Asset>().unwrap(), a);
            assert_eq!(a.file_name().parse::<Asset>().unwrap(), a);
            assert_eq!(a.to_string(), a.name());
            let j = serde_json::to_string(&a).unwrap();
            assert_eq!(j, format!("\"{}\"", a.name()));
            assert_eq!(serde_json::from_str::<Asset>(&j).unwrap(), a);
        }
        assert_eq!(" Spy ".parse::<Asset>().unwrap(), Asset::Spyx);
        assert_eq!("googl".parse::<Asset>().unwrap(), Asset::Googlx);
        assert_eq!(Asset::Nvdax.alias(), Some("NVDA"));
        assert_eq!(Asset::Btc.alias(), None);
        assert_eq!(
            serde_json::from_str::<Asset>("\"aapl\"").unwrap(),
            Asset::Aaplx
        );
    }

    #[test]
    fn unknown_names_list_the_valid_ones() {
        for bad in ["DOGE", "", "XAUT", "BTC-USD", "SPYXX"] {
            let e = bad.parse::<Asset>().unwrap_err().to_string();
            assert!(e.starts_with("unknown SN50 asset"), "{e}");
            assert!(e.contains("valid: BTC, ETH, XAU"), "{e}");
            assert!(e.ends_with("WTIOIL, SPY, NVDA, TSLA, AAPL, GOOGL"), "{e}");
        }
        assert!(serde_json::from_str::<Asset>("\"DOGE\"").is_err());
    }

    #[test]
    fn canonical_and_file_names() {
        assert_eq!(canonical_asset("spy"), "SPYX");
        assert_eq!(canonical_asset("SPYX"), "SPYX");
        assert_eq!(canonical_asset(" btc"), "BTC");
        assert_eq!(canonical_asset("mycoin"), "MYCOIN");
        assert_eq!(file_asset("spyx"), "SPY");
        assert_eq!(file_asset("GOOGLX"), "GOOGL");
        assert_eq!(file_asset("xau"), "XAU");
        assert_eq!(file_asset("doge"), "DOGE");
    }

    #[test]
    fn feeds() {
        for a in Asset::ALL {
            assert_eq!(a.hermes_feed_id().len(), 64, "{a}");
            assert!(a.hermes_feed_id().chars().all(|c| c.is_ascii_hexdigit()));
            // Exactly one live source: Lazer or Hyperliquid.
            assert_ne!(
                a.lazer_feed_id().is_some(),
                a.hyperliquid_coin().is_some(),
                "{a}"
            );
            assert_eq!(
                a.pyth_symbol().is_some(),
                a.lazer_feed_id().is_some(),
                "{a}"
            );
        }
        assert_eq!(Asset::Xau.pyth_symbol(), Some("Crypto.XAUT/USD"));
        assert_eq!(Asset::Xau.lazer_feed_id(), Some(346));
        assert_eq!(Asset::Wtioil.hyperliquid_coin(), Some("xyz:CL"));
        assert_eq!(Asset::Xau.coefficient(), 1.7370922597118699);
    }
}
